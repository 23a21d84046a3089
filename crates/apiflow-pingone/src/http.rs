//! Per-request plumbing: correlation ids, the public base URL, media types, cookies and bodies.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State as AxState};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use serde_json::{Map, Value};

use super::error;
use super::state::Shared;

/// Media type PingOne uses for management and flow resources.
pub(crate) const HAL_JSON: &str = "application/hal+json;charset=UTF-8";

/// The request's correlation id, put into extensions by [`correlate`].
#[derive(Clone)]
struct CorrelationId(String);

/// What handlers need to know about the request besides its body.
pub(crate) struct Ctx {
    /// Id echoed in the `Correlation-Id` header, P1Error `id` and OAuth error descriptions.
    pub(crate) correlation_id: String,
    /// Scheme and authority the client used, e.g. `http://127.0.0.1:8080`, for absolute links.
    pub(crate) base: String,
    /// Whether the client reached us over https (behind a proxy that says so).
    pub(crate) secure: bool,
}

impl FromRequestParts<Arc<Shared>> for Ctx {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        shared: &Arc<Shared>,
    ) -> Result<Self, Infallible> {
        let correlation_id = parts
            .extensions
            .get::<CorrelationId>()
            .map_or_else(|| shared.new_id(), |id| id.0.clone());
        let secure = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|h| is_plausible_host(h));
        let base = match host {
            Some(host) => format!("{}://{host}", if secure { "https" } else { "http" }),
            None => shared.fallback_base.clone(),
        };
        Ok(Self {
            correlation_id,
            base,
            secure,
        })
    }
}

/// Rejects `Host` values that would turn links into something other than an origin.
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

/// Middleware: gives every request a correlation id, returns it as `Correlation-Id` on every
/// response, and turns axum's bare 405 into a P1Error.
pub(crate) async fn correlate(
    AxState(shared): AxState<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let id = shared.new_id();
    request.extensions_mut().insert(CorrelationId(id.clone()));
    let (mut parts, body) = request.into_parts();
    let ctx = match Ctx::from_request_parts(&mut parts, &shared).await {
        Ok(ctx) => ctx,
        Err(never) => match never {},
    };
    let mut response = next.run(Request::from_parts(parts, body)).await;
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = error::method_not_allowed(&ctx);
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("correlation-id", value);
    }
    response
}

/// Answers with a JSON body and the given media type.
pub(crate) fn json_response(
    status: StatusCode,
    body: &Value,
    content_type: &'static str,
) -> Response {
    let mut response = (status, Body::from(body.to_string())).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Answers with a HAL resource, as the management and flows APIs do.
pub(crate) fn hal(status: StatusCode, body: &Value) -> Response {
    json_response(status, body, HAL_JSON)
}

/// Answers 201 with the created resource and a `Location` of its `self` link.
pub(crate) fn created(body: &Value) -> Response {
    let mut response = hal(StatusCode::CREATED, body);
    if let Some(location) = body
        .pointer("/_links/self/href")
        .and_then(Value::as_str)
        .and_then(|href| HeaderValue::from_str(href).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Returns the media type of the request without parameters, lower-cased.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}

/// Tells whether the request's media type is `wanted` (parameters such as charset allowed).
pub(crate) fn has_media_type(headers: &HeaderMap, wanted: &str) -> bool {
    media_type(headers).is_some_and(|m| m.eq_ignore_ascii_case(wanted))
}

/// Returns the value of cookie `name` from the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
}

/// Parses a JSON object body, or answers 400 `INVALID_REQUEST` as PingOne does for bad JSON.
pub(crate) fn json_object(ctx: &Ctx, body: &[u8]) -> Result<Map<String, Value>, Response> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(error::invalid_request(
            ctx,
            vec![error::detail(
                "INVALID_VALUE",
                "body",
                "The request body must be a JSON object.",
            )],
        )),
        Err(e) => Err(error::invalid_request(
            ctx,
            vec![error::detail(
                "INVALID_VALUE",
                "body",
                format!("Unable to parse the request body as JSON: {e}"),
            )],
        )),
    }
}

/// Parses an `application/x-www-form-urlencoded` string into pairs, keeping the first value
/// of a repeated name.
pub(crate) fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in url::form_urlencoded::parse(raw) {
        if !pairs.iter().any(|(n, _)| n == name.as_ref()) {
            pairs.push((name.into_owned(), value.into_owned()));
        }
    }
    pairs
}

/// Returns a non-empty parameter value from parsed form pairs.
pub(crate) fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}
