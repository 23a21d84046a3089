//! No secret leaks: workflows full of secrets (inputs and captures; in URLs, headers, form and
//! JSON bodies, error messages, failed checks and body schemas) run against a server that echoes
//! them back in bodies, headers, `Location` and cookies, in every output mode and with every
//! report (HAR included). No secret may show in any form: raw, URL-encoded (`%20` or `+`, or
//! partly, as a URL parser leaves it), base64 (standard or URL-safe, padded or not),
//! JSON-escaped, HTML-escaped or shell-quoted, nor once a report's own escaping is undone.

use crate::support;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::json;
use support::{ROOT, Recorded, Reply, Server};

/// An input marked `secret: true`: quotes, a backslash, markup, URL and base64 specials, text
/// that is not ASCII, and a space.
const API_KEY: &str = r#"K3y <a&b> 'q' "d" \ /+=ü 1"#;
/// Secret by its name (`client_secret`), read from an `--env-file`.
const CLIENT_SECRET: &str = "cl1ent secret/+;~";
/// A Basic password, from the OS environment.
const PASSWORD: &str = "p@ss:w0rd~!";
/// A numeric secret, which minijinja's own messages would print.
const PIN: &str = "482913";
/// Captured from the token response (secret by its name).
const ACCESS_TOKEN: &str = r#"at.Zm9v+/= "bar" \x"#;
/// Captured from a cookie, marked `secret: true`.
const SESSION: &str = "sess-5ecr3t/cookie+=";
/// Sent only as `Basic base64(client_id:password)`.
const CLIENT_ID: &str = "app-1";

fn secrets() -> Vec<String> {
    let mut all: Vec<String> = [API_KEY, CLIENT_SECRET, PASSWORD, PIN, ACCESS_TOKEN, SESSION]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    all.push(STANDARD.encode(format!("{CLIENT_ID}:{PASSWORD}")));
    all.push(PROXY_PASSWORD.to_owned());
    all.push(STANDARD.encode(format!("proxyuser:{PROXY_PASSWORD}")));
    all
}

/// The password of `--proxy`'s URL.
const PROXY_PASSWORD: &str = "Pr0xy-Pa55w0rd";

/// Every form a secret takes on the wire and in reports.
fn forms(secret: &str) -> Vec<(&'static str, String)> {
    let percent = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    let json = serde_json::to_string(secret).expect("JSON");
    let json = json[1..json.len() - 1].to_owned();
    vec![
        ("raw", secret.to_owned()),
        ("percent-encoded", percent.clone()),
        ("percent-encoded with +", percent.replace("%20", "+")),
        (
            "form-encoded",
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        ),
        ("base64", STANDARD.encode(secret)),
        ("base64 without padding", STANDARD_NO_PAD.encode(secret)),
        ("base64url", URL_SAFE.encode(secret)),
        ("base64url without padding", URL_SAFE_NO_PAD.encode(secret)),
        ("JSON-escaped", json.clone()),
        ("HTML-escaped", html_escape(secret)),
        ("HTML-escaped JSON", html_escape(&json)),
        ("shell-quoted", secret.replace('\'', r"'\''")),
    ]
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Undoes HTML and XML escaping: named entities and numeric references.
fn html_unescape(text: &str) -> String {
    let entity =
        regex::Regex::new(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);").expect("a regex");
    entity
        .replace_all(text, |c: &regex::Captures<'_>| {
            let name = &c[1];
            match name {
                "amp" => "&".to_owned(),
                "lt" => "<".to_owned(),
                "gt" => ">".to_owned(),
                "quot" => "\"".to_owned(),
                "apos" => "'".to_owned(),
                _ => {
                    let code = name.strip_prefix("#x").map_or_else(
                        || name[1..].parse().ok(),
                        |hex| u32::from_str_radix(hex, 16).ok(),
                    );
                    code.and_then(char::from_u32)
                        .map_or_else(|| c[0].to_owned(), String::from)
                }
            }
        })
        .into_owned()
}

/// Every string inside a JSON document, unescaped.
fn json_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| json_strings(v, out)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                json_strings(v, out);
            }
        }
        _ => {}
    }
}

/// Asserts that no form of any secret is in `text`, nor in it once percent-decoded (which
/// catches a secret a URL parser encoded only in part).
fn assert_clean(place: &str, text: &str) {
    assert_clean_of(place, text, &secrets());
}

/// Asserts that no form of the given secrets is in `text`, as `assert_clean` does.
fn assert_clean_of(place: &str, text: &str, secrets: &[String]) {
    let decoded = percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned();
    let decoded_plus = percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned();
    for secret in secrets {
        let secret = secret.clone();
        for (form, value) in forms(&secret) {
            if let Some(at) = text.find(&value) {
                let start = text[..at]
                    .char_indices()
                    .rev()
                    .nth(80)
                    .map_or(0, |(i, _)| i);
                panic!(
                    "{place} leaks the {form} form of `{secret}`:\n…{}…",
                    &text[start..(at + value.len() + 40).min(text.len())]
                );
            }
        }
        for (how, text) in [
            ("percent-decoded", &decoded),
            ("form-decoded", &decoded_plus),
        ] {
            assert!(
                !text.contains(&secret),
                "{place} leaks `{secret}` once {how}:\n{text}"
            );
        }
    }
}

/// Checks a report file, and again once its own escaping is undone.
fn assert_report_clean(place: &str, text: &str) {
    assert_clean(place, text);
    if text.starts_with('{') {
        let document: serde_json::Value = serde_json::from_str(text).expect("a JSON report");
        let mut strings = Vec::new();
        json_strings(&document, &mut strings);
        for string in strings {
            assert_clean(&format!("a string in {place}"), &string);
        }
    } else {
        assert_clean(&format!("{place}, unescaped"), &html_unescape(text));
    }
}

/// The server: a token endpoint that sets a secret cookie and returns a secret token, endpoints
/// that echo back everything they received (and its base64) in the body and in headers, and a
/// redirect whose `Location` carries the secrets.
fn echo_server() -> Server {
    Server::start(|request: &Recorded| {
        let received = json!({
            "query": request.query,
            "body": request.body,
            "headers": request.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>(),
        })
        .to_string();
        let echo = |reply: Reply| {
            reply
                .header(
                    "x-echo-key",
                    &request
                        .header("x-api-key")
                        .unwrap_or("")
                        .replace(['\n', '\r'], ""),
                )
                .header(
                    "x-echo-b64",
                    &STANDARD.encode(request.header("x-api-key").unwrap_or("")),
                )
        };
        match request.path.as_str() {
            path if path.starts_with("/token/") => echo(Reply::json(
                200,
                &json!({ "access_token": ACCESS_TOKEN, "token_type": "Bearer", "received": received }),
            ))
            .header("set-cookie", &format!("session={SESSION}; Path=/")),
            "/redirect" => {
                let location = format!(
                    "/callback?code={}&key={}",
                    url::form_urlencoded::byte_serialize(ACCESS_TOKEN.as_bytes()).collect::<String>(),
                    url::form_urlencoded::byte_serialize(API_KEY.as_bytes()).collect::<String>()
                );
                Reply::redirect(302, &location)
            }
            _ => echo(Reply::json(
                200,
                &json!({
                    "echo": API_KEY,
                    "pin": PIN,
                    // The same secret as a number: masked, the JSON report stays JSON.
                    "pin_number": PIN.parse::<u64>().expect("a number"),
                    "token": ACCESS_TOKEN,
                    "b64": STANDARD.encode(API_KEY),
                    "received": received,
                }),
            )),
        }
    })
}

const WORKFLOW: &str = r#"name: full of secrets
inputs:
  base_url:
  closed_url:
  api_key: { secret: true }
  client_secret: { env: LEAK_CLIENT_SECRET }
  password: { env: LEAK_PASSWORD, secret: true }
  pin: { secret: true }
  client_id: { default: app-1 }
vars:
  combined: "{{ (client_id ~ ':' ~ client_secret) | b64encode }}"
defaults:
  timeout: 5s
steps:
  - name: get a token
    request:
      method: POST
      url: "{{ base_url }}/token/{{ client_secret }}?key={{ api_key }}"
      query: { pin: "{{ pin }}", again: "{{ api_key }}" }
      headers: { X-Api-Key: "{{ api_key }}", X-Combined: "{{ combined }}" }
      auth: { basic: { username: "{{ client_id }}", password: "{{ password }}" } }
      form: { grant_type: client_credentials, client_secret: "{{ client_secret }}", key: "{{ api_key }}" }
    expect:
      status: 200
    extract:
      access_token: $.access_token
      session: { cookie: session, secret: true }
  - name: send them as JSON
    request:
      method: PUT
      url: "{{ base_url }}/data/{{ access_token }}?session={{ session }}"
      headers: { X-Api-Key: "{{ api_key }}" }
      auth: { bearer: "{{ access_token }}" }
      json: { key: "{{ api_key }}", nested: { token: "{{ access_token }}", pin: "{{ pin }}" }, list: ["{{ session }}"] }
    expect:
      json: { "$.echo": "{{ api_key }}" }
  - name: upload them in a form
    request:
      method: POST
      url: "{{ base_url }}/upload"
      multipart:
        - key: "{{ api_key }}"
        - token: "{{ access_token }}"
        - doc: { file: upload.txt, filename: "{{ pin }}.txt", content_type: "text/{{ pin }}" }
  - name: send them through a template file
    request:
      method: POST
      url: "{{ base_url }}/template"
      body: { template: body.json.j2 }
  - name: follow a redirect that carries them
    request:
      url: "{{ base_url }}/redirect"
      follow_redirects: true
    extract:
      code: { header: Location, query: code }
finally:
  - name: a JSON expectation that fails
    request: { url: "{{ base_url }}/echo?key={{ api_key }}", headers: { X-Api-Key: "{{ api_key }}" } }
    expect:
      json: { "$.echo": "not the key" }
  - name: a check that fails
    if: access_token is defined
    request: { url: "{{ base_url }}/echo", headers: { X-Api-Key: "{{ api_key }}" } }
    expect:
      checks:
        - json.echo == api_key ~ 'x'
        - json.token != access_token
  - name: a header expectation that fails
    request: { url: "{{ base_url }}/echo", headers: { X-Api-Key: "{{ api_key }}" } }
    expect:
      headers: { X-Echo-Key: "{{ api_key }}!" }
  - name: a check whose error names the secret
    request: { url: "{{ base_url }}/echo" }
    expect:
      checks:
        - (pin | int) // 0 > 1
  - name: a body schema that fails on secret values
    request: { url: "{{ base_url }}/echo", headers: { X-Api-Key: "{{ api_key }}" } }
    expect:
      schema:
        type: object
        properties:
          echo: { type: integer }
          token: { enum: [nothing] }
          pin: { type: object }
          received: { maxLength: 3 }
  - name: a capture that fails
    if: access_token is defined
    request: { url: "{{ base_url }}/echo?token={{ access_token }}" }
    extract:
      nothing: { regex: "no such text" }
  - name: a request that cannot connect
    if: access_token is defined
    request: { url: "{{ closed_url }}/users/{{ client_secret }}?key={{ api_key }}&token={{ access_token }}" }
"#;

/// A run of the binary: exit code, stdout, stderr and each report file.
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
    reports: Vec<(String, String)>,
}

fn run_binary(dir: &Path, workflow: &str, args: &[&str], vars: &[(&str, String)]) -> Output {
    run_binary_with(dir, workflow, args, vars, &[])
}

/// Runs the binary as [`run_binary`] does, with more environment variables.
fn run_binary_with(
    dir: &Path,
    workflow: &str,
    args: &[&str],
    vars: &[(&str, String)],
    env: &[(&str, &str)],
) -> Output {
    let file = dir.join("secrets.yaml");
    std::fs::write(&file, workflow).expect("written");
    // The files its requests send: the user's data, not secrets, and a template of them.
    std::fs::write(dir.join("upload.txt"), "plain data\n").expect("written");
    std::fs::write(
        dir.join("body.json.j2"),
        r#"{"key": "{{ api_key }}", "pin": "{{ pin }}", "token": "{{ access_token }}"}"#,
    )
    .expect("written");
    let env_file = dir.join("secrets.env");
    std::fs::write(&env_file, format!("LEAK_CLIENT_SECRET='{CLIENT_SECRET}'\n")).expect("written");
    // As a step of GitHub Actions: the annotations print on stdout, the step summary is a
    // report of its own.
    let summary = dir.join("step-summary.md");
    let _ = std::fs::remove_file(&summary);
    let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("the binary is built");
    command
        .current_dir(ROOT)
        .env("LEAK_PASSWORD", PASSWORD)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env_remove("LEAK_CLIENT_SECRET")
        .envs(env.iter().copied())
        .arg("run")
        .arg(&file)
        .arg("--env-file")
        .arg(&env_file);
    for (name, value) in vars {
        command.arg("--var").arg(format!("{name}={value}"));
    }
    let mut reports = vec![summary];
    for format in ["junit", "json", "html", "har", "markdown"] {
        let path = dir.join(format!("report.{format}"));
        let _ = std::fs::remove_file(&path);
        command
            .arg("--report")
            .arg(format!("{format}={}", path.display()));
        reports.push(path);
    }
    let out = command.args(args).output().expect("the binary runs");
    Output {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8"),
        reports: reports
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                (
                    path.file_name()
                        .expect("a name")
                        .to_string_lossy()
                        .into_owned(),
                    text,
                )
            })
            .collect(),
    }
}

fn vars(server: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("base_url", server.url.clone()),
        (
            "closed_url",
            format!("http://127.0.0.1:{}", support::closed_port()),
        ),
        ("api_key", API_KEY.to_owned()),
        ("pin", PIN.to_owned()),
    ]
}

#[test]
fn no_secret_shows_in_any_output_mode_or_report() {
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    for mode in [&[][..], &["-v"], &["--curl"], &["-v", "--curl"]] {
        let out = run_binary(dir.path(), WORKFLOW, mode, &vars(&server));
        let place = |what: &str| format!("{what} of `run {}`", mode.join(" "));
        assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
        // The run did go through every step, with the real values on the wire.
        assert!(out.stdout.contains("0 passed, 0 failed") || out.stdout.contains("failed"));
        for step in [
            "a request that cannot connect",
            "a capture that fails",
            "a check whose error names the secret",
        ] {
            assert!(out.stdout.contains(step), "{}", out.stdout);
        }
        assert_clean(&place("stdout"), &out.stdout);
        assert_clean(&place("stderr"), &out.stderr);
        for (name, text) in &out.reports {
            assert!(!text.is_empty(), "{name} was written");
            assert_report_clean(&place(name), text);
        }
    }
    let token = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/token/cl1ent%20secret/+;~")
        .expect("the token step ran");
    assert_eq!(token.header("x-api-key"), Some(API_KEY));
    assert!(
        token
            .body
            .contains("client_secret=cl1ent+secret%2F%2B%3B%7E"),
        "{}",
        token.body
    );
    let upload = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/upload")
        .expect("the form step ran");
    assert!(upload.body.contains(API_KEY) && upload.body.contains(ACCESS_TOKEN));
    assert!(upload.body.contains(&format!("filename=\"{PIN}.txt\"")));
    let template = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/template")
        .expect("the template step ran");
    assert!(template.body.contains(PIN) && template.body.contains(ACCESS_TOKEN));
    let data = server
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("the JSON step ran");
    assert_eq!(
        data.header("authorization").map(str::to_owned),
        Some(format!("Bearer {ACCESS_TOKEN}"))
    );
}

#[test]
fn a_load_runs_live_view_and_summary_show_no_secret() {
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    // 6 iterations over 300ms, a plain line every 50ms, and a threshold at risk from the start.
    let args = [
        "--rate",
        "20/s",
        "--duration",
        "300ms",
        "-c",
        "2",
        "--threshold",
        "p95<1us",
    ];
    let env = [("APIFLOW_LIVE", "plain:50ms")];
    let out = run_binary_with(dir.path(), WORKFLOW, &args, &vars(&server), &env);
    assert!(
        out.stderr.contains("live: ") && out.stderr.contains("at risk: p95<1us (p95 "),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains("phases (mean)"), "{}", out.stdout);
    assert_clean("stdout of a load run", &out.stdout);
    assert_clean("the live view of a load run", &out.stderr);
    for (name, text) in &out.reports {
        assert_report_clean(&format!("{name} of a load run"), text);
    }
}

#[test]
fn a_password_written_in_a_url_is_masked_and_sent_as_basic_auth() {
    let server = Server::start(|_: &Recorded| Reply::json(200, &json!({ "ok": true })));
    let dir = tempfile::tempdir().expect("a temporary directory");
    // Not declared secret anywhere: a password in a URL is one by its place.
    let workflow = "name: userinfo\ninputs:\n  base_url:\nsteps:\n  - name: fetch\n    request: { url: \"{{ base_url }}/echo\" }\n    expect: { status: 201 }\n";
    let password =
        percent_encoding::utf8_percent_encode(PASSWORD, percent_encoding::NON_ALPHANUMERIC);
    let url = server
        .url
        .replace("http://", &format!("http://{CLIENT_ID}:{password}@"));
    for mode in [&[][..], &["-v", "--curl"]] {
        let out = run_binary(dir.path(), workflow, mode, &[("base_url", url.clone())]);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("@127.0.0.1"), "{}", out.stdout);
        assert_clean("stdout", &out.stdout);
        assert_clean("stderr", &out.stderr);
        for (name, text) in &out.reports {
            assert_report_clean(name, text);
        }
    }
    let sent = server.requests().pop().expect("the step ran");
    assert_eq!(
        sent.header("authorization").map(str::to_owned),
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{CLIENT_ID}:{PASSWORD}"))
        ))
    );
}

#[test]
fn a_password_in_a_url_that_does_not_decode_to_text_is_masked_as_written() {
    let server = Server::start(|_: &Recorded| Reply::json(200, &json!({ "ok": true })));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let workflow = "name: userinfo\ninputs:\n  base_url:\nsteps:\n  - name: fetch\n    request: { url: \"{{ base_url }}/echo\" }\n";
    let url = server.url.replace("http://", "http://user:%FF%FEpw@");
    for mode in [&[][..], &["-v", "--curl"]] {
        let out = run_binary(dir.path(), workflow, mode, &[("base_url", url.clone())]);
        assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("user:••••@127.0.0.1"), "{}", out.stdout);
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains("%FF%FEpw"), "{text}");
        }
        for (name, text) in &out.reports {
            assert!(!text.contains("%FF%FEpw"), "{name}: {text}");
        }
    }
}

#[test]
fn show_secrets_shows_them_in_curl_lines_only() {
    // The detector works: with `--show-secrets` the curl lines carry the real key, while the
    // step lines and the reports stay masked.
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = run_binary(
        dir.path(),
        WORKFLOW,
        &["--curl", "--show-secrets"],
        &vars(&server),
    );
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    let (curl, rest): (Vec<&str>, Vec<&str>) = out
        .stdout
        .lines()
        .partition(|line| line.trim_start().starts_with("$ curl"));
    assert!(
        curl.iter()
            .any(|line| line.contains(&API_KEY.replace('\'', r"'\''")))
    );
    assert_clean("stdout without its curl lines", &rest.join("\n"));
    for (name, text) in &out.reports {
        assert_report_clean(name, text);
    }
}

#[test]
fn errors_before_the_first_request_do_not_show_secrets() {
    // A var and an input default that fail on a secret value: minijinja's messages print the
    // operands, and these errors are printed before any step runs.
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let var_fails = "name: a var fails\ninputs:\n  base_url:\n  closed_url:\n  api_key: { secret: true }\n  pin: { secret: true }\n  client_secret: { env: LEAK_CLIENT_SECRET }\nvars:\n  half: \"{{ (pin | int) // 0 }}\"\nsteps:\n  - name: fetch\n    request: { url: \"{{ base_url }}/{{ half }}\" }\n";
    let out = run_binary(dir.path(), var_fails, &["-v"], &vars(&server));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("// 0"), "{}", out.stderr);
    assert_clean("stderr of a failing var", &out.stderr);
    assert_clean("stdout of a failing var", &out.stdout);

    let default_fails = "name: a default fails\ninputs:\n  base_url:\n  closed_url:\n  api_key: { secret: true }\n  pin: { secret: true }\n  client_secret: { env: LEAK_CLIENT_SECRET }\n  half: { default: \"{{ (pin | int) // 0 }}\" }\nsteps:\n  - name: fetch\n    request: { url: \"{{ base_url }}/{{ half }}\" }\n";
    let out = run_binary(dir.path(), default_fails, &[], &vars(&server));
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("cannot compute the default"),
        "{}",
        out.stderr
    );
    assert_clean("stderr of a failing default", &out.stderr);
    assert_clean("stdout of a failing default", &out.stdout);
}

#[test]
fn a_client_key_passphrase_does_not_show_when_it_is_wrong_or_fails_to_render() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for file in ["ec.pem", "ec-encrypted.key"] {
        std::fs::copy(
            format!("{ROOT}/tests/data/mtls/{file}"),
            dir.path().join(file),
        )
        .expect("copied");
    }
    let workflow = |passphrase: &str| {
        format!(
            "name: a passphrase\ninputs:\n  base_url:\n  closed_url:\n  api_key: {{ secret: true }}\n  pin: {{ secret: true }}\n  client_secret: {{ env: LEAK_CLIENT_SECRET }}\ndefaults:\n  tls: {{ cert: ec.pem, key: ec-encrypted.key, passphrase: \"{passphrase}\" }}\nsteps:\n  - name: fetch\n    request: {{ url: \"{{{{ base_url }}}}/\" }}\n"
        )
    };
    let server = echo_server();
    for (passphrase, says) in [
        ("{{ pin }}", "the passphrase does not decrypt the key"),
        ("{{ (pin | int) // 0 }}", "cannot render a template"),
    ] {
        let out = run_binary(dir.path(), &workflow(passphrase), &["-v"], &vars(&server));
        assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(says), "{}", out.stderr);
        assert_clean("stderr of a wrong passphrase", &out.stderr);
        assert_clean("stdout of a wrong passphrase", &out.stdout);
        assert!(server.requests().is_empty());
    }
}

/// A Digest password and AWS credentials, from inputs that are not marked secret: a credential
/// is one by its place.
const DIGEST_PASSWORD: &str = "Circle of Life";
const AWS_SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const AWS_SESSION_TOKEN: &str = "FQoGZXIvYXdzEXAMPLEtoken/+=";

const AUTH_WORKFLOW: &str = r#"name: digest and aws
inputs:
  base_url:
  digest_password:
  aws_secret:
  aws_token:
steps:
  - name: digest
    request:
      url: "{{ base_url }}/digest"
      auth: { digest: { username: Mufasa, password: "{{ digest_password }}" } }
    expect: { status: 200 }
  - name: aws
    request:
      method: POST
      url: "{{ base_url }}/aws"
      json: { hello: world }
      auth:
        aws_sigv4:
          access_key: AKIDEXAMPLE
          secret_key: "{{ aws_secret }}"
          session_token: "{{ aws_token }}"
          region: us-east-1
          service: s3
    expect: { status: 200 }
finally:
  - name: digest fails
    request:
      url: "{{ base_url }}/digest"
      auth: { digest: { username: Mufasa, password: "{{ digest_password }}" } }
    expect: { status: 299 }
  - name: aws fails
    request:
      url: "{{ base_url }}/aws"
      auth: { aws_sigv4: { access_key: AKIDEXAMPLE, secret_key: "{{ aws_secret }}", session_token: "{{ aws_token }}", region: us-east-1, service: execute-api } }
    expect:
      checks:
        - json.received == 'something else'
"#;

#[test]
fn digest_and_aws_sigv4_credentials_and_what_is_computed_from_them_do_not_show() {
    // The server challenges, then echoes every header it received, `Authorization` and
    // `X-Amz-Security-Token` included, in its body and in a header of its answer.
    let server = Server::start(|request: &Recorded| {
        let authorization = request.header("authorization").unwrap_or("").to_owned();
        if request.path == "/digest" && authorization.is_empty() {
            return Reply::status(401).header(
                "www-authenticate",
                r#"Digest realm="leaks", qop="auth", algorithm=SHA-256, nonce="abc", opaque="xyz""#,
            );
        }
        let received: Vec<String> = request
            .headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        Reply::json(
            200,
            &json!({ "received": received, "authorization": authorization }),
        )
        .header("x-echo-authorization", &authorization)
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    let vars = vec![
        ("base_url", server.url.clone()),
        ("digest_password", DIGEST_PASSWORD.to_owned()),
        ("aws_secret", AWS_SECRET_KEY.to_owned()),
        ("aws_token", AWS_SESSION_TOKEN.to_owned()),
    ];
    let mut outputs = Vec::new();
    for mode in [&[][..], &["-v"], &["--curl"], &["-v", "--curl"]] {
        let out = run_binary(dir.path(), AUTH_WORKFLOW, mode, &vars);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
        outputs.push((mode.join(" "), out));
    }
    // What the credentials computed, as the server received it: every `Authorization` value,
    // and the Digest `response` and AWS `Signature` inside them.
    let mut secrets: Vec<String> = vec![
        DIGEST_PASSWORD.to_owned(),
        AWS_SECRET_KEY.to_owned(),
        AWS_SESSION_TOKEN.to_owned(),
    ];
    let response =
        regex::Regex::new(r#"response="([0-9a-f]+)"|Signature=([0-9a-f]+)"#).expect("a regex");
    for request in server.requests() {
        let Some(authorization) = request.header("authorization") else {
            continue;
        };
        let credential = authorization.split_once(' ').expect("a scheme").1;
        secrets.push(credential.to_owned());
        let computed = response
            .captures(authorization)
            .expect("a response or signature");
        secrets.push(
            computed
                .iter()
                .skip(1)
                .flatten()
                .next()
                .expect("one")
                .as_str()
                .to_owned(),
        );
    }
    // Four authenticated requests in each of the four runs.
    assert_eq!(secrets.len(), 3 + 2 * 4 * 4, "{secrets:?}");
    for (mode, out) in &outputs {
        let place = |what: &str| format!("{what} of `run {mode}`");
        assert!(out.stdout.contains("digest fails"), "{}", out.stdout);
        assert_clean_of(&place("stdout"), &out.stdout, &secrets);
        assert_clean_of(&place("stderr"), &out.stderr, &secrets);
        for (name, text) in &out.reports {
            assert!(!text.is_empty(), "{name} was written");
            assert_clean_of(&place(name), text, &secrets);
        }
    }
}

#[test]
fn a_proxy_password_shows_nowhere_whether_the_proxy_answers_or_not() {
    let server = echo_server();
    let proxy = support::proxy::Proxy::http();
    let dir = tempfile::tempdir().expect("a temporary directory");
    for port in [proxy.port, support::closed_port()] {
        let through = format!("http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:{port}");
        for mode in [&["-v"][..], &["--curl"], &["-v", "--curl"]] {
            let mut args = vec!["--proxy", through.as_str()];
            args.extend_from_slice(mode);
            let out = run_binary(dir.path(), WORKFLOW, &args, &vars(&server));
            let place =
                |what: &str| format!("{what} of `run {}` (proxy on {port})", mode.join(" "));
            assert!(out.code > 0, "{}\n{}", out.stdout, out.stderr);
            assert_clean(&place("stdout"), &out.stdout);
            assert_clean(&place("stderr"), &out.stderr);
            for (name, text) in &out.reports {
                assert_report_clean(&place(name), text);
            }
        }
    }
    // The proxy was used, with the password on the wire.
    let asked = proxy.asked();
    assert!(!asked.is_empty());
    let credential = STANDARD.encode(format!("proxyuser:{PROXY_PASSWORD}"));
    assert!(
        asked
            .iter()
            .all(|a| a.credentials.as_deref() == Some(&*format!("Basic {credential}"))),
        "{asked:?}"
    );
}

/// An EC P-256 private key (the key of RFC 7515, appendix A.3) as SEC1 PEM: a secret input.
const EC_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEII6bEJ5xkJi/mASH3x9dd+nLKWBuvtImO19XwhPfhPSyoAoGCCqGSM49
AwEHoUQDQgAEf83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEXH8UTNG72b
focs3+257rn0s2ldbqkLJK2KRiMohYjlrQ==
-----END EC PRIVATE KEY-----";

const SIGNING: &str = r#"name: signed assertions
inputs:
  base_url:
  private_key: { secret: true }
vars:
  # Signed with a key written in the file, not a secret input: still a credential.
  hs_assertion: "{{ jwt_sign({'iss': 'app', 'sub': 'app'}, 'a literal shared key', 'HS256') }}"
steps:
  - name: get a token with an assertion
    request:
      method: POST
      url: "{{ base_url }}/token/jwt"
      headers: { X-Assertion: "{{ hs_assertion }}" }
      form:
        client_id: app
        client_assertion: "{{ jwt_sign({'iss': 'app', 'sub': 'app', 'jti': uuid()}, private_key, 'ES256', {'kid': 'k1'}) }}"
    expect:
      status: 200
  - name: a check on the assertion that fails
    request:
      url: "{{ base_url }}/echo"
      headers: { X-Assertion: "{{ hs_assertion }}" }
    expect:
      checks:
        - json.token == hs_assertion
finally:
  - name: a key of the wrong kind
    request:
      url: "{{ base_url }}/echo"
      headers: { X-Assertion: "{{ jwt_sign({'iss': 'app'}, private_key, 'RS256') }}" }
"#;

#[test]
fn signed_assertions_and_their_keys_never_show() {
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let vars = [
        ("base_url", server.url.clone()),
        ("private_key", EC_KEY.to_owned()),
    ];
    let mut outputs = Vec::new();
    for mode in [&[][..], &["-v"], &["-v", "--curl"]] {
        let out = run_binary(dir.path(), SIGNING, mode, &vars);
        assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout
                .contains("`RS256` cannot sign with this key: it is an EC P-256 key"),
            "{}",
            out.stdout
        );
        outputs.push((mode.join(" "), out));
    }
    // What the server received: the assertions, as sent.
    let mut assertions = vec![EC_KEY.to_owned()];
    for request in server.requests() {
        assertions.extend(request.header("x-assertion").map(str::to_owned));
        let form = url::form_urlencoded::parse(request.body.as_bytes());
        assertions.extend(
            form.filter(|(k, _)| k == "client_assertion")
                .map(|(_, v)| v.into_owned()),
        );
    }
    assert_eq!(assertions.len(), 1 + 3 * 3, "{assertions:?}");
    for (mode, out) in &outputs {
        let mut texts = vec![
            ("stdout".to_owned(), &out.stdout),
            ("stderr".to_owned(), &out.stderr),
        ];
        texts.extend(out.reports.iter().map(|(name, text)| (name.clone(), text)));
        for (name, text) in texts {
            assert_clean_of(&format!("{name} of `run {mode}`"), text, &assertions);
            // Nor a line of the PEM key on its own.
            for line in EC_KEY.lines().filter(|l| !l.starts_with("-----")) {
                assert!(
                    !text.contains(line),
                    "{name} of `run {mode}` shows the key:\n{text}"
                );
            }
        }
    }
}

#[test]
fn a_secret_named_cookie_from_the_cookie_jar_never_shows() {
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let jar = dir.path().join("cookies.txt");
    std::fs::write(
        &jar,
        format!("127.0.0.1\tFALSE\t/\tFALSE\t0\tsession_token\t{SESSION}\n"),
    )
    .expect("written");
    let jar = jar.display().to_string();
    let out = run_binary(
        dir.path(),
        WORKFLOW,
        &["-v", "--curl", "--cookie-jar", &jar],
        &vars(&server),
    );
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    // It was sent, and echoed back in bodies and headers.
    let echoed = server.requests().into_iter().any(|r| {
        r.header("cookie")
            .is_some_and(|c| c.contains(&format!("session_token={SESSION}")))
    });
    assert!(echoed);
    assert_clean("stdout of `run --cookie-jar`", &out.stdout);
    assert_clean("stderr of `run --cookie-jar`", &out.stderr);
    for (name, text) in &out.reports {
        assert_report_clean(&format!("{name} of `run --cookie-jar`"), text);
    }
    // The file keeps it as it is.
    let saved = std::fs::read_to_string(&jar).expect("saved");
    assert!(
        saved.contains(&format!("\tsession_token\t{SESSION}\n")),
        "{saved}"
    );
}

/// A value `--environment` marks `type: secret`, for an input whose name does not sound secret.
const LABEL: &str = "env-l4bel s/+=";

#[test]
fn a_secret_value_of_an_environment_export_never_shows() {
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let environment = dir.path().join("env.json");
    let values = json!({
        "name": "leaks",
        "values": [
            { "key": "label", "value": LABEL, "type": "secret", "enabled": true },
            { "key": "base_url", "value": server.url, "enabled": true }
        ],
        "_postman_variable_scope": "environment"
    });
    std::fs::write(&environment, values.to_string()).expect("written");
    let environment = environment.display().to_string();
    // Echoed back by the server, then a failed expectation prints the exchange.
    let workflow = "name: environment secret
inputs:
  base_url: ~
  label: ~
steps:
  - name: echo
    request:
      url: \"{{ base_url }}/echo?label={{ label }}\"
      headers: { X-Api-Key: \"{{ label }}\" }
    expect:
      status: 201
";
    let out = run_binary(
        dir.path(),
        workflow,
        &["-v", "--curl", "--environment", &environment],
        &[],
    );
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.header("x-api-key") == Some(LABEL))
    );
    let secrets = [LABEL.to_owned()];
    let flow = dir.path().join("secrets.yaml").display().to_string();
    let plan = assert_cmd::Command::cargo_bin("apiflow")
        .expect("the binary is built")
        .env_remove("GITHUB_ACTIONS")
        .args(["plan", &flow, "--environment", &environment])
        .output()
        .expect("the binary runs");
    assert!(plan.status.success());
    assert!(String::from_utf8_lossy(&plan.stdout).contains("  label    = ••••\n"));
    assert_clean_of(
        "stdout of `plan --environment`",
        &String::from_utf8_lossy(&plan.stdout),
        &secrets,
    );
    assert_clean_of("stdout of `run --environment`", &out.stdout, &secrets);
    assert_clean_of("stderr of `run --environment`", &out.stderr, &secrets);
    for (name, text) in &out.reports {
        assert_clean_of(&format!("{name} of `run --environment`"), text, &secrets);
    }
}

#[test]
fn a_jump_to_a_step_named_by_a_secret_does_not_show_it() {
    // `next:` renders a secret; no step has that name, so the failure names what it rendered.
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let workflow = "name: a jump to a secret\ninputs:\n  base_url:\n  closed_url:\n  api_key: { secret: true }\n  pin: { secret: true }\n  client_secret: { env: LEAK_CLIENT_SECRET }\nsteps:\n  - name: fetch\n    on_failure: continue\n    request: { url: \"{{ base_url }}/a\" }\n    next: \"{{ pin }}\"\n  - name: after\n    request: { url: \"{{ base_url }}/b?key={{ api_key }}\" }\n";
    let out = run_binary(dir.path(), workflow, &["-v"], &vars(&server));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("asks to go on at step `••••`"),
        "{}",
        out.stdout
    );
    // The server answers with a token this workflow does not know as a secret: check the
    // workflow's own secrets.
    let own = [API_KEY.to_owned(), PIN.to_owned()];
    assert_clean_of("stdout of a jump to a secret", &out.stdout, &own);
    assert_clean_of("stderr of a jump to a secret", &out.stderr, &own);
    for (name, text) in &out.reports {
        assert_clean_of(name, text, &own);
    }
}

/// Reads secrets in scripts, derives values from them and from a response that holds them, and
/// prints them in console lines, test names, assertion messages and an exception.
const SCRIPTS: &str = r#"name: scripts full of secrets
inputs:
  base_url: {}
  closed_url: {}
  api_key: { secret: true }
  pin: { secret: true }
steps:
  - name: derive
    request:
      url: "{{ base_url }}/echo"
      headers:
        X-Api-Key: "{{ api_key }}"
    script:
      before: |
        var key = pm.environment.get("api_key");
        pm.environment.set("reversed", key.split("").reverse().join(""));
        console.log("the key is", key, "reversed", pm.environment.get("reversed"));
        pm.request.headers.add({ key: "X-Reversed", value: pm.environment.get("reversed") });
      after: |
        var body = pm.response.json();
        pm.collectionVariables.set("from_response", "r-" + body.pin.split("").reverse().join(""));
        console.log("body", responseBody, pm.collectionVariables.get("from_response"));
        pm.test("key " + pm.environment.get("api_key"), function () {});
  - name: show
    request:
      url: "{{ base_url }}/echo?r={{ reversed }}&f={{ from_response }}"
    script:
      after: |
        pm.test("reversed is the pin", function () {
          pm.expect(pm.variables.get("reversed")).to.eql(pm.variables.get("from_response"));
        });
finally:
  - name: clean up
    request:
      url: "{{ base_url }}/echo"
    script:
      after: |
        throw new Error("failed with " + pm.variables.get("reversed") + " " + pm.variables.get("pin"));
"#;

#[test]
fn what_scripts_read_print_and_derive_from_secrets_never_shows() {
    let server = echo_server();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let out = run_binary(dir.path(), SCRIPTS, &["-v", "--curl"], &vars(&server));
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let reversed: String = API_KEY.chars().rev().collect();
    let from_response = format!("r-{}", PIN.chars().rev().collect::<String>());
    // The derived values were sent, so the scripts ran as written.
    let sent = server.requests();
    assert_eq!(sent[0].header("x-reversed"), Some(reversed.as_str()));
    assert!(
        sent[1]
            .query
            .as_deref()
            .is_some_and(|q| q.contains("f=r-319284"))
    );
    // The console lines and the failures are there, masked.
    assert!(
        out.stdout.contains("console.log: the key is ••••"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("failed with •••• ••••"),
        "{}",
        out.stdout
    );
    let secrets = [API_KEY.to_owned(), PIN.to_owned(), reversed, from_response];
    assert_clean_of("stdout of a run with scripts", &out.stdout, &secrets);
    assert_clean_of("stderr of a run with scripts", &out.stderr, &secrets);
    for (name, text) in &out.reports {
        assert_clean_of(&format!("{name} of a run with scripts"), text, &secrets);
        if text.starts_with('{') {
            let document: serde_json::Value = serde_json::from_str(text).expect("JSON");
            let mut strings = Vec::new();
            json_strings(&document, &mut strings);
            for string in strings {
                assert_clean_of(&format!("a string in {name}"), &string, &secrets);
            }
        } else {
            assert_clean_of(
                &format!("{name}, unescaped"),
                &html_unescape(text),
                &secrets,
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pingone_arazzo_document_shows_no_password_input() {
    let emulator = apiflow_pingone::Emulator::start(0, apiflow_pingone::Options::default())
        .await
        .expect("emulator starts");
    let info = emulator.info().clone();
    // A password the Standard policy accepts, with characters every escaping changes.
    let password = "Pw<1>&'\"/+= ü";
    let secrets = vec![info.worker_client_secret.clone(), password.to_owned()];
    let dir = tempfile::tempdir().expect("a temporary folder");
    let reports: Vec<std::path::PathBuf> = ["junit", "json", "html", "har"]
        .iter()
        .map(|format| dir.path().join(format!("report.{format}")))
        .collect();
    let mut args: Vec<String> = [
        "run",
        "workflows/refresh_token.arazzo.yaml",
        "-v",
        "--curl",
        "--server",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("pingone={}", info.auth_base));
    for (name, value) in [
        ("env_id", info.env_id.as_str()),
        ("worker_client_id", info.worker_client_id.as_str()),
        ("worker_client_secret", info.worker_client_secret.as_str()),
        ("user_password", password),
    ] {
        args.push("--var".to_owned());
        args.push(format!("{name}={value}"));
    }
    for (format, path) in ["junit", "json", "html", "har"].iter().zip(&reports) {
        args.push("--report".to_owned());
        args.push(format!("{format}={}", path.display()));
    }
    let out = tokio::task::spawn_blocking(move || {
        assert_cmd::Command::cargo_bin("apiflow")
            .expect("the binary is built")
            .env_remove("GITHUB_ACTIONS")
            .current_dir(ROOT)
            .args(&args)
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("the run ends");
    emulator.shutdown().await;
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert_clean_of("stdout", &stdout, &secrets);
    assert_clean_of("stderr", &stderr, &secrets);
    for path in &reports {
        let text = std::fs::read_to_string(path).expect("a report");
        assert_clean_of(&path.display().to_string(), &text, &secrets);
    }
}

#[test]
fn a_response_checked_against_an_openapi_operation_does_not_show_secrets() {
    // The secret goes into a path parameter; the body breaks the schema with secrets in it,
    // which the violations would quote.
    let server = Server::start(|_: &Recorded| {
        Reply::json(200, &json!({ "id": PIN, "name": 7, "key": API_KEY }))
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("api.yaml"),
        "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths:\n  /pets/{petId}:\n    get:\n      operationId: showPet\n      parameters:\n        - { name: petId, in: path, required: true }\n      responses:\n        '200':\n          description: a pet\n          content:\n            application/json:\n              schema:\n                type: object\n                properties:\n                  id: { type: integer }\n                  name: { type: string }\n                  key: { type: integer }\n",
    )
    .expect("written");
    let workflow = "name: an operation with secrets\nopenapi: api.yaml\ninputs:\n  base_url:\n  closed_url:\n  api_key: { secret: true }\n  pin: { secret: true }\n  client_secret: { env: LEAK_CLIENT_SECRET }\nsteps:\n  - name: show\n    operation: showPet\n    request:\n      url: \"{{ base_url }}\"\n      path_params: { petId: \"{{ api_key }}\" }\n";
    for mode in ["error", "warn"] {
        let out = run_binary(
            dir.path(),
            workflow,
            &["-v", "--openapi-checks", mode],
            &vars(&server),
        );
        assert!(
            out.stdout
                .contains("the body does not match the response schema of `showPet`"),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        let own = [API_KEY.to_owned(), PIN.to_owned()];
        assert_clean_of(&format!("stdout with {mode}"), &out.stdout, &own);
        assert_clean_of(&format!("stderr with {mode}"), &out.stderr, &own);
        for (name, text) in &out.reports {
            assert_clean_of(name, text, &own);
        }
    }
}

#[test]
fn the_fapi_par_example_shows_no_code_token_or_verifier() {
    // The code comes from a redirect (`x-apiflow.extract`), the tokens from a secret output
    // holding the whole token response.
    use crate::arazzo_examples::{FAPI_SECRETS, fapi_args, fapi_server};
    let server = fapi_server();
    let dir = tempfile::tempdir().expect("a temporary folder");
    let reports: Vec<std::path::PathBuf> = ["junit", "json", "html", "har"]
        .iter()
        .map(|format| dir.path().join(format!("report.{format}")))
        .collect();
    let mut args = vec!["run".to_owned(), "-v".to_owned(), "--curl".to_owned()];
    args.extend(fapi_args(&server));
    for (format, path) in ["junit", "json", "html", "har"].iter().zip(&reports) {
        args.push("--report".to_owned());
        args.push(format!("{format}={}", path.display()));
    }
    let out = assert_cmd::Command::cargo_bin("apiflow")
        .expect("the binary is built")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(ROOT)
        .args(&args)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8");
    let stderr = String::from_utf8(out.stderr).expect("UTF-8");
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let secrets: Vec<String> = FAPI_SECRETS.iter().map(|s| (*s).to_owned()).collect();
    assert_clean_of("stdout", &stdout, &secrets);
    assert_clean_of("stderr", &stderr, &secrets);
    for path in &reports {
        let text = std::fs::read_to_string(path).expect("a report");
        assert_clean_of(&path.display().to_string(), &text, &secrets);
    }
    let json = std::fs::read_to_string(&reports[1]).expect("the JSON report");
    assert!(
        serde_json::from_str::<serde_json::Value>(&json).is_ok(),
        "{json}"
    );
}

/// The authorization code of the Arazzo document's redirect.
const CODE: &str = "c0de-5ecr3t/+= ü";

const ARAZZO_API: &str = r"openapi: 3.1.0
info: { title: secrets, version: '1' }
servers: [{ url: 'http://127.0.0.1:9' }]
paths:
  /token:
    post:
      operationId: token
      requestBody:
        content:
          application/x-www-form-urlencoded: { schema: { type: object } }
      responses:
        '200': { description: a token }
  /authorize:
    get:
      operationId: authorize
      parameters:
        - { name: key, in: query, schema: { type: string } }
      responses:
        '302': { description: to the client }
  /echo:
    post:
      operationId: echo
      parameters:
        - { name: X-Api-Key, in: header, schema: { type: string } }
      requestBody:
        content:
          application/json: { schema: { type: object } }
      responses:
        '200':
          description: what it received
          content:
            application/json:
              schema:
                type: object
                properties:
                  echo: { type: integer }
                  code: { enum: [nothing] }
                  token: { maxLength: 3 }
";

/// The description of a server that is not there.
const ARAZZO_CLOSED_API: &str = r"openapi: 3.1.0
info: { title: closed, version: '1' }
servers: [{ url: 'http://127.0.0.1:9' }]
paths:
  /down/{token}:
    get:
      operationId: down
      parameters:
        - { name: token, in: path, required: true, schema: { type: string } }
        - { name: key, in: query, schema: { type: string } }
        - { name: code, in: query, schema: { type: string } }
      responses:
        '200': { description: never }
";

const ARAZZO_DOCUMENT: &str = r"arazzo: 1.1.0
info: { title: full of secrets, version: 1.0.0 }
sourceDescriptions:
  - { name: api, url: ./api.openapi.yaml, type: openapi }
  - { name: closed, url: ./closed.openapi.yaml, type: openapi }
workflows:
  - workflowId: signIn
    inputs:
      type: object
      properties:
        user: { type: string }
        password: { type: string, format: password, x-apiflow-env: LEAK_PASSWORD }
        api_key: { type: string, format: password }
    steps:
      - stepId: token
        operationId: $sourceDescriptions.api.token
        x-security:
          - scheme: { type: http, scheme: basic }
            values: { username: $inputs.user, password: $inputs.password }
        requestBody:
          contentType: application/x-www-form-urlencoded
          payload: { grant_type: password, password: $inputs.password, key: $inputs.api_key }
        successCriteria:
          - condition: $statusCode == 200
        outputs:
          access_token: $response.body#/access_token
      - stepId: authorize
        operationId: $sourceDescriptions.api.authorize
        parameters:
          - { name: key, in: query, value: $inputs.api_key }
        x-security:
          - scheme: { type: http, scheme: bearer }
            values: { token: $steps.token.outputs.access_token }
        successCriteria:
          - condition: $statusCode == 302
        x-apiflow:
          extract:
            code: { header: Location, query: code }
    outputs:
      access_token: $steps.token.outputs.access_token
      auth_code: $steps.authorize.outputs.code
  - workflowId: useThem
    dependsOn: [signIn]
    inputs:
      type: object
      properties:
        password: { type: string, format: password, x-apiflow-env: LEAK_PASSWORD }
        api_key: { type: string, format: password }
    steps:
      - stepId: echo
        operationId: $sourceDescriptions.api.echo
        parameters:
          - { name: X-Api-Key, in: header, value: $inputs.api_key }
        requestBody:
          contentType: application/json
          payload:
            code: $workflows.signIn.outputs.auth_code
            token: $workflows.signIn.outputs.access_token
            password: $inputs.password
        successCriteria:
          - condition: $response.body#/echo == 'not the key'
          - context: $response.body#/token
            type: regex
            condition: '^{$inputs.password}('
        onFailure:
          - { name: onwards, type: goto, stepId: down }
      - stepId: down
        operationId: $sourceDescriptions.closed.down
        parameters:
          - { name: token, in: path, value: $workflows.signIn.outputs.access_token }
          - { name: key, in: query, value: $inputs.api_key }
          - { name: code, in: query, value: $workflows.signIn.outputs.auth_code }
";

#[test]
fn an_arazzo_document_shows_no_secret_in_any_output_mode_or_report() {
    let server = Server::start(|request: &Recorded| {
        let received = json!({
            "query": request.query,
            "body": request.body,
            "headers": request.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>(),
        })
        .to_string();
        match request.path.as_str() {
            "/token" => Reply::json(
                200,
                &json!({ "access_token": ACCESS_TOKEN, "token_type": "Bearer", "received": received }),
            ),
            "/authorize" => Reply::redirect(
                302,
                &format!(
                    "https://client.example/cb?code={}&state=s",
                    url::form_urlencoded::byte_serialize(CODE.as_bytes()).collect::<String>()
                ),
            ),
            _ => Reply::json(
                200,
                &json!({
                    "echo": API_KEY,
                    "code": CODE,
                    "token": ACCESS_TOKEN,
                    "password": PASSWORD,
                    "received": received,
                }),
            ),
        }
    });
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("api.openapi.yaml"), ARAZZO_API).expect("written");
    std::fs::write(dir.path().join("closed.openapi.yaml"), ARAZZO_CLOSED_API).expect("written");
    let document = dir.path().join("secrets.arazzo.yaml");
    std::fs::write(&document, ARAZZO_DOCUMENT).expect("written");
    let secrets: Vec<String> = vec![
        PASSWORD.to_owned(),
        API_KEY.to_owned(),
        ACCESS_TOKEN.to_owned(),
        CODE.to_owned(),
        STANDARD.encode(format!("{CLIENT_ID}:{PASSWORD}")),
    ];
    for mode in [&[][..], &["-v"], &["--curl"], &["-v", "--curl"]] {
        let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("the binary is built");
        command.env_remove("GITHUB_ACTIONS");
        command
            .current_dir(ROOT)
            .env("LEAK_PASSWORD", PASSWORD)
            .arg("run")
            .arg(&document)
            .arg("--server")
            .arg(format!("api={}", server.url))
            .arg("--server")
            .arg(format!(
                "closed=http://127.0.0.1:{}",
                support::closed_port()
            ))
            .arg("--var")
            .arg(format!("user={CLIENT_ID}"))
            .arg("--var")
            .arg(format!("api_key={API_KEY}"));
        let mut reports = Vec::new();
        for format in ["junit", "json", "html", "har"] {
            let path = dir.path().join(format!("report.{format}"));
            let _ = std::fs::remove_file(&path);
            command
                .arg("--report")
                .arg(format!("{format}={}", path.display()));
            reports.push(path);
        }
        let out = command.args(mode).output().expect("the binary runs");
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        let stderr = String::from_utf8(out.stderr).expect("UTF-8");
        let place = |what: &str| format!("{what} of `run {}`", mode.join(" "));
        assert_eq!(out.status.code(), Some(3), "{stdout}\n{stderr}");
        // Every step ran: the failures were reached (a handled one is in the JSON report),
        // with the secrets on the wire.
        let json_report = std::fs::read_to_string(&reports[1]).expect("a report");
        let shown = format!("{stdout}{json_report}");
        for text in [
            "success criterion `$response.body#/echo == 'not the key'` does not hold",
            "does not compile once its expressions are put in",
            "the body does not match the response schema of `echo`",
            "the request could not be completed",
        ] {
            assert!(shown.contains(text), "`{text}` in:\n{shown}");
        }
        assert_clean_of(&place("stdout"), &stdout, &secrets);
        assert_clean_of(&place("stderr"), &stderr, &secrets);
        for path in &reports {
            let text = std::fs::read_to_string(path).expect("a report");
            assert!(!text.is_empty(), "{} was written", path.display());
            assert_clean_of(&place(&path.display().to_string()), &text, &secrets);
            if text.starts_with('{') {
                let report: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                let mut strings = Vec::new();
                json_strings(&report, &mut strings);
                for string in strings {
                    assert_clean_of(&place("a string of the JSON report"), &string, &secrets);
                }
            } else {
                assert_clean_of(
                    &place("an unescaped report"),
                    &html_unescape(&text),
                    &secrets,
                );
            }
        }
    }
    let requests = server.requests();
    let token = requests.iter().find(|r| r.path == "/token").expect("sent");
    assert_eq!(
        token.header("authorization").map(str::to_owned),
        Some(format!(
            "Basic {}",
            STANDARD.encode(format!("{CLIENT_ID}:{PASSWORD}"))
        ))
    );
    assert!(
        token.body.contains("password=p%40ss%3Aw0rd%7E%21"),
        "{}",
        token.body
    );
    let echo = requests.iter().find(|r| r.path == "/echo").expect("sent");
    assert_eq!(echo.header("x-api-key"), Some(API_KEY));
    let body: serde_json::Value = serde_json::from_str(&echo.body).expect("JSON");
    assert_eq!(body["code"], CODE);
    assert_eq!(body["token"], ACCESS_TOKEN);
}
