//! In-process benchmarks of the pieces on the per-step path: reading YAML, loading and
//! validating a 100-step workflow, rendering a URL template, a JSONPath query on a 2 KB item,
//! and masking.

use std::hint::black_box;
use std::sync::Arc;

use apiflow::format::model::TemplateId;
use criterion::{Criterion, criterion_group, criterion_main};

/// The repository's root: the bench is declared by the engine's package, two folders down.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn workload(name: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/benches/workloads/{name}")).expect("workload file")
}

/// The shipped workflows and the benchmark workloads, by path from the repository's root.
fn yaml_files() -> Vec<String> {
    let mut files = Vec::new();
    for dir in ["workflows", "workflows/pingone", "benches/workloads"] {
        for entry in std::fs::read_dir(format!("{ROOT}/{dir}")).expect("a folder") {
            let path = entry.expect("an entry").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
                files.push(format!("{dir}/{name}"));
            }
        }
    }
    files.sort();
    files
}

fn yaml_readers(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for path in yaml_files() {
        let text = std::fs::read_to_string(format!("{ROOT}/{path}")).expect("a YAML file");
        // Time the reader that builds the tree, not one that gives up.
        assert!(
            apiflow::format::yaml::parse_block(&text).is_some(),
            "the block reader gives up on {path}"
        );
        group.sample_size(if text.len() > 100_000 { 20 } else { 100 });
        group.bench_function(format!("{path} (block reader)"), |b| {
            b.iter(|| black_box(apiflow::format::yaml::parse_block(black_box(&text))));
        });
        group.bench_function(format!("{path} (serde-saphyr)"), |b| {
            b.iter(|| black_box(apiflow::format::yaml::parse_serde(black_box(&text))));
        });
    }
    group.finish();
}

fn load_and_validate(c: &mut Criterion) {
    let text = workload("chain_100.yaml");
    c.bench_function("load+validate chain_100.yaml", |b| {
        b.iter(|| {
            let source = apiflow::Source::new("chain_100.yaml", text.clone());
            black_box(apiflow::check_source(&source).expect("valid"))
        });
    });
}

fn render(c: &mut Criterion) {
    let source = apiflow::Source::new("chain_100.yaml", workload("chain_100.yaml"));
    let plan = apiflow::check_source(&source).expect("valid");
    let mut variables = apiflow::template::scope::Variables::default();
    variables.set(
        "base_url",
        minijinja::Value::from("http://127.0.0.1:8080"),
        false,
    );
    variables.set("token", minijinja::Value::from("at_1"), true);
    for n in 1..100 {
        variables.set(&format!("next_{n}"), minijinja::Value::from(n * 7), false);
    }
    let ctx = minijinja::Value::from_dyn_object(Arc::new(variables));
    // Template 0 is the token URL; the item URLs follow.
    let id = TemplateId(5);
    c.bench_function("render an item URL", |b| {
        b.iter(|| black_box(plan.templates.render(id, &ctx).expect("renders")));
    });
}

fn jsonpath(c: &mut Criterion) {
    let body = format!(
        r#"{{"id":1,"links":{{"self":"/items/1","next":{{"id":10,"href":"/items/10"}}}},"description":"{}"}}"#,
        "x".repeat(1900)
    );
    let document: serde_json::Value = serde_json::from_str(&body).expect("json");
    let path = apiflow::query::jsonpath::JsonPath::parse("$.links.next.id").expect("path");
    c.bench_function("parse a 2 KB body", |b| {
        b.iter(|| black_box(serde_json::from_str::<serde_json::Value>(&body).expect("json")));
    });
    c.bench_function("query $.links.next.id", |b| {
        b.iter(|| black_box(path.query(&document)));
    });
}

fn masking(c: &mut Criterion) {
    let mut masker = apiflow::secret::Masker::new();
    for n in 0..20 {
        masker.add(&format!("secret-value-{n}-abcdefgh"));
    }
    let line = "  ✓ item 42  GET http://127.0.0.1:8080/items/426 → 200 1ms\n".repeat(4);
    c.bench_function("mask a step line with 20 secrets known", |b| {
        b.iter(|| black_box(masker.mask(&line).len()));
    });
}

criterion_group!(
    benches,
    yaml_readers,
    load_and_validate,
    render,
    jsonpath,
    masking
);
criterion_main!(benches);
