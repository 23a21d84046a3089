//! The sandbox through its public API: Postman's API, the libraries, the limits.

use std::time::Duration;

use serde_json::json;

use crate::{
    Change, ErrorKind, Info, Limits, Outcome, Phase, Request, Response, Run, Sandbox, Test,
    Variable, check_syntax,
};

fn request() -> Request {
    Request {
        url: "http://api.test/users?id=7".to_owned(),
        method: "GET".to_owned(),
        headers: vec![("Accept".to_owned(), "application/json".to_owned())],
    }
}

fn response(code: u16, body: &str) -> Response {
    Response {
        code,
        status: if code == 200 { "OK" } else { "Not Found" }.to_owned(),
        headers: vec![
            ("Content-Type".to_owned(), "application/json".to_owned()),
            ("X-Trace".to_owned(), "abc".to_owned()),
        ],
        body: body.to_owned(),
        time_ms: 12,
        size: body.len() as u64,
        secret: false,
    }
}

fn run_with(sandbox: &mut Sandbox, phase: Phase, code: &str, variables: Vec<Variable>) -> Outcome {
    sandbox.run(&Run {
        phase,
        code,
        info: Info {
            iteration: 0,
            iteration_count: 1,
            request_name: "get user".to_owned(),
            request_id: "step-1".to_owned(),
        },
        request: request(),
        response: (phase == Phase::After)
            .then(|| response(200, r#"{"id":7,"name":"Ada","tags":["a","b"]}"#)),
        variables,
        data: serde_json::Map::from_iter([("row".to_owned(), json!("first"))]),
        cookies: vec![("session".to_owned(), "s1".to_owned())],
    })
}

fn after(code: &str) -> Outcome {
    run_with(
        &mut Sandbox::new(Limits::default()),
        Phase::After,
        code,
        Vec::new(),
    )
}

fn passed(name: &str) -> Test {
    Test {
        name: name.to_owned(),
        passed: true,
        skipped: false,
        message: None,
        line: None,
        column: None,
    }
}

fn failed(name: &str, message: &str) -> Test {
    Test {
        name: name.to_owned(),
        passed: false,
        skipped: false,
        message: Some(message.to_owned()),
        line: None,
        column: None,
    }
}

fn at(test: Test, line: u32, column: u32) -> Test {
    Test {
        line: Some(line),
        column: Some(column),
        ..test
    }
}

fn no_error(outcome: &Outcome) {
    assert_eq!(outcome.error, None, "{outcome:?}");
}

#[test]
fn pm_test_records_passes_and_failures_with_chai_messages() {
    let outcome = after(
        r#"
        pm.test("status is 200", function () { pm.response.to.have.status(200); });
        pm.test("name is Bob", () => { pm.expect(pm.response.json().name).to.eql("Bob"); });
        pm.test.skip("later");
        tests["legacy"] = responseCode.code === 200;
        tests["legacy false"] = false;
        "#,
    );
    no_error(&outcome);
    assert_eq!(
        outcome.tests,
        [
            passed("status is 200"),
            at(
                failed(
                    "name is Bob",
                    "AssertionError: expected 'Ada' to deeply equal 'Bob'"
                ),
                3,
                78
            ),
            Test {
                skipped: true,
                ..passed("later")
            },
            passed("legacy"),
            failed("legacy false", "the test was set to false"),
        ]
    );
}

#[test]
fn response_assertions_speak_as_postman_does() {
    let outcome = after(
        r#"
        pm.test("ok", () => pm.response.to.be.ok);
        pm.test("success", () => pm.response.to.be.success);
        pm.test("404", () => pm.response.to.have.status(404));
        pm.test("not found", () => pm.response.to.be.notFound);
        pm.test("header", () => pm.response.to.have.header("x-trace", "abc"));
        pm.test("no header", () => pm.response.to.have.header("X-Missing"));
        pm.test("json", () => pm.response.to.be.json);
        pm.test("json path", () => pm.response.to.have.jsonBody("tags[1]", "b"));
        pm.test("body", () => pm.response.to.not.have.body("nothing"));
        pm.test("schema", () => pm.response.to.have.jsonSchema({ type: "object", required: ["id", "email"] }));
        "#,
    );
    no_error(&outcome);
    let summary: Vec<String> = outcome
        .tests
        .iter()
        .map(|t| format!("{}: {}", t.name, t.message.as_deref().unwrap_or("passed")))
        .collect();
    assert_eq!(
        summary,
        [
            "ok: passed",
            "success: passed",
            "404: AssertionError: expected response to have status code 404 but got 200",
            "not found: AssertionError: expected response to have status code 404 but got 200",
            "header: passed",
            "no header: AssertionError: expected response to have header with key 'X-Missing'",
            "json: passed",
            "json path: passed",
            "body: passed",
            "schema: AssertionError: expected data to satisfy schema but found following errors: data should have required property 'email'",
        ]
    );
}

#[test]
fn the_response_and_request_read_as_in_postman() {
    let outcome = after(
        r#"
        var r = pm.response;
        console.log(r.code, r.status, r.responseTime, r.responseSize, r.headers.get("content-type"));
        console.log(r.headers.has("X-TRACE"), r.headers.toObject(), r.text().length);
        console.log(pm.request.method, pm.request.url.toString(), pm.request.url.getHost());
        console.log(pm.info.eventName, pm.info.requestName, pm.info.iteration, pm.info.iterationCount);
        console.log(pm.iterationData.get("row"), data.row, iteration, pm.cookies.get("session"));
        console.log(responseHeaders["X-Trace"], postman.getResponseHeader("x-trace"), responseTime);
        "#,
    );
    no_error(&outcome);
    let lines: Vec<&str> = outcome.console.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "200 OK 12 38 application/json",
            r#"true {"Content-Type":"application/json","X-Trace":"abc"} 38"#,
            "GET http://api.test/users?id=7 api.test",
            "test get user 0 1",
            "first first 0 s1",
            "abc abc 12",
        ]
    );
}

#[test]
fn variables_are_read_and_set_through_every_scope() {
    let variables = vec![Variable {
        name: "base".to_owned(),
        value: json!("http://api.test"),
        secret: false,
    }];
    let outcome = run_with(
        &mut Sandbox::new(Limits::default()),
        Phase::Before,
        r#"
        pm.environment.set("token", "t-" + pm.variables.get("base").length);
        pm.collectionVariables.set("count", 3);
        pm.globals.set("obj", { a: [1] });
        pm.variables.set("local", pm.environment.get("token"));
        postman.setEnvironmentVariable("legacy", "x");
        postman.setGlobalVariable("legacy_global", postman.getEnvironmentVariable("legacy"));
        pm.environment.unset("legacy");
        console.log(pm.variables.has("legacy"), pm.variables.replaceIn("{{base}}/u/{{count}}/{{nope}}"));
        pm.request.headers.add({ key: "X-Token", value: pm.environment.get("token") });
        pm.request.headers.upsert({ key: "accept", value: "text/plain" });
        "#,
        variables,
    );
    no_error(&outcome);
    let set = |scope: &str, name: &str, value| Change::Set {
        scope: scope.to_owned(),
        name: name.to_owned(),
        value,
    };
    assert_eq!(
        outcome.changes,
        [
            set("environment", "token", json!("t-15")),
            set("collectionVariables", "count", json!(3)),
            set("globals", "obj", json!({ "a": [1] })),
            set("variables", "local", json!("t-15")),
            set("environment", "legacy", json!("x")),
            set("globals", "legacy_global", json!("x")),
            Change::Unset {
                scope: "environment".to_owned(),
                name: "legacy".to_owned()
            },
        ]
    );
    assert_eq!(outcome.console[0].1, "false http://api.test/u/3/{{nope}}");
    assert_eq!(
        outcome.request.headers,
        [
            ("X-Token".to_owned(), "t-15".to_owned()),
            ("accept".to_owned(), "text/plain".to_owned()),
        ]
    );
    assert!(!outcome.read_secret);
}

#[test]
fn reading_a_secret_is_noticed() {
    let secret = vec![Variable {
        name: "password".to_owned(),
        value: json!("hunter2"),
        secret: true,
    }];
    let mut sandbox = Sandbox::new(Limits::default());
    let read = run_with(
        &mut sandbox,
        Phase::Before,
        "pm.environment.set('copy', pm.environment.get('password'))",
        secret.clone(),
    );
    assert!(read.read_secret);
    let via_object = run_with(
        &mut sandbox,
        Phase::Before,
        "var e = environment;",
        secret.clone(),
    );
    assert!(via_object.read_secret);
    let not_read = run_with(
        &mut sandbox,
        Phase::Before,
        "pm.environment.set('a', 1)",
        secret,
    );
    assert!(!not_read.read_secret);
}

#[test]
fn an_exception_outside_a_test_is_located_in_the_script() {
    let outcome = after("var a = 1;\n\n  null.boom;\n");
    let error = outcome.error.expect("an error");
    assert_eq!(error.kind, ErrorKind::Thrown);
    assert_eq!(
        error.message,
        "TypeError: cannot read property 'boom' of null"
    );
    assert_eq!(error.line, Some(3));
}

#[test]
fn a_syntax_error_is_located_without_running_anything() {
    let error = check_syntax("var a = 1;\nvar b = ;\n").expect_err("a syntax error");
    assert_eq!(error.kind, ErrorKind::Syntax);
    assert_eq!(
        error.message,
        "SyntaxError: unexpected token in expression: ';'"
    );
    assert_eq!(error.line, Some(2));
    assert!(check_syntax("pm.test('x', () => { return 1; }); return;").is_ok());
    // Sloppy mode, as Postman runs scripts.
    assert!(check_syntax("with (Math) { x = PI; }").is_ok());
}

#[test]
fn an_endless_loop_is_stopped_at_the_time_limit() {
    let limits = Limits {
        time: Duration::from_millis(200),
        ..Limits::default()
    };
    let mut sandbox = Sandbox::new(limits);
    let outcome = run_with(&mut sandbox, Phase::Before, "while (true) {}", Vec::new());
    let error = outcome.error.expect("stopped");
    assert_eq!(error.kind, ErrorKind::Time);
    assert_eq!(
        error.message,
        "the script ran longer than its limit of 0.2 s and was stopped"
    );
    // Even a script that catches everything.
    let outcome = run_with(
        &mut sandbox,
        Phase::Before,
        "for (;;) { try { while (true) {} } catch (e) {} }",
        Vec::new(),
    );
    assert_eq!(outcome.error.map(|e| e.kind), Some(ErrorKind::Time));
    // The next script runs in a fresh engine.
    let outcome = run_with(
        &mut sandbox,
        Phase::Before,
        "pm.test('fine', () => {})",
        Vec::new(),
    );
    assert_eq!(outcome.tests, [passed("fine")]);
}

#[test]
fn cycles_left_by_one_script_do_not_count_against_the_next() {
    let limits = Limits {
        memory: 16 * 1024 * 1024,
        ..Limits::default()
    };
    let mut sandbox = Sandbox::new(limits);
    // About 3 MiB of objects that point at each other, left behind by every script: reference
    // counts never free them, and twenty scripts' worth is far over the limit, so they must be
    // collected between (or during) scripts.
    let code = "var ring = []; for (var i = 0; i < 20000; i++) { \
                var o = { pad: 'x'.repeat(100) + i }; o.self = o; ring.push(o); } \
                ring.push(ring); pm.test('made a ring', () => {});";
    for _ in 0..20 {
        let outcome = run_with(&mut sandbox, Phase::Before, code, Vec::new());
        assert_eq!(outcome.error, None);
        assert_eq!(outcome.tests, [passed("made a ring")]);
    }
}

#[test]
fn an_allocation_bomb_hits_the_memory_limit() {
    let limits = Limits {
        memory: 16 * 1024 * 1024,
        ..Limits::default()
    };
    let mut sandbox = Sandbox::new(limits);
    let outcome = run_with(
        &mut sandbox,
        Phase::Before,
        "var a = []; while (true) { a.push('x'.repeat(1024) + a.length); }",
        Vec::new(),
    );
    let error = outcome.error.expect("out of memory");
    assert_eq!(error.kind, ErrorKind::Memory, "{error:?}");
    // When even the engine's error cannot be allocated, it throws `null`, and the message
    // says so.
    assert!(
        error.message == "the script ran out of memory: the sandbox may use 16 MiB"
            || error.message
                == "the script ran out of memory: the sandbox may use 16 MiB (or it threw `null`)",
        "{error:?}"
    );
    let outcome = run_with(
        &mut sandbox,
        Phase::Before,
        "pm.test('fine', () => {})",
        Vec::new(),
    );
    assert_eq!(outcome.tests, [passed("fine")]);
}

#[test]
fn nothing_reaches_outside_the_sandbox() {
    let outcome = after(
        r#"
        console.log(typeof process, typeof fetch, typeof XMLHttpRequest, typeof std, typeof os,
            typeof setTimeout, typeof WebSocket, typeof __apiflow_load, typeof __apiflow_random);
        pm.test("sendRequest", () => pm.sendRequest("http://example.test/"));
        pm.test("fs", () => require("fs"));
        pm.test("child_process", () => require("child_process"));
        "#,
    );
    no_error(&outcome);
    assert_eq!(
        outcome.console[0].1,
        "undefined undefined undefined undefined undefined undefined undefined undefined undefined"
    );
    let libraries = "ajv, atob, btoa, chai, crypto-js, lodash, moment, tv4, uuid";
    assert_eq!(
        outcome.tests,
        [
            at(
                failed(
                    "sendRequest",
                    "Error: pm.sendRequest is not provided by apiflow's sandbox: send the request from a step of its own, before this one"
                ),
                4,
                41
            ),
            at(
                failed(
                    "fs",
                    &format!(
                        "Error: require('fs'): the library `fs` is not provided by apiflow's sandbox; the libraries are {libraries}"
                    )
                ),
                5,
                29
            ),
            at(
                failed(
                    "child_process",
                    &format!(
                        "Error: require('child_process'): the library `child_process` is not provided by apiflow's sandbox; the libraries are {libraries}"
                    )
                ),
                6,
                40
            ),
        ]
    );
}

#[test]
fn every_library_gives_a_known_answer() {
    let outcome = after(
        r#"
        var CryptoJS = require("crypto-js");
        // RFC 4231, test case 2.
        console.log(CryptoJS.HmacSHA256("what do ya want for nothing?", "Jefe").toString());
        console.log(CryptoJS.enc.Base64.stringify(CryptoJS.enc.Utf8.parse("hi")), CryptoJS.MD5("").toString());
        var _ = require("lodash");
        console.log(_.get({ a: [{ b: 3 }] }, "a[0].b"), _.uniq([1, 1, 2]).length);
        var moment = require("moment");
        console.log(moment.utc("2024-02-29T13:05:00Z").format("YYYY-MM-DD HH:mm dddd"));
        var uuid = require("uuid");
        console.log(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid.v4()));
        var tv4 = require("tv4");
        console.log(tv4.validate({ id: 1 }, { type: "object", required: ["id"] }), tv4.validate({}, { required: ["id"] }));
        var Ajv = require("ajv");
        var ajv = new Ajv();
        console.log(ajv.validate({ type: "integer", minimum: 2 }, 3), ajv.validate({ type: "integer" }, "x"));
        console.log(btoa("user:pass"), atob("dXNlcjpwYXNz"), require("btoa")("a"), require("atob")("YQ=="));
        var chai = require("chai");
        console.log(typeof chai.expect, typeof _.map === typeof CryptoJS.SHA1, typeof tv4.validate);
        "#,
    );
    no_error(&outcome);
    let lines: Vec<&str> = outcome.console.iter().map(|(_, l)| l.as_str()).collect();
    assert_eq!(
        lines,
        [
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            "aGk= d41d8cd98f00b204e9800998ecf8427e",
            "3 2",
            "2024-02-29 13:05 Thursday",
            "true",
            "true false",
            "true false",
            "dXNlcjpwYXNz user:pass YQ== a",
            "function true function",
        ]
    );
}

#[test]
fn the_engine_starts_with_the_first_script_only() {
    let before = crate::engines_started_on_this_thread();
    let mut sandbox = Sandbox::new(Limits::default());
    assert!(!sandbox.started());
    assert_eq!(crate::engines_started_on_this_thread(), before);
    run_with(&mut sandbox, Phase::Before, "1", Vec::new());
    run_with(&mut sandbox, Phase::Before, "2", Vec::new());
    assert!(sandbox.started());
    assert_eq!(crate::engines_started_on_this_thread(), before + 1);
}

#[test]
fn set_next_request_is_reported() {
    let outcome = after("postman.setNextRequest('login')");
    assert_eq!(outcome.next_request, Some(Some("login".to_owned())));
    let outcome = after("pm.execution.setNextRequest(null)");
    assert_eq!(outcome.next_request, Some(None));
    assert_eq!(after("1").next_request, None);
}
