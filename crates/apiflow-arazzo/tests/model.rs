//! What the loader fills in: every field of the typed model, with where it is written, and the
//! diagnostics of documents that break rules the schema alone does not state.

use apiflow::span::{Source, Span};
use apiflow_arazzo::load::load;
use apiflow_arazzo::model::{
    ActionKind, ActionOrRef, CriterionKind, Document, ParameterIn, ParameterOrRef, Selector,
    SourceKind, Target,
};
use serde_json::json;

fn loaded(text: &str) -> Document {
    match load(&Source::new("t.arazzo.yaml", text)) {
        Ok(document) => document,
        Err(errors) => panic!("{}", apiflow::Diagnostic::render_all(&errors, false)),
    }
}

fn rejected(text: &str) -> String {
    match load(&Source::new("t.arazzo.yaml", text)) {
        Ok(_) => panic!("loads"),
        Err(errors) => apiflow::Diagnostic::render_all(&errors, false),
    }
}

const FULL: &str = r"arazzo: 1.1.0
$self: https://example.com/flows.arazzo.yaml
info:
  title: Pets
  summary: Adopt a pet
  description: Finds and adopts
  version: 2.0.0
sourceDescriptions:
  - name: pets
    url: ./pets.openapi.yaml
    type: openapi
  - name: events
    url: ./events.asyncapi.yaml
    type: asyncapi
workflows:
  - workflowId: adopt
    summary: Adopts
    inputs:
      type: object
      properties:
        token: {type: string}
    dependsOn: [login]
    parameters:
      - name: Authorization
        in: header
        value: Bearer {$inputs.token}
    successActions:
      - reference: $components.successActions.done
    failureActions:
      - name: stop
        type: end
    steps:
      - stepId: find
        description: Finds one
        operationId: $sourceDescriptions.pets.findPets
        timeout: 5000
        parameters:
          - name: status
            in: query
            value: available
          - reference: $components.parameters.page
            value: 2
          - name: q
            in: querystring
            value:
              context: $inputs
              selector: $.q
              type: jsonpath
        successCriteria:
          - condition: $statusCode == 200
          - context: $response.body
            condition: $[?@.id]
            type: jsonpath
          - context: $response.body
            condition: $[?@.id]
            type: {type: jsonpath, version: draft-goessner-dispatch-jsonpath-00}
          - context: $response.header.Location
            condition: ^/pets/
            type: regex
        onFailure:
          - name: again
            type: retry
            retryAfter: 1.5
            retryLimit: 3
            criteria:
              - condition: $statusCode == 503
        onSuccess:
          - name: next
            type: goto
            stepId: adopt
        outputs:
          id: $response.body#/0/id
          name:
            context: $response.body
            selector: /0/name
            type: jsonpointer
        x-apiflow:
          follow_redirects: true
          stop_at: https://app.example.com/callback
          form_from: {step: login, selector: 'form#login'}
          extract:
            csrf: {css: 'input[name=csrf]', attr: value}
        x-security:
          - schemeName: bearerAuth
            values:
              token: $inputs.token
          - scheme: {type: http, scheme: basic}
            values: {username: u, password: p}
      - stepId: adopt
        operationPath: '{$sourceDescriptions.pets.url}#/paths/~1pets~1{id}/post'
        dependsOn: [find]
        requestBody:
          contentType: application/json
          payload: {id: 0, note: hi}
          replacements:
            - target: /id
              value: $steps.find.outputs.id
            - target: $.note
              targetSelectorType: jsonpath
              value: adopted
            - target: /Pet/Note
              targetSelectorType: {type: xpath, version: xpath-30}
              value: x
      - stepId: notify
        operationId: $sourceDescriptions.events.petAdopted
        action: send
        parameters:
          - name: room
            in: channel
            value: pets
      - stepId: sub
        workflowId: login
        parameters:
          - name: user
            value: $inputs.user
    outputs:
      petId: $steps.find.outputs.id
  - workflowId: login
    steps:
      - stepId: listen
        channelPath: '{$sourceDescriptions.events.url}#/channels/logins'
        action: receive
        correlationId: $inputs.id
components:
  inputs:
    credentials: {type: object}
  parameters:
    page:
      name: page
      in: query
      value: 1
  successActions:
    done:
      name: done
      type: end
  failureActions:
    retry:
      name: retry
      type: retry
      retryLimit: 2
x-owner: team
";

#[test]
fn fills_every_field_with_where_it_is_written() {
    let document = loaded(FULL);
    assert_eq!(document.arazzo.value, "1.1.0");
    assert_eq!(document.arazzo.span, Span::new(1, 9, 5));
    assert_eq!(
        document.self_uri.as_ref().map(|s| s.value.as_str()),
        Some("https://example.com/flows.arazzo.yaml")
    );
    assert_eq!(document.info.title, "Pets");
    assert_eq!(document.info.summary.as_deref(), Some("Adopt a pet"));
    assert_eq!(
        document.info.description.as_deref(),
        Some("Finds and adopts")
    );
    assert_eq!(document.info.version, "2.0.0");

    let kinds: Vec<_> = document
        .source_descriptions
        .iter()
        .map(|s| (s.name.value.as_str(), s.kind.as_ref().map(|k| k.value)))
        .collect();
    assert_eq!(
        kinds,
        [
            ("pets", Some(SourceKind::OpenApi)),
            ("events", Some(SourceKind::AsyncApi))
        ]
    );
    assert_eq!(
        document.source_descriptions[0].url.value,
        "./pets.openapi.yaml"
    );
    assert_eq!(document.source_descriptions[0].span.line, 9);

    let adopt = document.workflow("adopt").expect("workflow adopt");
    assert_eq!(adopt.summary.as_deref(), Some("Adopts"));
    assert_eq!(
        adopt
            .inputs
            .as_ref()
            .map(|i| i.value["properties"]["token"]["type"].clone()),
        Some(json!("string"))
    );
    assert_eq!(adopt.inputs_pointer, "/workflows/0/inputs");
    assert_eq!(document.span_of(&adopt.inputs_pointer).line, 19);
    assert_eq!(adopt.depends_on[0].value, "login");
    assert!(
        matches!(&adopt.parameters[0], ParameterOrRef::Parameter(p) if p.value.value == json!("Bearer {$inputs.token}"))
    );
    assert!(
        matches!(&adopt.success_actions[0], ActionOrRef::Reference(r) if r.reference.value == "$components.successActions.done")
    );
    assert!(
        matches!(&adopt.failure_actions[0], ActionOrRef::Action(a) if a.kind.value == ActionKind::End)
    );
    assert_eq!(adopt.outputs[0].0.value, "petId");
    assert_eq!(adopt.outputs[0].1.value, "$steps.find.outputs.id");

    let find = adopt.step("find").expect("step find");
    assert_eq!(find.pointer, "/workflows/0/steps/0");
    assert_eq!(find.span.line, 33);
    assert_eq!(find.description.as_deref(), Some("Finds one"));
    assert!(
        matches!(&find.target, Target::OperationId(id) if id.value == "$sourceDescriptions.pets.findPets" && id.span.line == 35)
    );
    assert_eq!(find.timeout.as_ref().map(|t| t.value), Some(5000));
    let ParameterOrRef::Parameter(status) = &find.parameters[0] else {
        panic!("a parameter")
    };
    assert_eq!(
        (
            status.name.value.as_str(),
            status.location.as_ref().map(|l| l.value)
        ),
        ("status", Some(ParameterIn::Query))
    );
    let ParameterOrRef::Reference(page) = &find.parameters[1] else {
        panic!("a reference")
    };
    assert_eq!(page.value.as_ref().map(|v| v.value.clone()), Some(json!(2)));
    let ParameterOrRef::Parameter(q) = &find.parameters[2] else {
        panic!("a parameter")
    };
    assert_eq!(
        q.location.as_ref().map(|l| l.value),
        Some(ParameterIn::Querystring)
    );
    assert_eq!(
        q.value.value,
        json!({"context": "$inputs", "selector": "$.q", "type": "jsonpath"})
    );

    let kinds: Vec<_> = find
        .success_criteria
        .iter()
        .map(|c| c.kind.value.clone())
        .collect();
    assert_eq!(
        kinds,
        [
            CriterionKind::Simple,
            CriterionKind::JsonPath { version: None },
            CriterionKind::JsonPath {
                version: Some("draft-goessner-dispatch-jsonpath-00".into())
            },
            CriterionKind::Regex,
        ]
    );
    assert_eq!(
        find.success_criteria[1]
            .context
            .as_ref()
            .map(|c| c.value.as_str()),
        Some("$response.body")
    );
    let ActionOrRef::Action(again) = &find.on_failure[0] else {
        panic!("an action")
    };
    assert_eq!(again.kind.value, ActionKind::Retry);
    assert_eq!(again.retry_after.as_ref().map(|r| r.value), Some(1.5));
    assert_eq!(again.retry_limit.as_ref().map(|r| r.value), Some(3));
    assert_eq!(again.criteria[0].condition.value, "$statusCode == 503");
    let ActionOrRef::Action(next) = &find.on_success[0] else {
        panic!("an action")
    };
    assert_eq!(
        (
            next.kind.value,
            next.step_id.as_ref().map(|s| s.value.as_str())
        ),
        (ActionKind::Goto, Some("adopt"))
    );
    assert_eq!(find.outputs.len(), 1);
    assert_eq!(find.output_selectors[0].0.value, "name");
    assert_eq!(
        find.output_selectors[0].1.value["type"],
        json!("jsonpointer")
    );

    let extension = find.apiflow.as_ref().expect("x-apiflow");
    assert_eq!(
        extension.follow_redirects.as_ref().map(|f| f.value),
        Some(true)
    );
    assert_eq!(
        extension.stop_at.as_ref().map(|s| s.value.as_str()),
        Some("https://app.example.com/callback")
    );
    assert_eq!(
        extension
            .form_from
            .as_ref()
            .map(|f| f.value["step"].clone()),
        Some(json!("login"))
    );
    assert_eq!(extension.extract[0].0.value, "csrf");
    assert_eq!(find.security.len(), 2);
    assert_eq!(
        find.security[0]
            .scheme_name
            .as_ref()
            .map(|s| s.value.as_str()),
        Some("bearerAuth")
    );
    assert_eq!(find.security[0].values[0].0.value, "token");
    assert_eq!(
        find.security[1]
            .scheme
            .as_ref()
            .map(|s| s.value["scheme"].clone()),
        Some(json!("basic"))
    );

    let step = adopt.step("adopt").expect("step adopt");
    assert!(
        matches!(&step.target, Target::OperationPath(path) if path.value.ends_with("#/paths/~1pets~1{id}/post"))
    );
    assert_eq!(step.depends_on[0].value, "find");
    let body = step.request_body.as_ref().expect("a request body");
    assert_eq!(
        body.content_type.as_ref().map(|c| c.value.as_str()),
        Some("application/json")
    );
    assert_eq!(
        body.payload.as_ref().map(|p| p.value.clone()),
        Some(json!({"id": 0, "note": "hi"}))
    );
    let selectors: Vec<_> = body.replacements.iter().map(|r| r.selector).collect();
    assert_eq!(
        selectors,
        [Selector::JsonPointer, Selector::JsonPath, Selector::XPath]
    );
    assert_eq!(
        body.replacements[0].value.value,
        json!("$steps.find.outputs.id")
    );

    let notify = adopt.step("notify").expect("step notify");
    assert!(matches!(notify.target, Target::AsyncApi(_)));
    assert!(
        matches!(&notify.parameters[0], ParameterOrRef::Parameter(p) if p.location.as_ref().map(|l| l.value) == Some(ParameterIn::Channel))
    );
    let sub = adopt.step("sub").expect("step sub");
    assert!(matches!(&sub.target, Target::WorkflowId(id) if id.value == "login"));
    assert!(matches!(&sub.parameters[0], ParameterOrRef::Parameter(p) if p.location.is_none()));
    let listen = &document.workflow("login").expect("workflow login").steps[0];
    assert!(matches!(listen.target, Target::AsyncApi(span) if span.line == listen.span.line + 1));

    let components = &document.components;
    assert_eq!(components.inputs[0].0.value, "credentials");
    assert_eq!(components.parameters[0].1.value.value, json!(1));
    assert_eq!(components.success_actions[0].1.kind.value, ActionKind::End);
    assert_eq!(
        components.failure_actions[0]
            .1
            .retry_limit
            .as_ref()
            .map(|r| r.value),
        Some(2)
    );

    assert_eq!(document.json()["x-owner"], json!("team"));
    assert_eq!(
        document.span_of("/workflows/0/steps/1/operationPath").line,
        90
    );
    assert_eq!(
        document.span_of("/workflows/0/steps/1/nothing/here"),
        document.span_of("/workflows/0/steps/1")
    );
}

#[test]
fn json_documents_load_like_yaml() {
    let document = loaded(
        r#"{
  "arazzo": "1.0.1",
  "info": {"title": "t", "version": "1"},
  "sourceDescriptions": [{"name": "api", "url": "./openapi.json"}],
  "workflows": [{"workflowId": "w", "steps": [{"stepId": "s", "operationId": "op"}]}]
}"#,
    );
    let step = &document.workflows[0].steps[0];
    assert_eq!(step.id.value, "s");
    assert_eq!(step.span.line, 5);
    assert!(document.source_descriptions[0].kind.is_none());
}

#[test]
fn a_criterion_cannot_select_with_a_json_pointer() {
    let text = rejected(
        "arazzo: 1.1.0
info: {title: t, version: '1'}
sourceDescriptions: [{name: api, url: x}]
workflows:
  - workflowId: w
    steps:
      - stepId: s
        operationId: op
        successCriteria:
          - context: $response.body
            condition: /status
            type: {type: jsonpointer, version: rfc6901}
",
    );
    insta::assert_snapshot!(text, @r"
    error: a criterion cannot be of type `jsonpointer`
      --> t.arazzo.yaml:12:19
       |
     7 |       - stepId: s
       ⋮
    12 |             type: {type: jsonpointer, version: rfc6901}
       |                   ^ found `jsonpointer`
       = in step `s`
       = help: a criterion's `type` is `simple`, `regex`, `jsonpath` or `xpath`; a JSON Pointer selects a value, use it in `context` (`$response.body#/status`)
    ");
}

#[test]
fn a_timeout_is_a_whole_number_of_milliseconds() {
    let text = rejected(
        "arazzo: 1.1.0
info: {title: t, version: '1'}
sourceDescriptions: [{name: api, url: x}]
workflows:
  - workflowId: w
    steps:
      - stepId: s
        operationId: op
        timeout: -5
",
    );
    insta::assert_snapshot!(text, @r"
    error: invalid `timeout`: expected a whole number of milliseconds, 0 or more
     --> t.arazzo.yaml:9:18
      |
    7 |       - stepId: s
      ⋮
    9 |         timeout: -5
      |                  ^^ found `-5`
      = in step `s`
    ");
}

#[test]
fn a_1_0_retry_needs_neither_a_target_nor_a_delay() {
    let document = loaded(
        "arazzo: 1.0.1
info: {title: t, version: '1'}
sourceDescriptions: [{name: api, url: x}]
workflows:
  - workflowId: w
    steps:
      - stepId: s
        operationId: o
        onFailure:
          - name: again
            type: retry
            retryLimit: 3
",
    );
    let ActionOrRef::Action(again) = &document.workflows[0].steps[0].on_failure[0] else {
        panic!("an action")
    };
    assert_eq!(
        (again.kind.value, again.retry_after.is_none()),
        (ActionKind::Retry, true)
    );
}
