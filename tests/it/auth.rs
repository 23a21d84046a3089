//! `auth: digest` and `auth: aws_sigv4` against servers that check the credentials with their
//! own computation: a Digest server (MD5, SHA-256, `qop=auth`, a stale nonce, RFC 2069) and an
//! AWS server that recomputes each signature from what it received.

use crate::support;

use std::collections::HashMap;
use std::fmt::Write as _;

use md5::Digest as _;
use serde_json::json;
use support::{Recorded, Reply, Server, normalize, run};

pub(crate) const USER: &str = "Mufasa";
pub(crate) const PASSWORD: &str = "Circle of Life";
const REALM: &str = "http-auth@example.org";
const NONCE: &str = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn hash(algorithm: &str, text: &str) -> String {
    match algorithm {
        "MD5" => hex(&md5::Md5::digest(text.as_bytes())),
        _ => hex(&sha2::Sha256::digest(text.as_bytes())),
    }
}

/// Reads `name=value, name="quoted \" value"` pairs.
fn params(text: &str) -> HashMap<String, String> {
    let pair = regex::Regex::new(r#"([A-Za-z*]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))"#).unwrap();
    pair.captures_iter(text)
        .map(|c| {
            let value = c
                .get(2)
                .map_or_else(|| c[3].to_owned(), |q| q.as_str().replace("\\\"", "\""));
            (c[1].to_ascii_lowercase(), value)
        })
        .collect()
}

fn challenge(algorithm: &str, nonce: &str, stale: bool) -> String {
    format!(
        "Digest realm=\"{REALM}\", qop=\"auth, auth-int\", algorithm={algorithm}, nonce=\"{nonce}\", opaque=\"{OPAQUE}\"{}",
        if stale { ", stale=true" } else { "" }
    )
}

/// The server's own check of an answer: `None` when it is right.
fn wrong(request: &Recorded, algorithm: &str, nonce: &str, qop: bool) -> Option<String> {
    let Some(answer) = request
        .header("authorization")
        .and_then(|a| a.strip_prefix("Digest "))
    else {
        return Some("no Digest credentials".to_owned());
    };
    let answer = params(answer);
    let get = |name: &str| answer.get(name).map_or("", String::as_str);
    let uri = match &request.query {
        Some(query) => format!("{}?{query}", request.path),
        None => request.path.clone(),
    };
    let realm = if qop { REALM } else { "testrealm@host.com" };
    let ha1 = hash(algorithm, &format!("{USER}:{realm}:{PASSWORD}"));
    let ha2 = hash(algorithm, &format!("{}:{uri}", request.method));
    let expected = if qop {
        hash(
            algorithm,
            &format!("{ha1}:{nonce}:{}:{}:auth:{ha2}", get("nc"), get("cnonce")),
        )
    } else {
        hash(algorithm, &format!("{ha1}:{nonce}:{ha2}"))
    };
    let fields_ok = get("username") == USER
        && get("realm") == realm
        && get("uri") == uri
        && get("nonce") == nonce
        && (!qop
            || (get("qop") == "auth"
                && get("nc") == "00000001"
                && get("cnonce").len() >= 16
                && get("algorithm") == algorithm
                && get("opaque") == OPAQUE));
    (!fields_ok || get("response") != expected).then(|| format!("{answer:?}"))
}

fn digest_server() -> Server {
    Server::start(digest_reply)
}

/// The Digest server's answer to one request.
pub(crate) fn digest_reply(request: &Recorded) -> Reply {
    {
        let refuse = |algorithms: &[&str], nonce: &str, stale: bool| {
            let mut reply = Reply::text(401, "who are you?");
            for algorithm in algorithms {
                reply = reply.header("www-authenticate", &challenge(algorithm, nonce, stale));
            }
            reply
        };
        let authorized = request.header("authorization").is_some();
        match request.path.as_str() {
            "/md5/dir/index.html" => match wrong(request, "MD5", NONCE, true) {
                None => Reply::json(200, &json!({ "hello": USER })),
                Some(_) => refuse(&["MD5"], NONCE, false),
            },
            // MD5 offered first, in a header of its own: SHA-256 must win all the same.
            "/sha256/items" => match wrong(request, "SHA-256", NONCE, true) {
                None if request.body == r#"{"name":"widget"}"# => Reply::status(201),
                None => Reply::text(400, "the body was not sent again"),
                Some(_) => refuse(&["MD5", "SHA-256"], NONCE, false),
            },
            // The first nonce has expired by the time it is used.
            "/stale" if !authorized => refuse(&["SHA-256"], "old", false),
            "/stale" => match wrong(request, "SHA-256", "new", true) {
                None => Reply::status(200),
                Some(_) if wrong(request, "SHA-256", "old", true).is_none() => {
                    refuse(&["SHA-256"], "new", true)
                }
                Some(_) => Reply::status(403),
            },
            "/legacy" => match wrong(request, "MD5", "dcd98b7102dd2f0e8b11d0f600bfb0c093", false) {
                None => Reply::status(200),
                Some(_) => Reply::text(401, "").header(
                    "www-authenticate",
                    "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\"",
                ),
            },
            "/basic-only" => Reply::status(401).header("www-authenticate", "Basic realm=\"x\""),
            _ => Reply::status(404),
        }
    }
}

fn count(server: &Server, path: &str) -> usize {
    server.requests().iter().filter(|r| r.path == path).count()
}

#[tokio::test]
async fn digest_answers_the_strongest_challenge_and_sends_the_request_again() {
    let server = digest_server();
    let run = run(
        "digest.yaml",
        &[("base_url", &server.url), ("password", PASSWORD)],
        true,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    for (path, requests) in [
        ("/md5/dir/index.html", 2),
        ("/sha256/items", 2),
        ("/stale", 3),
        ("/legacy", 2),
        ("/basic-only", 1),
    ] {
        assert_eq!(count(&server, path), requests, "{path}");
    }
    let first = &server.requests()[0];
    assert_eq!(
        first.header("authorization"),
        None,
        "no credentials before the challenge"
    );
    let sha = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/sha256/items")
        .nth(1)
        .unwrap();
    assert!(
        sha.header("authorization")
            .unwrap()
            .contains("algorithm=SHA-256,")
    );
    // The 401 and the answered request are both exchanges of the step.
    assert_eq!(run.step("md5").exchanges.len(), 2);
    assert_eq!(run.step("stale nonce").exchanges.len(), 3);
    assert_eq!(run.step("no digest challenge").exchanges.len(), 1);
    // Neither the password nor any answer computed from it shows.
    assert!(!run.output.contains(PASSWORD), "{}", run.output);
    for request in server.requests() {
        if let Some(answer) = request.header("authorization") {
            let response = params(answer)["response"].clone();
            assert!(
                !run.output.contains(&response),
                "{response} in:\n{}",
                run.output
            );
        }
    }
    insta::assert_snapshot!(normalize(&run.output, &[(server.port, "<port>")]));
}

#[tokio::test]
async fn a_wrong_digest_password_gets_the_401_once_more_and_no_loop() {
    let server = digest_server();
    let run = run(
        "digest.yaml",
        &[("base_url", &server.url), ("password", "Circle of Lies")],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert_eq!(count(&server, "/md5/dir/index.html"), 2);
    let step = run.step("md5");
    assert_eq!(step.exchanges.len(), 2);
    assert_eq!(step.exchanges[1].response.status.as_u16(), 401);
    assert!(run.output.contains("→ 401"), "{}", run.output);
    assert!(!run.output.contains("Circle of Lies"), "{}", run.output);
}

pub(crate) const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "FQoGZXIvYXdzEXAMPLE//token+=";

fn sha256(data: &[u8]) -> String {
    hex(&sha2::Sha256::digest(data))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data.as_bytes()).as_ref().to_vec()
}

fn encode(text: &str, keep_slash: bool) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The server's own check of a signature, from the request as received: `Err` holds the
/// canonical request it signed.
pub(crate) fn check_signature(request: &Recorded) -> Result<(), String> {
    let authorization = request.header("authorization").ok_or("no authorization")?;
    let rest = authorization
        .strip_prefix("AWS4-HMAC-SHA256 Credential=")
        .ok_or("not sigv4")?;
    let (credential, rest) = rest.split_once(", SignedHeaders=").ok_or("no headers")?;
    let (signed, signature) = rest.split_once(", Signature=").ok_or("no signature")?;
    let scope: Vec<&str> = credential.split('/').collect();
    let [key, date, region, service, "aws4_request"] = scope[..] else {
        return Err(format!("bad scope {credential}"));
    };
    if key != "AKIDEXAMPLE" {
        return Err(format!("access key {key}"));
    }
    let amz_date = request.header("x-amz-date").ok_or("no x-amz-date")?;
    let path = if service == "s3" {
        request.path.clone()
    } else {
        encode(&request.path, true)
    };
    let mut query: Vec<(String, String)> = request
        .query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (encode(&k, false), encode(&v, false)))
                .collect()
        })
        .unwrap_or_default();
    query.sort();
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = String::new();
    for name in signed.split(';') {
        let value = request
            .header(name)
            .ok_or(format!("signed {name} not received"))?;
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(headers, "{name}:{value}");
    }
    let payload = sha256(request.body.as_bytes());
    if service == "s3" && request.header("x-amz-content-sha256") != Some(payload.as_str()) {
        return Err("x-amz-content-sha256 is not the body's hash".to_owned());
    }
    let canonical = format!(
        "{}\n{path}\n{}\n{headers}\n{signed}\n{payload}",
        request.method,
        query.join("&")
    );
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        sha256(canonical.as_bytes())
    );
    let mut key = hmac(format!("AWS4{SECRET_KEY}").as_bytes(), date);
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part);
    }
    if hex(&hmac(&key, &to_sign)) == signature {
        Ok(())
    } else {
        Err(canonical)
    }
}

#[tokio::test]
async fn aws_sigv4_signatures_are_what_the_server_computes_from_what_it_received() {
    let server = Server::start(|request: &Recorded| match check_signature(request) {
        Ok(()) => Reply::json(200, &json!({ "ok": true })),
        Err(canonical) => Reply::text(403, &canonical),
    });
    let run = run(
        "aws_sigv4.yaml",
        &[
            ("base_url", &server.url),
            ("secret_key", SECRET_KEY),
            ("session_token", SESSION_TOKEN),
        ],
        true,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    let api = server.only("/prod/items/a%20b");
    let authorization = api.header("authorization").unwrap();
    assert!(
        authorization.contains("/eu-west-3/execute-api/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-custom, Signature="),
        "{authorization}"
    );
    let amz_date = api.header("x-amz-date").unwrap();
    assert!(
        regex::Regex::new(r"^\d{8}T\d{6}Z$")
            .unwrap()
            .is_match(amz_date),
        "{amz_date}"
    );
    assert_eq!(api.header("x-amz-content-sha256"), None, "only S3 wants it");
    assert_eq!(api.header("x-amz-security-token"), None);
    // The key is sent as AWS encodes it, so that what is signed is what is sent.
    let s3 = server.only("/bucket/a%2Bb%281%29.txt");
    assert_eq!(s3.header("x-amz-security-token"), Some(SESSION_TOKEN));
    assert_eq!(
        s3.header("x-amz-content-sha256"),
        Some(sha256(b"hello").as_str())
    );
    assert!(
        s3.header("authorization")
            .unwrap()
            .contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,")
    );
    for request in server.requests() {
        let authorization = request.header("authorization").unwrap();
        let signature = authorization.rsplit('=').next().unwrap();
        for secret in [SECRET_KEY, SESSION_TOKEN, signature, authorization] {
            assert!(!run.output.contains(secret), "{secret} in:\n{}", run.output);
        }
    }
}

#[tokio::test]
async fn a_signature_made_with_another_key_is_refused_by_the_checking_server() {
    // The server's check is not a formality: a wrong secret key fails it.
    let server = Server::start(|request: &Recorded| match check_signature(request) {
        Ok(()) => Reply::status(200),
        Err(_) => Reply::status(403),
    });
    let run = run(
        "aws_sigv4.yaml",
        &[
            ("base_url", &server.url),
            ("secret_key", "not the key"),
            ("session_token", SESSION_TOKEN),
        ],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 1, "{}", run.output);
    assert!(run.output.contains("→ 403"), "{}", run.output);
}

#[tokio::test]
async fn digest_answers_after_a_redirect_only_on_the_origin_it_was_written_for() {
    let other = digest_server();
    let server = Server::start(|request: &Recorded| match request.path.as_str() {
        "/moved" => Reply::redirect(302, "/md5/dir/index.html"),
        "/elsewhere" => {
            let to = request
                .query
                .as_deref()
                .unwrap_or("")
                .trim_start_matches("to=");
            let to = percent_encoding::percent_decode_str(to).decode_utf8_lossy();
            Reply::redirect(302, &format!("{to}/md5/dir/index.html"))
        }
        _ => match wrong(request, "MD5", NONCE, true) {
            None => Reply::status(200),
            Some(_) => {
                Reply::status(401).header("www-authenticate", &challenge("MD5", NONCE, false))
            }
        },
    });
    let run = run(
        "digest_redirect.yaml",
        &[
            ("base_url", &server.url),
            ("other_url", &other.url),
            ("password", PASSWORD),
        ],
        false,
    )
    .await;
    assert_eq!(run.report.exit_code(), 0, "{}", run.output);
    // The challenged URL is answered, not the one written.
    let same: Vec<Recorded> = server.requests();
    let paths: Vec<&str> = same.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/moved",
            "/md5/dir/index.html",
            "/md5/dir/index.html",
            "/elsewhere"
        ]
    );
    assert!(same[2].header("authorization").is_some());
    // The other origin's challenge is the step's response: no credentials went there.
    let sent = other.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("authorization"), None);
    assert_eq!(run.step("another origin").exchanges.len(), 2);
}
