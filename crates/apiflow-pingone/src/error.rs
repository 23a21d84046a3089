//! Error responses in PingOne's two formats: the P1Error envelope and RFC 6749 OAuth errors.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use serde_json::{Value, json};

use super::http::{Ctx, json_response};

/// PingOne's top-level messages, as documented for each error code.
pub(crate) const INVALID_DATA_MESSAGE: &str =
    "The request could not be completed. One or more validation errors were in the request.";
const INVALID_REQUEST_MESSAGE: &str =
    "The request could not be completed. The request was malformed or invalid.";
const FORBIDDEN_MESSAGE: &str =
    "The request could not be completed. You do not have access to this resource.";
const NOT_FOUND_MESSAGE: &str = "The requested resource was not found.";
const UNAUTHORIZED_MESSAGE: &str = "The request could not be completed. The authorization token is either missing or invalid, or it has expired.";
const TOKEN_DETAIL_MESSAGE: &str =
    "The authorization token is either missing or invalid, or it has expired.";

/// Builds one entry of a P1Error `details` array.
pub(crate) fn detail(code: &str, target: &str, message: impl Into<String>) -> Value {
    json!({"code": code, "target": target, "message": message.into()})
}

/// Builds a `details` entry that also carries an `innerError` object.
pub(crate) fn detail_with(
    code: &str,
    target: &str,
    message: impl Into<String>,
    inner: Value,
) -> Value {
    let mut entry = detail(code, target, message);
    entry["innerError"] = inner;
    entry
}

/// Answers with a P1Error whose `id` is the request's correlation id. An empty `details`
/// is left out, as PingOne does for errors such as `NOT_FOUND`.
pub(crate) fn p1_error(
    ctx: &Ctx,
    status: StatusCode,
    code: &str,
    message: &str,
    details: Vec<Value>,
) -> Response {
    let mut body = json!({"id": ctx.correlation_id, "code": code, "message": message});
    if !details.is_empty() {
        body["details"] = Value::Array(details);
    }
    json_response(status, &body, "application/json")
}

/// Answers 400 `INVALID_DATA` with field-level details.
pub(crate) fn invalid_data(ctx: &Ctx, details: Vec<Value>) -> Response {
    p1_error(
        ctx,
        StatusCode::BAD_REQUEST,
        "INVALID_DATA",
        INVALID_DATA_MESSAGE,
        details,
    )
}

/// Answers 400 `INVALID_REQUEST`, e.g. for a body that is not JSON.
pub(crate) fn invalid_request(ctx: &Ctx, details: Vec<Value>) -> Response {
    p1_error(
        ctx,
        StatusCode::BAD_REQUEST,
        "INVALID_REQUEST",
        INVALID_REQUEST_MESSAGE,
        details,
    )
}

/// Answers 415 `INVALID_REQUEST` naming the media type the endpoint wants.
pub(crate) fn unsupported_media_type(ctx: &Ctx, wanted: &str) -> Response {
    p1_error(
        ctx,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "INVALID_REQUEST",
        &format!("The request could not be completed. Content type must be '{wanted}'."),
        Vec::new(),
    )
}

/// Answers 404 `NOT_FOUND`.
pub(crate) fn not_found(ctx: &Ctx) -> Response {
    p1_error(
        ctx,
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        NOT_FOUND_MESSAGE,
        Vec::new(),
    )
}

/// Answers 401 `ACCESS_FAILED` / `INVALID_TOKEN` for a missing, bad or expired credential.
pub(crate) fn unauthorized(ctx: &Ctx) -> Response {
    let mut response = p1_error(
        ctx,
        StatusCode::UNAUTHORIZED,
        "ACCESS_FAILED",
        UNAUTHORIZED_MESSAGE,
        vec![detail(
            "INVALID_TOKEN",
            "Authentication Credentials",
            TOKEN_DETAIL_MESSAGE,
        )],
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Answers 403 `ACCESS_FAILED` / `INSUFFICIENT_PERMISSIONS`.
pub(crate) fn forbidden(ctx: &Ctx) -> Response {
    p1_error(
        ctx,
        StatusCode::FORBIDDEN,
        "ACCESS_FAILED",
        FORBIDDEN_MESSAGE,
        vec![detail(
            "INSUFFICIENT_PERMISSIONS",
            "Authentication Credentials",
            "The actor attempting to perform the request is not authorized.",
        )],
    )
}

/// Answers 405 for a method the path does not support.
pub(crate) fn method_not_allowed(ctx: &Ctx) -> Response {
    p1_error(
        ctx,
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        "The request could not be completed. The requested method is not supported for this resource.",
        Vec::new(),
    )
}

/// Answers with an RFC 6749 error body whose description ends with the correlation id,
/// as PingOne's does. 401 answers carry `WWW-Authenticate` (RFC 6749 §5.2).
pub(crate) fn oauth_error(
    ctx: &Ctx,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    let body = json!({
        "error": error,
        "error_description": format!("{description} (Correlation ID: {})", ctx.correlation_id),
    });
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"PingOne\""),
        );
    }
    response
}
