//! The loader's diagnostics for documents the user got wrong, one snapshot per document: each
//! problem is named in plain words at its place, all of them at once.

use apiflow::span::Source;
use apiflow_arazzo::load::load;

fn rejected(name: &str, text: &str) -> String {
    match load(&Source::new(name, text)) {
        Ok(_) => panic!("{name} loads"),
        Err(errors) => apiflow::Diagnostic::render_all(&errors, false),
    }
}

#[test]
fn a_1_0_document_with_mistakes_everywhere() {
    let text = r#"arazzo: 1.0.1
info:
  title: t
  versoin: 1.0.0
sourceDescriptions:
  - name: api
    url: ./openapi.yaml
    type: openapi
  - name: api
    url: ./other.yaml
workflows:
  - workflowId: main
    steps:
      - stepId: one
        operationId: getPet
        timeout: 100
        parameters:
          - name: id
            in: body
            value: 1
        successCriteria:
          - condition: $statusCode == 200
            type: regex
        onFailure:
          - name: again
            type: retry
            retryAfter: -1
      - stepId: one
        operationPath: 5
        requestBody:
          contentTyp: application/json
  - workflowId: main
    steps: []
components:
  parameters:
    "bad name":
      name: x
      in: query
      value: 1
"#;
    insta::assert_snapshot!(rejected(
        "a-1-0-document-with-mistakes-everywhere.arazzo.yaml",
        text
    ));
}

#[test]
fn apiflow_extensions_and_actions() {
    let text = r#"arazzo: 1.1.0
info: {title: t, version: "1"}
sourceDescriptions: [{name: api, url: ./openapi.yaml}]
workflows:
  - workflowId: main
    steps:
      - stepId: one
        operationId: getPet
        x-apiflow:
          follow_redirect: true
          stop_at: 3
          form_from: {stepp: x}
          extract:
            token: {json: $.token}
        x-security:
          - schemeName: bearer
            scheme: {type: http}
            values: {token: hunter2}
          - values: secret-value
        outputs:
          token: $response.body#/token
        onSuccess:
          - name: go
            type: goto
          - name: both
            type: goto
            stepId: one
            workflowId: main
          - reference: $components.successActions.x
            value: 3
        successCriteria:
          - condition: $.x
            type: {type: jsonpointer, version: rfc6901}
            context: $response.body
  - 5
"#;
    insta::assert_snapshot!(rejected("apiflow-extensions-and-actions.arazzo.yaml", text));
}

#[test]
fn an_unknown_key_in_json() {
    let text = r#"{
  "arazzo": "1.1.0",
  "info": {"title": "t", "version": "1"},
  "sourceDescriptions": [{"name": "api", "url": "./openapi.yaml"}],
  "workflows": [{"workflowId": "w", "steps": [{"stepId": "s", "operationId": "op", "retryAfter": 1}]}]
}
"#;
    insta::assert_snapshot!(rejected("an-unknown-key-in-json.arazzo.json", text));
}

#[test]
fn no_version() {
    let text = r#"info: {title: t, version: "1"}
sourceDescriptions: [{name: api, url: x}]
workflows: [{workflowId: w, steps: [{stepId: s, operationId: o}]}]
"#;
    insta::assert_snapshot!(rejected("no-version.arazzo.yaml", text));
}

#[test]
fn an_unsupported_version() {
    let text = r"arazzo: 1.2.0
";
    insta::assert_snapshot!(rejected("an-unsupported-version.arazzo.yaml", text));
}

#[test]
fn names_and_reusable_objects() {
    let text = r#"arazzo: "1.1.0"
info: {title: t, version: "1"}
sourceDescriptions: [{name: "my api", url: x}]
workflows: [{workflowId: w, steps: [{stepId: s, operationId: o, parameters: [{reference: $components.parameters.p, name: y}]}]}]
"#;
    insta::assert_snapshot!(rejected("names-and-reusable-objects.arazzo.yaml", text));
}

#[test]
fn inputs_schemas_and_outputs() {
    let text = r"arazzo: 1.1.0
info: {title: t, version: '1'}
sourceDescriptions: [{name: api, url: x}]
workflows:
  - workflowId: w
    inputs:
      type: object
      properties:
        token:
          type: string
          minLength: short
    steps:
      - stepId: s
        operationId: o
        outputs:
          id: [1, 2]
components:
  inputs:
    credentials:
      required: user
";
    insta::assert_snapshot!(rejected("inputs-schemas-and-outputs.arazzo.yaml", text));
}

/// `x-security` values are credentials: a message about them says what kind of value it
/// found, never the value.
#[test]
fn security_values_never_show_in_messages() {
    let secret = "s3cr3t-Pa55word";
    let text = format!(
        "arazzo: 1.1.0
info: {{title: t, version: '1'}}
sourceDescriptions: [{{name: api, url: x}}]
workflows:
  - workflowId: w
    steps:
      - stepId: s
        operationId: o
        x-security:
          - schemeName: basic
            values: {secret}
          - values: [{secret}]
          - {secret}
"
    );
    let Err(errors) = load(&Source::new("t.arazzo.yaml", text)) else {
        panic!("loads")
    };
    assert_eq!(
        errors.len(),
        4,
        "{}",
        apiflow::Diagnostic::render_all(&errors, false)
    );
    for error in &errors {
        let said = [&error.title, &error.label]
            .into_iter()
            .chain(&error.notes)
            .chain(&error.help)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!said.contains(secret), "{said}");
    }
}

#[test]
fn what_1_1_added_is_named_as_such_in_a_1_0_document() {
    let text = r"arazzo: 1.0.0
$self: https://example.com/a.arazzo.yaml
info: {title: t, version: '1'}
sourceDescriptions: [{name: api, url: x}]
workflows:
  - workflowId: w
    steps:
      - stepId: s
        operationId: o
        action: send
        dependsOn: [t]
";
    insta::assert_snapshot!(rejected("new-in-1-1.arazzo.yaml", text));
}
