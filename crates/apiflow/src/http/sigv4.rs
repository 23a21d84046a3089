//! AWS Signature Version 4 in headers: the canonical request, the string to sign and the
//! `Authorization` header, by AWS's rules for signing a request.
//!
//! The order: `X-Amz-Date` (and `X-Amz-Security-Token`, and for S3 `X-Amz-Content-Sha256`) are
//! added; the request is written canonically (method, URI, query, headers, signed header names,
//! payload hash); its hash goes into the string to sign, which the key derived from the secret,
//! the date, the region and the service signs.

use std::fmt::Write as _;
use std::time::SystemTime;

use super::hash::{hex, hmac_sha256, sha256_hex};

/// The credentials and the scope they sign for.
pub(crate) struct Credentials<'a> {
    pub(crate) access_key: &'a str,
    pub(crate) secret_key: &'a str,
    pub(crate) session_token: Option<&'a str>,
    pub(crate) region: &'a str,
    pub(crate) service: &'a str,
}

/// Where services differ: S3 signs the path as sent and wants the payload hash in a header.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// Remove `.` and `..` segments and repeated `/` before signing the path.
    pub(crate) normalize_path: bool,
    /// Percent-encode the path as sent once more (its `%` become `%25`).
    pub(crate) encode_path: bool,
    /// Send `X-Amz-Content-Sha256` and sign it.
    pub(crate) content_sha256_header: bool,
}

impl Rules {
    /// Returns the rules a service follows: S3's own, or everyone else's.
    pub(crate) fn for_service(service: &str) -> Rules {
        let s3 = service == "s3";
        Rules {
            normalize_path: !s3,
            encode_path: !s3,
            content_sha256_header: s3,
        }
    }
}

/// What to sign: the request as it will be sent.
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    /// The path as sent (percent-encoded where the URL needs it).
    pub(crate) path: &'a str,
    /// The query as sent, without `?`.
    pub(crate) query: Option<&'a str>,
    /// The headers to sign, `Host` included, in the order sent; names in any case.
    pub(crate) headers: &'a [(String, String)],
    /// The SHA-256 of the body, in hex (of nothing when there is no body).
    pub(crate) payload_hash: &'a str,
}

/// A signed request: the headers to add and what the signature was computed from.
#[derive(Debug)]
pub(crate) struct Signed {
    /// Headers to set on the request, `Authorization` last.
    pub(crate) headers: Vec<(&'static str, String)>,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests compare it with AWS's test suite")
    )]
    pub(crate) canonical_request: String,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests compare it with AWS's test suite")
    )]
    pub(crate) string_to_sign: String,
    pub(crate) signature: String,
}

/// Signs a request at a given time.
pub(crate) fn sign(
    request: &Request<'_>,
    credentials: &Credentials<'_>,
    rules: Rules,
    time: SystemTime,
) -> Signed {
    let amz_date: String = humantime::format_rfc3339_seconds(time)
        .to_string()
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let date = &amz_date[..amz_date.len().min(8)];
    let payload_hash = request.payload_hash.to_owned();
    let mut added: Vec<(&'static str, String)> = vec![("x-amz-date", amz_date.clone())];
    if let Some(token) = credentials.session_token {
        added.push(("x-amz-security-token", token.to_owned()));
    }
    if rules.content_sha256_header {
        added.push(("x-amz-content-sha256", payload_hash.clone()));
    }
    // Headers the signature covers: the request's, less those it adds or replaces itself.
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .filter(|(name, _)| name != "authorization" && !added.iter().any(|(a, _)| a == name))
        .chain(added.iter().map(|(n, v)| ((*n).to_owned(), v.clone())))
        .collect();
    // A stable sort keeps the values of a repeated header in the order sent.
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical_headers = String::new();
    let mut signed_headers: Vec<&str> = Vec::new();
    for (name, value) in &headers {
        let value = collapse(value);
        if signed_headers.last() == Some(&name.as_str()) {
            canonical_headers.pop();
            canonical_headers.push(',');
        } else {
            signed_headers.push(name);
            canonical_headers.push_str(name);
            canonical_headers.push(':');
        }
        canonical_headers.push_str(&value);
        canonical_headers.push('\n');
    }
    let signed_headers = signed_headers.join(";");
    let canonical_request = format!(
        "{}\n{}\n{}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        request.method,
        canonical_path(request.path, rules),
        canonical_query(request.query.unwrap_or_default()),
    );
    let scope = format!(
        "{date}/{}/{}/aws4_request",
        credentials.region, credentials.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let mut key = hmac_sha256(
        format!("AWS4{}", credentials.secret_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [credentials.region, credentials.service, "aws4_request"] {
        key = hmac_sha256(&key, part.as_bytes());
    }
    let signature = hex(&hmac_sha256(&key, string_to_sign.as_bytes()));
    added.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key
        ),
    ));
    Signed {
        headers: added,
        canonical_request,
        string_to_sign,
        signature,
    }
}

/// Trims a header value and collapses each run of spaces inside it to one.
fn collapse(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Percent-encodes everything but the unreserved characters (`A-Z a-z 0-9 - . _ ~`), and `/`
/// when asked, with upper-case hex as AWS wants.
fn uri_encode(text: &str, keep_slash: bool) -> String {
    encode_bytes(text.as_bytes(), keep_slash)
}

fn encode_bytes(bytes: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && byte == b'/')
        {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Writes a path as AWS encodes an S3 object key: decoded, then every byte but the unreserved
/// characters and `/` percent-encoded. S3 signs the path as sent, and a URL leaves some
/// characters (`+`, `!`, `*`, `'`, `(`, `)`, `:`, `@`, …) as they are where AWS encodes them:
/// sending the path in AWS's own form makes what is signed and what is sent the same.
pub(crate) fn s3_path(path: &str) -> String {
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(path).collect();
    encode_bytes(&decoded, true)
}

/// The canonical URI: normalised and encoded again for most services, as sent for S3.
fn canonical_path(path: &str, rules: Rules) -> String {
    let path = if rules.normalize_path {
        normalize(path)
    } else {
        path.to_owned()
    };
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    if rules.encode_path {
        uri_encode(&path, true)
    } else {
        path
    }
}

/// Removes `.` and `..` segments (RFC 3986, section 5.2.4) and empty ones, keeping a
/// leading and a trailing `/`.
fn normalize(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            _ => segments.push(segment),
        }
    }
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push('/');
    }
    out.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        out.push('/');
    }
    out
}

/// The canonical query: each name and value decoded, encoded again by AWS's rules, then
/// sorted by name and value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(name, value)| (uri_encode(&name, false), uri_encode(&value, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::path::Path;

    /// The suite's cases that cannot be written as a request apiflow sends (see `SOURCE.md`).
    const SKIPPED: &[&str] = &["get-header-value-multiline", "post-sts-header-after"];

    struct Case {
        request: String,
        context: serde_json::Value,
        canonical_request: String,
        string_to_sign: String,
        signature: String,
        signed_request: String,
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
    }

    fn suite() -> Vec<(String, Case)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors/sigv4");
        let mut cases = Vec::new();
        for entry in std::fs::read_dir(&root).unwrap() {
            let dir = entry.unwrap().path();
            if !dir.is_dir() {
                continue;
            }
            let name = dir.file_name().unwrap().to_string_lossy().into_owned();
            let case = Case {
                request: read(&dir, "request.txt"),
                context: serde_json::from_str(&read(&dir, "context.json")).unwrap(),
                canonical_request: read(&dir, "header-canonical-request.txt"),
                string_to_sign: read(&dir, "header-string-to-sign.txt"),
                signature: read(&dir, "header-signature.txt"),
                signed_request: read(&dir, "header-signed-request.txt"),
            };
            cases.push((name, case));
        }
        cases.sort_by(|a, b| a.0.cmp(&b.0));
        cases
    }

    /// Splits a request of the suite into method, target, headers and body.
    fn parse_request(text: &str) -> (String, String, Vec<(String, String)>, Vec<u8>) {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let first = lines.next().unwrap();
        let (method, rest) = first.split_once(' ').unwrap();
        let target = rest.strip_suffix(" HTTP/1.1").unwrap();
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|line| {
                let (name, value) = line.split_once(':').unwrap();
                (name.to_owned(), value.to_owned())
            })
            .collect();
        (
            method.to_owned(),
            target.to_owned(),
            headers,
            body.as_bytes().to_vec(),
        )
    }

    #[test]
    fn every_case_of_the_aws_signing_test_suite_that_apiflow_can_send_passes() {
        let cases = suite();
        assert_eq!(cases.len(), 38, "the vendored suite is whole");
        let mut passed = 0;
        for (name, case) in &cases {
            if SKIPPED.contains(&name.as_str()) {
                continue;
            }
            let context = &case.context;
            let text = |path: &str| context.pointer(path).and_then(|v| v.as_str());
            let credentials = Credentials {
                access_key: text("/credentials/access_key_id").unwrap(),
                secret_key: text("/credentials/secret_access_key").unwrap(),
                session_token: text("/credentials/token"),
                region: text("/region").unwrap(),
                service: text("/service").unwrap(),
            };
            // The suite's flags, by name: every case encodes the path again.
            let flag = |path: &str| context.pointer(path).and_then(serde_json::Value::as_bool);
            let rules = Rules {
                normalize_path: flag("/normalize").unwrap(),
                encode_path: true,
                content_sha256_header: flag("/sign_body").unwrap(),
            };
            let time = humantime::parse_rfc3339(text("/timestamp").unwrap()).unwrap();
            let (method, target, headers, body) = parse_request(&case.request);
            let (path, query) = match target.split_once('?') {
                Some((path, query)) => (path, Some(query)),
                None => (target.as_str(), None),
            };
            let payload_hash = sha256_hex(&body);
            let request = Request {
                method: &method,
                path,
                query,
                headers: &headers,
                payload_hash: &payload_hash,
            };
            let signed = sign(&request, &credentials, rules, time);
            assert_eq!(signed.canonical_request, case.canonical_request, "{name}");
            assert_eq!(signed.string_to_sign, case.string_to_sign, "{name}");
            assert_eq!(signed.signature, case.signature.trim_end(), "{name}");
            let authorization = case
                .signed_request
                .lines()
                .find_map(|l| l.strip_prefix("Authorization:"))
                .unwrap();
            assert_eq!(
                signed.headers.last(),
                Some(&("authorization", authorization.to_owned())),
                "{name}"
            );
            passed += 1;
        }
        assert_eq!(passed, cases.len() - SKIPPED.len());
    }

    #[test]
    fn the_skipped_cases_are_the_ones_apiflow_cannot_send() {
        // A header value on several lines (obsolete line folding) cannot be sent, and the
        // session token is always signed when it is sent.
        let cases = suite();
        for skipped in SKIPPED {
            let (_, case) = cases.iter().find(|(n, _)| n == skipped).unwrap();
            let folded = case.request.lines().any(|l| l.starts_with(' '));
            let unsigned_token =
                case.context.pointer("/omit_session_token") == Some(&serde_json::Value::Bool(true));
            assert!(folded || unsigned_token, "{skipped}");
        }
    }

    #[test]
    fn s3_signs_the_path_as_sent_and_the_payload_hash_in_a_header() {
        let credentials = Credentials {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
            service: "s3",
        };
        let headers = vec![("Host".to_owned(), "bucket.s3.amazonaws.com".to_owned())];
        let hash = sha256_hex(b"hello");
        let request = Request {
            method: "PUT",
            path: "//a%20b/../c",
            query: Some("b=2&a=x+y"),
            headers: &headers,
            payload_hash: &hash,
        };
        let time = humantime::parse_rfc3339("2015-08-30T12:36:00Z").unwrap();
        let signed = sign(&request, &credentials, Rules::for_service("s3"), time);
        assert_eq!(
            signed.canonical_request,
            format!(
                "PUT\n//a%20b/../c\na=x%20y&b=2\nhost:bucket.s3.amazonaws.com\nx-amz-content-sha256:{hash}\nx-amz-date:20150830T123600Z\n\nhost;x-amz-content-sha256;x-amz-date\n{hash}"
            )
        );
        let names: Vec<&str> = signed.headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            ["x-amz-date", "x-amz-content-sha256", "authorization"]
        );
        // Any other service normalises the path and encodes it once more.
        let signed = sign(
            &request,
            &credentials,
            Rules::for_service("execute-api"),
            time,
        );
        assert!(
            signed.canonical_request.starts_with("PUT\n/c\n"),
            "{}",
            signed.canonical_request
        );
        let request = Request {
            path: "/a%20b/",
            ..request
        };
        let signed = sign(&request, &credentials, Rules::for_service("sts"), time);
        assert!(signed.canonical_request.starts_with("PUT\n/a%2520b/\n"));
    }

    #[test]
    fn s3_paths_are_sent_as_aws_encodes_object_keys() {
        assert_eq!(s3_path("/bucket/key.txt"), "/bucket/key.txt");
        assert_eq!(
            s3_path("/b/a+b/c%20d!*'():@$&,;=\u{e9}%FF"),
            "/b/a%2Bb/c%20d%21%2A%27%28%29%3A%40%24%26%2C%3B%3D%C3%A9%FF"
        );
        assert_eq!(s3_path("/b/%7Euser/-._"), "/b/~user/-._");
    }

    #[test]
    fn the_signature_depends_on_the_time() {
        let credentials = Credentials {
            access_key: "AKID",
            secret_key: "secret",
            session_token: Some("token"),
            region: "eu-west-3",
            service: "sts",
        };
        let headers = vec![("host".to_owned(), "sts.amazonaws.com".to_owned())];
        let nothing = sha256_hex(b"");
        let request = Request {
            method: "GET",
            path: "/",
            query: None,
            headers: &headers,
            payload_hash: &nothing,
        };
        let rules = Rules::for_service("sts");
        let at = |text: &str| humantime::parse_rfc3339(text).unwrap();
        let one = sign(&request, &credentials, rules, at("2024-02-29T23:59:59Z"));
        let two = sign(&request, &credentials, rules, at("2024-03-01T00:00:00Z"));
        assert_ne!(one.signature, two.signature);
        assert!(
            one.string_to_sign
                .contains("\n20240229/eu-west-3/sts/aws4_request\n")
        );
        assert_eq!(
            one.headers[0],
            ("x-amz-date", "20240229T235959Z".to_owned())
        );
        assert_eq!(one.headers[1], ("x-amz-security-token", "token".to_owned()));
    }
}
