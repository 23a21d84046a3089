//! The engine through its library API: fixture workflows run against in-process servers, with
//! what the server received, what the run report holds and what the terminal reporter printed.

use crate::support;

use apiflow::report::event::Outcome;
use serde_json::json;
use support::{Recorded, Reply, Server, normalize, run};

fn item_server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/items" => Reply::json(
            200,
            &json!({ "id": 7, "name": "widget", "items": [{ "n": 1 }, { "n": 2 }, { "n": 3 }] }),
        )
        .header("x-request-id", "req-1")
        .header("set-cookie", "session=s1; Path=/; HttpOnly"),
        "/start" => Reply::redirect(302, "/login?flowId=f-rel&step=2"),
        "/away" => Reply::redirect(302, "https://login.example.com/cb?x=1&flowId=f-abs"),
        "/receipt" => Reply::text(200, "order ORD-42 confirmed"),
        _ => Reply::status(404),
    })
}

#[tokio::test]
async fn each_capture_kind_takes_its_value() {
    let server = item_server();
    let run = run("extract.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    let read = "read the item";
    assert_eq!(run.capture(read, "item_id"), json!(7));
    assert_eq!(run.capture(read, "numbers"), json!([1, 2, 3]));
    assert_eq!(run.capture(read, "colour"), json!("plain"));
    assert_eq!(run.capture(read, "request_id"), json!("req-1"));
    assert_eq!(run.capture(read, "session"), json!("s1"));
    assert_eq!(run.capture(read, "seen_status"), json!(200));
    assert_eq!(
        run.capture(read, "raw"),
        json!(r#"{"id":7,"name":"widget","items":[{"n":1},{"n":2},{"n":3}]}"#)
    );
    assert_eq!(run.capture(read, "item_count"), json!(3));
    let start = "follow nothing";
    assert_eq!(run.capture(start, "relative_flow"), json!("f-rel"));
    assert_eq!(
        run.capture(start, "target"),
        json!("/login?flowId=f-rel&step=2")
    );
    assert_eq!(run.capture(start, "location_id"), json!("f-rel"));
    assert_eq!(
        run.capture("leave the site", "absolute_flow"),
        json!("f-abs")
    );
    let receipt = "read the receipt";
    assert_eq!(run.capture(receipt, "order_number"), json!("42"));
    assert_eq!(run.capture(receipt, "order_ref"), json!("ORD-42"));
    assert_eq!(
        run.capture(receipt, "receipt"),
        json!("order ORD-42 confirmed")
    );
}

#[tokio::test]
async fn an_expected_value_may_read_the_whole_response_json() {
    let server = item_server();
    let run = run(
        "json_in_expectations.yaml",
        &[("base_url", &server.url)],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
}

#[tokio::test]
async fn captures_that_find_nothing_fail_the_step() {
    let server = item_server();
    let run = run("extract_failures.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 1);
    let step = run.step("read the item");
    assert_eq!(step.outcome, Outcome::Failed);
    assert_eq!(step.failures.len(), 3);
    assert_eq!(run.step("never runs").outcome, Outcome::Skipped);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

fn echo_server() -> Server {
    Server::start(|_: &Recorded| Reply::json(200, &json!({ "ok": true })))
}

#[tokio::test]
async fn bodies_reach_the_server_as_written() {
    let server = echo_server();
    let run = run("bodies.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);

    let sent = server.only("/json");
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(
        body,
        json!({
            "label": "blue widget",
            "count": 5,
            "total": 10,
            "text_count": "n=5",
            "input": "3",
            "n": 5,
            "nested": { "tags": ["a", "BLUE WIDGET"], "ok": true, "none": null }
        })
    );
    // Keys keep the order they are written in.
    assert!(
        sent.body
            .starts_with(r#"{"label":"blue widget","count":5,"#),
        "{}",
        sent.body
    );

    let sent = server.only("/form");
    assert_eq!(
        sent.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        sent.body,
        "grant_type=client_credentials&scope=read+write&note=a%26b%3Dc%2F%C3%A9"
    );

    let sent = server.only("/text");
    assert_eq!(sent.method, "PUT");
    assert_eq!(sent.body, "hello blue widget");
    assert_eq!(sent.header("content-type"), None);

    let sent = server.only("/custom");
    assert_eq!(sent.method, "PATCH");
    assert_eq!(
        sent.header("content-type"),
        Some("application/merge-patch+json")
    );
    assert_eq!(sent.header("x-trace"), Some("t-5"));
    assert_eq!(sent.body, r#"{"label":null}"#);

    let sent = server.only("/search");
    assert_eq!(sent.method, "GET");
    assert_eq!(
        sent.query.as_deref(),
        Some("fixed=1&q=blue+widget+%26+more&path=%2Fa%2Fb%3Fc&empty=")
    );
    assert_eq!(sent.body, "");
}

#[tokio::test]
async fn basic_and_bearer_credentials_are_sent_and_masked() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/token" => Reply::json(
            200,
            &json!({ "access_token": "at-0123456789", "expires_in": 60 }),
        ),
        _ => Reply::json(200, &json!({ "name": "me" })),
    });
    let run = run("auth.yaml", &[("base_url", &server.url)], true).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    // base64("my-client:s3cr3t:pa ss")
    assert_eq!(
        server.only("/token").header("authorization"),
        Some("Basic bXktY2xpZW50OnMzY3IzdDpwYSBzcw==")
    );
    let me = server.only("/me");
    assert_eq!(me.header("authorization"), Some("Bearer at-0123456789"));
    assert_eq!(me.header("x-api-key"), Some("k3y-value-123"));
    for secret in [
        "bXktY2xpZW50OnMzY3IzdDpwYSBzcw==",
        "s3cr3t",
        "at-0123456789",
        "k3y-value-123",
    ] {
        assert!(!run.output.contains(secret), "{secret} in:\n{}", run.output);
    }
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn cookies_are_sent_only_under_their_path() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/a/login" => Reply::status(204).header("set-cookie", "sid=abc123; Path=/a"),
        _ => Reply::status(204),
    });
    let run = run("cookies.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    assert_eq!(server.only("/a/login").header("cookie"), None);
    assert_eq!(server.only("/a/x").header("cookie"), Some("sid=abc123"));
    assert_eq!(server.only("/b").header("cookie"), None);
}

#[tokio::test]
async fn redirects_are_followed_only_when_asked() {
    let other = Server::start(|_: &Recorded| Reply::json(200, &json!({ "at": "other" })));
    let other_url = other.url.clone();
    let server = Server::start(move |request: &Recorded| match request.path.as_str() {
        "/r1" => Reply::redirect(302, "/r2"),
        "/r2" => Reply::redirect(301, "/final?from=r2"),
        "/final" => Reply::json(200, &json!({ "at": "final" })),
        "/submit" => Reply::redirect(303, "/done"),
        "/done" => Reply::text(200, "done"),
        "/cross" => Reply::redirect(307, &format!("{other_url}/landing")),
        _ => Reply::status(404),
    });
    let run = run(
        "redirects.yaml",
        &[("base_url", &server.url), ("other_url", &other.url)],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);

    let step = run.step("not followed");
    assert_eq!(step.exchanges.len(), 1);
    assert_eq!(step.exchanges[0].response.status.as_u16(), 302);
    assert_eq!(run.capture("not followed", "next"), json!("/r2"));

    let step = run.step("followed");
    let hops: Vec<(String, u16)> = step
        .exchanges
        .iter()
        .map(|e| (e.request.url.path().to_owned(), e.response.status.as_u16()))
        .collect();
    assert_eq!(
        hops,
        [
            ("/r1".to_owned(), 302),
            ("/r2".to_owned(), 301),
            ("/final".to_owned(), 200)
        ]
    );

    let step = run.step("post then see other");
    assert_eq!(step.exchanges.len(), 2);
    let done = server.only("/done");
    assert_eq!(done.method, "GET");
    assert_eq!(done.body, "");
    assert_eq!(done.header("content-type"), None);
    assert_eq!(server.only("/submit").method, "POST");

    assert_eq!(
        server.only("/cross").header("authorization"),
        Some("Bearer token-for-this-origin-only")
    );
    let landed = other.only("/landing");
    assert_eq!(landed.header("authorization"), None);
    assert_eq!(landed.header("x-other"), Some("kept"));

    insta::assert_snapshot!(normalize(
        &run.output,
        &[(server.port, "<port>"), (other.port, "<other-port>")]
    ));
}

#[test]
fn several_problems_are_reported_together() {
    let source = apiflow::Source::new(
        "tests/corpus/107-several-problems.yaml",
        std::fs::read_to_string(format!(
            "{}/tests/corpus/107-several-problems.yaml",
            support::ROOT
        ))
        .expect("the corpus case"),
    );
    let titles: Vec<String> = apiflow::check_source(&source)
        .unwrap_err()
        .into_iter()
        .map(|d| d.title)
        .collect();
    assert_eq!(
        titles,
        [
            "unknown key `metod` in `request`",
            "invalid `status`: expected a status from 100 to 599 or a class like `2xx`",
            "undefined variable `limit`",
            "invalid JSONPath `$.items[0`",
            "duplicate step name `fetch`",
            "invalid `delay`: invalid duration `soon`: expected a number followed by `ms`, `s`, `m` or `h`, e.g. `500ms`, `10s`, `2m`",
            "unknown filter `lowr`",
        ]
    );
}

#[tokio::test]
async fn a_guarded_clean_up_runs_only_when_its_capture_exists() {
    for created in [true, false] {
        let server = Server::start(move |request: &Recorded| {
            match (request.method.as_str(), request.path.as_str()) {
                ("POST", "/items") if created => Reply::json(201, &json!({ "id": "i-1" })),
                ("POST", "/items") => Reply::json(500, &json!({ "error": "full" })),
                ("DELETE", "/items/i-1") => Reply::status(204),
                _ => Reply::status(500),
            }
        });
        let run = run("finally_guarded.yaml", &[("base_url", &server.url)], false).await;
        assert_eq!(run.report.exit_code(), 1);
        let sent: Vec<String> = server
            .requests()
            .into_iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        let delete = run.step("delete the item");
        if created {
            assert_eq!(sent, ["POST /items", "GET /broken", "DELETE /items/i-1"]);
            assert_eq!(delete.outcome, Outcome::Passed);
        } else {
            assert_eq!(sent, ["POST /items"]);
            assert_eq!(delete.outcome, Outcome::Skipped);
            assert_eq!(
                delete.reason.as_deref(),
                Some("`if: item_id is defined` is false")
            );
        }
        assert_eq!(run.step("never runs").outcome, Outcome::Skipped);
    }
}

#[tokio::test]
async fn a_failed_step_shows_expected_and_found_then_finally_runs() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/token" => Reply::json(
            200,
            &json!({ "token_type": "Bearer", "expires_in": -1, "scope": ["read"] }),
        ),
        "/session" => Reply::status(204),
        _ => Reply::status(404),
    });
    let run = run("failures.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 1);
    let outcomes: Vec<(&str, Outcome, bool)> = run
        .report
        .steps
        .iter()
        .map(|s| (s.name.as_str(), s.outcome, s.finally))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("get a token", Outcome::Failed, false),
            ("use the token", Outcome::Skipped, false),
            ("clean up", Outcome::Passed, true),
        ]
    );
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/token", "/session"]);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn a_wrong_status_stops_before_captures() {
    let server =
        Server::start(|_: &Recorded| Reply::json(404, &json!({ "error": "not found", "id": 42 })));
    let run = run("status_mismatch.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.report.exit_code(), 1);
    let step = run.step("read a missing item");
    assert_eq!(step.failures.len(), 1);
    assert!(step.captures.is_empty());
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn retries_until_the_condition_holds_and_skips_on_a_false_if() {
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/eventually" if request.nth < 2 => Reply::status(404),
        "/flaky" if request.nth == 0 => Reply::status(503),
        "/never" => Reply::json(200, &json!({ "ready": false })),
        _ => Reply::json(200, &json!({ "ready": true })),
    });
    let run = run("retry.yaml", &[("base_url", &server.url)], false).await;
    assert_eq!(run.step("wait until ready").attempts, 3);
    assert_eq!(run.step("wait until ready").outcome, Outcome::Passed);
    assert_eq!(run.step("ride out a 503").attempts, 2);
    assert_eq!(run.step("ride out a 503").outcome, Outcome::Passed);
    assert_eq!(run.step("only when slow").outcome, Outcome::Skipped);
    assert_eq!(run.step("only when slow").attempts, 0);
    assert_eq!(run.step("give up").attempts, 2);
    assert_eq!(run.step("give up").outcome, Outcome::Failed);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/eventually",
            "/eventually",
            "/eventually",
            "/flaky",
            "/flaky",
            "/never",
            "/never"
        ]
    );
    assert_eq!(run.report.exit_code(), 1);
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

/// Which keys of a mapping were read is kept in a 64-bit set plus a list for the rest: keys
/// past the 64th must be read and reported like the others.
#[test]
fn keys_past_the_sixty_fourth_of_a_mapping_are_read_and_checked() {
    let headers: Vec<String> = (0..70).map(|i| format!("        x-h{i}: v{i}\n")).collect();
    let request: Vec<String> = (0..64).map(|i| format!("      x{i}: 1\n")).collect();
    let (headers, request) = (headers.concat(), request.concat());
    let text = format!(
        "name: wide\nsteps:\n  - name: one\n    request:\n{request}      url: http://127.0.0.1:1/\n      metod: GET\n      headers:\n{headers}"
    );
    let source = apiflow::Source::new("wide.yaml", text);
    let titles: Vec<String> = apiflow::check_source(&source)
        .unwrap_err()
        .into_iter()
        .map(|d| d.title)
        .collect();
    let mut expected: Vec<String> = (0..64)
        .map(|i| format!("unknown key `x{i}` in `request`"))
        .collect();
    expected.push("unknown key `metod` in `request`".to_owned());
    assert_eq!(titles, expected);
}
