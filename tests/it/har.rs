//! The HAR report (`--report har=PATH`): valid against the HAR 1.2 JSON Schema, one entry per
//! exchange in the order sent (redirect hops included), timings that add up, and requests as
//! the server received them.

use crate::support;

use serde_json::{Value, json};
use support::bin::{TempDir, apiflow};
use support::{ROOT, Recorded, Reply, Server};

fn server() -> Server {
    Server::start(|request: &Recorded| match request.path.as_str() {
        "/start" => {
            Reply::redirect(302, "/middle").header("set-cookie", "sid=s-1; Path=/; HttpOnly")
        }
        "/middle" => Reply::redirect(303, "/end"),
        "/end" => Reply::json(200, &json!({ "at": "end" })),
        "/items" => Reply::json(201, &json!({ "id": 7 })),
        _ => Reply::text(200, "ok"),
    })
}

const WORKFLOW: &str = r#"name: har
inputs:
  base_url:
steps:
  - name: follow
    request: { url: "{{ base_url }}/start", follow_redirects: true }
  - name: create
    request:
      method: POST
      url: "{{ base_url }}/items"
      json: { name: widget, tags: [a, b] }
    expect: { status: 201 }
  - name: search
    request:
      url: "{{ base_url }}/search?q=blue%20widget&n=1"
      headers: { X-Trace: t-1 }
  - name: login
    request:
      method: POST
      url: "{{ base_url }}/form"
      form: { user: ann, note: "a&b=c" }
  - name: upload
    request:
      method: PUT
      url: "{{ base_url }}/text"
      body: "hello"
"#;

/// Runs the workflow with `extra` arguments and returns the HAR report and the server.
fn har(name: &str, extra: &[&str]) -> (Value, Server, TempDir) {
    let server = server();
    let dir = TempDir::new(name);
    let file = dir.file("har.yaml");
    std::fs::write(&file, WORKFLOW).expect("the workflow is written");
    let report = dir.file("out/run.har");
    let output = apiflow(&["run", &file, "--report", &format!("har={report}")])
        .args(extra)
        .arg("--var")
        .arg(format!("base_url={}", server.url))
        .output()
        .expect("the binary runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let text = std::fs::read_to_string(&report).expect("the report is written");
    (
        serde_json::from_str(&text).expect("the report is JSON"),
        server,
        dir,
    )
}

/// Reads the vendored HAR schema's files by name, for the `$ref`s between them.
struct Vectors;

impl jsonschema::Retrieve for Vectors {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        let text = std::fs::read_to_string(format!("{ROOT}/tests/vectors/har/{name}"))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(format!("{ROOT}/tests/vectors/har/har.json")).expect("har.json");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    jsonschema::options()
        .with_base_uri("json-schema:///har.json")
        .with_retriever(Vectors)
        .build(&schema)
        .expect("the HAR schema compiles")
}

fn assert_valid(har: &Value) {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(har)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_har_report_is_valid_har_1_2() {
    let (har, _server, _dir) = har("har-schema", &[]);
    assert_valid(&har);
    // The schema has teeth: an entry without its request is refused.
    let mut broken = har.clone();
    broken["log"]["entries"][0]
        .as_object_mut()
        .expect("an entry")
        .remove("request");
    assert!(!validator().is_valid(&broken));
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "apiflow");
    assert_eq!(log["creator"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(log["pages"].as_array().map(Vec::len), Some(1));
    assert_eq!(log["pages"][0]["id"], "page_1");
}

#[test]
fn every_exchange_is_an_entry_in_the_order_sent() {
    let (har, server, _dir) = har("har-order", &[]);
    let entries = har["log"]["entries"].as_array().expect("entries");
    let sent: Vec<String> = entries
        .iter()
        .map(|e| {
            let url = e["request"]["url"].as_str().expect("a URL");
            format!(
                "{} {} {}",
                e["request"]["method"].as_str().expect("a method"),
                url.replace(&server.url, ""),
                e["response"]["status"]
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            "GET /start 302",
            "GET /middle 303",
            "GET /end 200",
            "POST /items 201",
            "GET /search?q=blue%20widget&n=1 200",
            "POST /form 200",
            "PUT /text 200",
        ]
    );
    // The server saw the same requests in the same order.
    let received: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let expected: Vec<String> = sent
        .iter()
        .map(|s| {
            let mut words = s.split(' ');
            let method = words.next().unwrap_or_default();
            let target = words.next().unwrap_or_default();
            format!("{method} {}", target.split('?').next().unwrap_or_default())
        })
        .collect();
    assert_eq!(received, expected);
    assert_eq!(entries[0]["response"]["redirectURL"], "/middle");
    assert_eq!(
        entries[0]["response"]["cookies"],
        json!([{ "name": "sid", "value": "s-1", "path": "/", "httpOnly": true }])
    );
    // The cookie goes back on the next hop.
    assert_eq!(
        entries[1]["request"]["cookies"],
        json!([{ "name": "sid", "value": "s-1" }])
    );
    assert_eq!(
        entries[4]["request"]["queryString"],
        json!([{ "name": "q", "value": "blue widget" }, { "name": "n", "value": "1" }])
    );
    for entry in entries {
        assert_eq!(entry["pageref"], "page_1");
    }
}

#[test]
fn timings_are_phases_or_minus_one_and_add_up_to_time() {
    let (har, _server, _dir) = har("har-timings", &[]);
    let entries = har["log"]["entries"].as_array().expect("entries");
    let iso = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").expect("a regex");
    for (index, entry) in entries.iter().enumerate() {
        let timings = &entry["timings"];
        let mut sum = 0.0;
        for phase in [
            "blocked", "dns", "connect", "send", "wait", "receive", "ssl",
        ] {
            let value = timings[phase].as_f64().expect("a number");
            assert!(value >= 0.0 || timings[phase] == -1.0, "{phase} of {entry}");
            if value >= 0.0 && phase != "ssl" {
                sum += value;
            }
        }
        let time = entry["time"].as_f64().expect("a number");
        assert!((time - sum).abs() < 0.01, "{time} vs {sum}: {timings}");
        // Plain `http://` has no TLS; 127.0.0.1 is not looked up.
        assert_eq!(timings["ssl"], -1.0);
        assert_eq!(timings["dns"], -1.0);
        // The first exchange opens the connection; the later ones reuse it.
        if index == 0 {
            assert!(
                timings["connect"].as_f64().is_some_and(|v| v >= 0.0),
                "{timings}"
            );
        } else {
            assert_eq!(timings["connect"], -1.0, "{timings}");
        }
        let started = entry["startedDateTime"].as_str().expect("a date");
        assert!(iso.is_match(started), "{started}");
    }
}

#[test]
fn requests_are_written_as_the_server_received_them() {
    let (har, server, _dir) = har("har-requests", &[]);
    let entries = har["log"]["entries"].as_array().expect("entries");
    let received = server.requests();
    for (entry, request) in entries.iter().zip(&received) {
        // Every header apiflow set is one the server received, with that value; the stack adds
        // `host`, `accept-encoding` and the like besides.
        for header in entry["request"]["headers"].as_array().expect("headers") {
            let name = header["name"].as_str().expect("a name");
            assert_eq!(
                request.header(name),
                header["value"].as_str(),
                "{name} of {}",
                request.path
            );
        }
    }
    let create = &entries[3]["request"];
    assert_eq!(create["postData"]["mimeType"], "application/json");
    assert_eq!(
        create["postData"]["text"],
        json!(server.only("/items").body)
    );
    assert_eq!(create["bodySize"], json!(server.only("/items").body.len()));
    let login = &entries[5]["request"]["postData"];
    assert_eq!(login["mimeType"], "application/x-www-form-urlencoded");
    assert_eq!(
        login["params"],
        json!([{ "name": "user", "value": "ann" }, { "name": "note", "value": "a&b=c" }])
    );
    assert_eq!(server.only("/form").body, "user=ann&note=a%26b%3Dc");
    assert_eq!(entries[6]["request"]["postData"]["text"], "hello");
    assert_eq!(
        entries[4]["request"]["headers"],
        json!([{ "name": "x-trace", "value": "t-1" }, { "name": "cookie", "value": "sid=s-1" }])
    );
    let end = &entries[2]["response"];
    assert_eq!(end["content"]["mimeType"], "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(end["content"]["text"].as_str().expect("text"))
            .expect("JSON"),
        json!({ "at": "end" })
    );
    assert_eq!(entries[2]["serverIPAddress"], "127.0.0.1");
    assert_eq!(end["statusText"], "OK");
    assert_eq!(end["httpVersion"], "HTTP/1.1");
}

#[test]
fn iterations_go_into_one_archive_in_their_order() {
    let (har, _server, _dir) = har(
        "har-iterations",
        &["--iterations", "3", "--concurrency", "3"],
    );
    assert_valid(&har);
    let pages: Vec<&str> = har["log"]["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| p["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(pages, ["page_1", "page_2", "page_3"]);
    let refs: Vec<&str> = har["log"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["pageref"].as_str().expect("a page"))
        .collect();
    let expected: Vec<&str> = pages.iter().flat_map(|p| [*p; 7]).collect();
    assert_eq!(refs, expected);
}

#[test]
fn files_run_at_once_are_pages_in_the_order_given() {
    let server = server();
    let dir = TempDir::new("har-jobs");
    let mut args = vec!["run".to_owned()];
    for name in ["b", "a", "c"] {
        let file = dir.file(&format!("{name}.yaml"));
        std::fs::write(
            &file,
            format!(
                "name: {name}\nsteps:\n  - name: get\n    request: {{ url: \"{}/{name}\" }}\n",
                server.url
            ),
        )
        .expect("the workflow is written");
        args.push(file);
    }
    let report = dir.file("run.har");
    args.extend([
        "--jobs".to_owned(),
        "3".to_owned(),
        "--report".to_owned(),
        format!("har={report}"),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = apiflow(&args).output().expect("the binary runs");
    assert_eq!(output.status.code(), Some(0));
    let har: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("written")).expect("JSON");
    assert_valid(&har);
    let titles: Vec<&str> = har["log"]["pages"]
        .as_array()
        .expect("pages")
        .iter()
        .map(|p| {
            p["title"]
                .as_str()
                .expect("a title")
                .split(' ')
                .next()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(titles, ["b", "a", "c"]);
    let urls: Vec<String> = har["log"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["pageref"].as_str().unwrap_or_default(),
                e["request"]["url"]
                    .as_str()
                    .unwrap_or_default()
                    .replace(&server.url, "")
            )
        })
        .collect();
    assert_eq!(urls, ["page_1 /b", "page_2 /a", "page_3 /c"]);
}
