//! Compiles an arbitrary template of each kind and renders it with arbitrary variables: no
//! template may panic, run away (the fuel limit stops it) or exhaust memory.

#![no_main]

use std::collections::BTreeMap;

use apiflow::format::model::{TemplateId, TemplateKind, TemplateSource};
use apiflow::span::Span;
use apiflow::template::Templates;
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use minijinja::Value;

#[derive(Arbitrary, Debug)]
enum Variable {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<String>),
    Map(BTreeMap<String, i64>),
}

#[derive(Arbitrary, Debug)]
enum Kind {
    Text,
    Expression,
    Whole,
}

#[derive(Arbitrary, Debug)]
struct Input {
    template: String,
    kind: Kind,
    variables: BTreeMap<String, Variable>,
}

fn value(variable: &Variable) -> Value {
    match variable {
        Variable::Null => Value::from(()),
        Variable::Bool(b) => Value::from(*b),
        Variable::Int(i) => Value::from(*i),
        Variable::Float(f) => Value::from(*f),
        Variable::Text(s) => Value::from(s.as_str()),
        Variable::List(items) => Value::from(items.clone()),
        Variable::Map(map) => Value::from(minijinja::value::Serde(map)),
    }
}

fuzz_target!(|input: Input| {
    let kind = match input.kind {
        Kind::Text => TemplateKind::Text,
        Kind::Expression => TemplateKind::Expression,
        Kind::Whole => TemplateKind::Whole,
    };
    let source = TemplateSource {
        text: input.template,
        span: Span::new(1, 1, 1),
        kind,
        column_offset: Some(0),
    };
    let (templates, errors) = Templates::compile(std::slice::from_ref(&source));
    if !errors.is_empty() {
        return;
    }
    let id = TemplateId(0);
    let _ = templates.variables(id);
    let _ = templates.calls(id);
    let context: Value = input
        .variables
        .iter()
        .map(|(name, variable)| (name.clone(), value(variable)))
        .collect();
    let _ = templates.render(id, &context);
    let _ = templates.eval(id, &context);
    let _ = templates.operands(id, &context);
});
