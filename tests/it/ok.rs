//! The passing-behaviour corpus: every `tests/fixtures/ok/*.yaml` runs through the real binary
//! with `-v` against one in-process server, and what it printed and what the server received
//! are snapshotted together. Each case must pass (exit 0).

use crate::support;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use support::bin::{apiflow, output};
use support::{ROOT, Recorded, Reply, Server};

/// Echoes a request back as JSON: method, path, query, headers (last value of each, names in
/// lower case), the body as text, and the body parsed when it is JSON.
fn echo(request: &Recorded) -> Reply {
    let mut headers = serde_json::Map::new();
    for (name, value) in &request.headers {
        headers.insert(name.clone(), Value::String(value.clone()));
    }
    Reply::json(
        200,
        &json!({
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": headers,
            "text": request.body,
            "body": serde_json::from_str::<Value>(&request.body).unwrap_or(Value::Null),
        }),
    )
}

/// The server every case runs against.
fn server() -> Server {
    let polls = Arc::new(AtomicUsize::new(0));
    Server::start(move |request: &Recorded| {
        let path = request.path.as_str();
        if let Some(id) = path.strip_prefix("/items/") {
            let id: u64 = id.parse().unwrap_or(0);
            return if request.method == "DELETE" {
                Reply::status(204)
            } else {
                Reply::json(
                    200,
                    &json!({ "id": id, "name": format!("widget {id}"), "tags": ["red", "blue"] }),
                )
            };
        }
        match path {
            "/token" => Reply::json(
                200,
                &json!({ "access_token": "tok-9f8e7d", "token_type": "Bearer" }),
            ),
            "/login" => Reply::redirect(302, "/home?code=abc")
                .header("set-cookie", "session=s-1; Path=/; HttpOnly"),
            "/ready" => {
                let seen = polls.fetch_add(1, Ordering::SeqCst) + 1;
                Reply::json(200, &json!({ "ready": seen >= 3 }))
            }
            _ => echo(request),
        }
    })
}

/// Writes what the server received, one request a line, for the snapshot.
fn received(server: &Server) -> String {
    let mut out = String::new();
    for request in server.requests() {
        let query = request
            .query
            .as_deref()
            .map_or(String::new(), |q| format!("?{q}"));
        let _ = writeln!(out, "{} {}{query}", request.method, request.path);
        for (name, value) in &request.headers {
            if matches!(name.as_str(), "authorization" | "cookie" | "content-type") {
                let _ = writeln!(out, "  {name}: {value}");
            }
        }
        if !request.body.is_empty() {
            let _ = writeln!(out, "  body: {}", request.body);
        }
    }
    out
}

#[test]
fn every_ok_case_passes() {
    let dir = Path::new(ROOT).join("tests/fixtures/ok");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .expect("the corpus")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| Path::new(name).extension().is_some_and(|e| e == "yaml"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 5, "only {} cases", cases.len());
    for case in cases {
        let server = server();
        let file = format!("tests/fixtures/ok/{case}");
        let out = output(
            apiflow(&["run", &file, "-v", "--var"]).arg(format!("base_url={}", server.url)),
            &[(server.port, "<port>")],
        );
        assert_eq!(out.code, 0, "{case}:\n{}{}", out.stdout, out.stderr);
        let text = format!(
            "--- stdout\n{}--- stderr\n{}--- received\n{}",
            out.stdout,
            out.stderr,
            support::unboundary(&received(&server))
        );
        insta::assert_snapshot!(case.trim_end_matches(".yaml"), text);
    }
}
