//! The HAR report: every exchange of the run as an HTTP Archive 1.2 entry, for browsers'
//! network panels and HAR tools.
//!
//! One page per workflow run, its entries in the order sent: a step's own exchanges (each hop
//! of a redirect one entry), then the steps run inside it. Secrets are masked by the caller over
//! the whole text, as in every report.

use base64::Engine as _;
use reqwest::header::{CONTENT_TYPE, COOKIE, HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Map, Value, json};

use crate::http::body::Body;
use crate::http::timing::{Timings, millis};
use crate::http::{Exchange, Outgoing};
use crate::report::event::{RunReport, StepReport};

/// Renders runs as one HAR document.
pub fn render(reports: &[RunReport]) -> String {
    let mut pages = Vec::with_capacity(reports.len());
    let mut entries = Vec::new();
    for (index, report) in reports.iter().enumerate() {
        let id = format!("page_{}", index + 1);
        pages.push(json!({
            "startedDateTime": date(report.started_at),
            "id": id,
            "title": format!("{} ({})", report.name, report.file),
            "pageTimings": { "onContentLoad": -1, "onLoad": -1 },
        }));
        for step in &report.steps {
            collect(step, &id, &mut entries);
        }
    }
    let document = json!({
        "log": {
            "version": "1.2",
            "creator": { "name": "apiflow", "version": env!("CARGO_PKG_VERSION") },
            "pages": pages,
            "entries": entries,
        }
    });
    serde_json::to_string_pretty(&document).unwrap_or_default() + "\n"
}

/// Adds a step's exchanges, then those of the steps inside it.
fn collect(step: &StepReport, page: &str, entries: &mut Vec<Value>) {
    for exchange in &step.exchanges {
        entries.push(entry(exchange, page, step));
    }
    for child in &step.children {
        collect(child, page, entries);
    }
}

fn date(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

/// Rounds milliseconds to the microsecond, so that sums of them stay exact enough to compare.
fn round(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// The HAR `timings`: -1 for a phase that did not happen; `connect` includes `ssl`, as the
/// format wants; `send` is within `wait`, since neither stack tells when the request was out.
fn har_timings(t: &Timings) -> (Value, f64) {
    let optional = |phase: Option<std::time::Duration>| phase.map_or(-1.0, |d| round(millis(d)));
    let connect = match (t.connect, t.tls) {
        (Some(connect), tls) => round(millis(connect + tls.unwrap_or_default())),
        (None, _) => -1.0,
    };
    let blocked = round(millis(t.blocked()));
    let dns = optional(t.dns);
    let wait = round(millis(t.ttfb));
    let receive = round(millis(t.transfer));
    let time = round(
        [blocked, dns, connect, 0.0, wait, receive]
            .iter()
            .filter(|v| **v >= 0.0)
            .sum(),
    );
    let value = json!({
        "blocked": blocked,
        "dns": dns,
        "connect": connect,
        "send": 0.0,
        "wait": wait,
        "receive": receive,
        "ssl": optional(t.tls),
    });
    (value, time)
}

fn version(version: reqwest::Version) -> &'static str {
    match version {
        reqwest::Version::HTTP_09 => "HTTP/0.9",
        reqwest::Version::HTTP_10 => "HTTP/1.0",
        reqwest::Version::HTTP_2 => "HTTP/2",
        reqwest::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
}

fn entry(exchange: &Exchange, page: &str, step: &StepReport) -> Value {
    let response = &exchange.response;
    let (timings, time) = har_timings(&response.timings);
    let http_version = version(response.version);
    let mut entry = json!({
        "pageref": page,
        "startedDateTime": date(response.timings.started_at),
        "time": time,
        "request": request(&exchange.request, http_version),
        "response": {
            "status": response.status.as_u16(),
            "statusText": response.status.canonical_reason().unwrap_or(""),
            "httpVersion": http_version,
            "cookies": set_cookies(&response.headers),
            "headers": headers(&response.headers),
            "content": content(&response.headers, &response.body),
            "redirectURL": text(&response.headers, LOCATION.as_str()).unwrap_or_default(),
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": timings,
        "comment": format!("step `{}`", step.name),
    });
    if let Some(address) = response.remote
        && let Value::Object(map) = &mut entry
    {
        map.insert("serverIPAddress".into(), address.ip().to_string().into());
    }
    entry
}

fn request(request: &Outgoing, http_version: &str) -> Value {
    let mut out = json!({
        "method": request.method.as_str(),
        "url": request.url.as_str(),
        "httpVersion": http_version,
        "cookies": cookies(&request.headers),
        "headers": headers(&request.headers),
        "queryString": request
            .url
            .query_pairs()
            .map(|(name, value)| json!({ "name": name, "value": value }))
            .collect::<Vec<_>>(),
        "headersSize": -1,
        "bodySize": request.body.as_ref().map_or(0, Body::len),
    });
    if let Some(body) = &request.body
        && let Value::Object(map) = &mut out
    {
        map.insert("postData".into(), post_data(&request.headers, body));
    }
    out
}

/// A header's value as text, if the header is there.
fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn headers(map: &HeaderMap) -> Vec<Value> {
    map.iter()
        .map(|(name, value)| {
            json!({
                "name": name.as_str(),
                "value": String::from_utf8_lossy(value.as_bytes()),
            })
        })
        .collect()
}

/// The cookies of a `Cookie` header: `a=1; b=2`.
fn cookies(map: &HeaderMap) -> Vec<Value> {
    map.get_all(COOKIE)
        .iter()
        .flat_map(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .split(';')
                .filter_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    Some(json!({ "name": name.trim(), "value": value.trim() }))
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The cookies `Set-Cookie` headers set, with the attributes HAR has a field for.
fn set_cookies(map: &HeaderMap) -> Vec<Value> {
    map.get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| {
            let text = String::from_utf8_lossy(value.as_bytes());
            let mut parts = text.split(';');
            let (name, value) = parts.next()?.trim().split_once('=')?;
            let mut cookie = Map::new();
            cookie.insert("name".into(), name.trim().into());
            cookie.insert("value".into(), value.trim().into());
            for attribute in parts {
                let (key, value) = attribute
                    .trim()
                    .split_once('=')
                    .map_or((attribute.trim(), ""), |(k, v)| (k.trim(), v.trim()));
                match key.to_ascii_lowercase().as_str() {
                    "path" => {
                        cookie.insert("path".into(), value.into());
                    }
                    "domain" => {
                        cookie.insert("domain".into(), value.into());
                    }
                    "httponly" => {
                        cookie.insert("httpOnly".into(), true.into());
                    }
                    "secure" => {
                        cookie.insert("secure".into(), true.into());
                    }
                    _ => {}
                }
            }
            Some(Value::Object(cookie))
        })
        .collect()
}

fn mime_type(headers: &HeaderMap) -> String {
    text(headers, CONTENT_TYPE.as_str()).unwrap_or_default()
}

/// `postData`: the fields of a URL-encoded or multipart form as `params`, any other body as
/// `text` (a file's contents stand as a line naming it, as the other reports show them).
fn post_data(headers: &HeaderMap, body: &Body) -> Value {
    let mime = mime_type(headers);
    match body {
        Body::Multipart(form) => {
            let params: Vec<Value> = form
                .parts()
                .iter()
                .map(|part| {
                    let mut param = Map::new();
                    param.insert("name".into(), part.name.clone().into());
                    match &part.content {
                        crate::http::body::Content::Text(text) => {
                            param.insert("value".into(), text.clone().into());
                        }
                        crate::http::body::Content::File(file) => {
                            param.insert(
                                "value".into(),
                                format!("<{} bytes from file `{}`>", file.len, file.shown).into(),
                            );
                        }
                    }
                    if let Some(name) = &part.filename {
                        param.insert("fileName".into(), name.clone().into());
                    }
                    if let Some(kind) = &part.content_type {
                        param.insert("contentType".into(), kind.clone().into());
                    }
                    Value::Object(param)
                })
                .collect();
            json!({ "mimeType": mime, "params": params })
        }
        Body::Bytes(bytes) if mime.starts_with("application/x-www-form-urlencoded") => {
            let params: Vec<Value> = url::form_urlencoded::parse(bytes)
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect();
            json!({ "mimeType": mime, "params": params })
        }
        other => {
            let shown = other.shown();
            match std::str::from_utf8(&shown) {
                Ok(text) => json!({ "mimeType": mime, "text": text }),
                Err(_) => json!({
                    "mimeType": mime,
                    "text": "",
                    "comment": format!("{} bytes of binary data, not shown", shown.len()),
                }),
            }
        }
    }
}

/// `content`: text as it is, anything else in base64.
fn content(headers: &HeaderMap, body: &[u8]) -> Value {
    let mime = mime_type(headers);
    match std::str::from_utf8(body) {
        Ok(text) => json!({ "size": body.len(), "mimeType": mime, "text": text }),
        Err(_) => json!({
            "size": body.len(),
            "mimeType": mime,
            "text": base64::engine::general_purpose::STANDARD.encode(body),
            "encoding": "base64",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn time_is_the_sum_of_the_phases_and_connect_includes_ssl() {
        let timings = Timings {
            dns: Some(Duration::from_micros(1_500)),
            connect: Some(Duration::from_millis(2)),
            tls: Some(Duration::from_millis(3)),
            ttfb: Duration::from_millis(4),
            transfer: Duration::from_micros(500),
            total: Duration::from_micros(11_250),
            ..Timings::default()
        };
        let (value, time) = har_timings(&timings);
        assert_eq!(
            value,
            json!({ "blocked": 0.25, "dns": 1.5, "connect": 5.0, "send": 0.0, "wait": 4.0,
                    "receive": 0.5, "ssl": 3.0 })
        );
        assert!((time - 11.25).abs() < 1e-9);
        // A kept-alive connection: no lookup, connect or handshake.
        let reused = Timings {
            ttfb: Duration::from_millis(2),
            total: Duration::from_millis(2),
            ..Timings::default()
        };
        let (value, time) = har_timings(&reused);
        assert_eq!(
            (
                value["dns"].clone(),
                value["connect"].clone(),
                value["ssl"].clone()
            ),
            (json!(-1.0), json!(-1.0), json!(-1.0))
        );
        assert!((time - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_body_that_is_not_utf8_is_written_in_base64() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, "image/png".parse().expect("a header"));
        assert_eq!(
            content(&headers, &[0x89, b'P', b'N', b'G', 0xff]),
            json!({ "size": 5, "mimeType": "image/png", "text": "iVBOR/8=", "encoding": "base64" })
        );
        assert_eq!(
            content(&HeaderMap::new(), b"ok"),
            json!({ "size": 2, "mimeType": "", "text": "ok" })
        );
    }

    #[test]
    fn set_cookie_attributes_become_fields() {
        let mut headers = HeaderMap::new();
        headers.append(
            SET_COOKIE,
            "sid=abc; Path=/; Domain=example.test; HttpOnly; Secure"
                .parse()
                .expect("a header"),
        );
        assert_eq!(
            set_cookies(&headers),
            vec![
                json!({ "name": "sid", "value": "abc", "path": "/", "domain": "example.test",
                         "httpOnly": true, "secure": true })
            ]
        );
    }
}
