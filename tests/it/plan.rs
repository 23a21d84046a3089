//! `apiflow plan`: what it prints for the shipped workflow and a small fixture, and that it
//! sends nothing and masks secrets.

use crate::support;

use support::bin::{Output, apiflow, output};

/// The environment variables the fixtures read, removed so the plan is the same everywhere.
const ENV: &[&str] = &[
    "PINGONE_ENV_ID",
    "PINGONE_ADMIN_ENV_ID",
    "PINGONE_WORKER_CLIENT_ID",
    "PINGONE_WORKER_CLIENT_SECRET",
    "PINGONE_REGION",
    "PINGONE_API_BASE",
    "PINGONE_AUTH_BASE",
    "PINGONE_REDIRECT_URI",
    "APIFLOW_PLAN_TENANT",
];

fn plan(args: &[&str]) -> Output {
    let mut command = apiflow(&["plan"]);
    command.args(args);
    for name in ENV {
        command.env_remove(name);
    }
    output(&mut command, &[])
}

/// Replaces the shipped workflow's random run id (`uuid()[:8]`) wherever it appears.
fn stable_run_id(text: &str) -> String {
    let run_id = regex::Regex::new(r"(?m)^  run_id\s+= ([0-9a-f]{8})$").expect("a regex");
    let id = run_id
        .captures(text)
        .unwrap_or_else(|| panic!("no run id in:\n{text}"))[1]
        .to_owned();
    text.replace(&id, "<run_id>")
}

#[test]
fn plan_of_the_shipped_workflow_without_inputs() {
    let out = plan(&["workflows/refresh_token.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stderr, "");
    insta::assert_snapshot!(stable_run_id(&out.stdout));
}

#[test]
fn plan_of_the_shipped_workflow_with_inputs() {
    let secret = "w0rker-s3cret";
    let out = plan(&[
        "workflows/refresh_token.yaml",
        "--var",
        "env_id=env-1",
        "--var",
        "worker_client_id=worker-1",
        "--var",
        &format!("worker_client_secret={secret}"),
        "--var",
        "region=eu",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains(secret), "{}", out.stdout);
    insta::assert_snapshot!(stable_run_id(&out.stdout));
}

#[test]
fn plan_of_a_small_workflow() {
    let out = plan(&["tests/fixtures/plan/small.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("plan-s3cret"), "{}", out.stdout);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn plan_of_uploads_names_the_files_and_renders_template_bodies() {
    let out = plan(&["tests/fixtures/plan/uploads.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn plan_of_digest_and_aws_sigv4_shows_no_secret() {
    let out = plan(&["tests/fixtures/plan/auth.yaml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for secret in ["Circle of Life", "plan-aws-s3cret"] {
        assert!(!out.stdout.contains(secret), "{}", out.stdout);
    }
    insta::assert_snapshot!(out.stdout);
}

#[test]
fn plan_reads_inputs_from_the_environment_and_masks_secrets_given_with_var() {
    let mut command = apiflow(&[
        "plan",
        "tests/fixtures/plan/small.yaml",
        "--var",
        "client_secret=an0ther-s3cret",
    ]);
    command.env("APIFLOW_PLAN_TENANT", "acme");
    let out = output(&mut command, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.contains("an0ther-s3cret"), "{}", out.stdout);
    for line in [
        "  tenant        = acme  (env APIFLOW_PLAN_TENANT)\n",
        "  client_secret = ••••\n",
        "     authorization: Basic base64(acme:••••)\n",
        "     GET http://127.0.0.1:8080/tenants/acme/items?limit=20&account=<from step \"log in\">\n",
    ] {
        assert!(out.stdout.contains(line), "no `{line}` in:\n{}", out.stdout);
    }
}

#[test]
fn plan_rejects_a_var_that_names_no_input() {
    let out = plan(&["tests/fixtures/plan/small.yaml", "--var", "tenat=acme"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: `--var tenat` does not name an input of `tests/fixtures/plan/small.yaml`\n  \
         = help: did you mean `tenant`?\n\n"
    );
}

#[test]
fn plan_of_an_invalid_workflow_shows_its_problems() {
    let out = plan(&["tests/corpus/114-unknown-key.yaml"]);
    assert_eq!(out.code, 2);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        support::problems("tests/corpus/114-unknown-key.yaml")
    );
}
