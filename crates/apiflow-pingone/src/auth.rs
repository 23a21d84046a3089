//! The sign-on half of the auth API under `/{envID}`: `/as/authorize`, the flows API,
//! `/as/resume` and a placeholder sign-on page.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse as _, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::clock::iso;
use super::error::{self, detail, detail_with, oauth_error};
use super::http::{Ctx, cookie, form_pairs, hal, has_media_type, json_object, param};
use super::password;
use super::state::{
    CODE_TTL, Challenge, Code, FLOW_TTL, Flow, FlowStatus, LOCKOUT_DURATION, LOCKOUT_FAILURES,
    SESSION_TTL, Session, Shared, State,
};
use super::validate::Fields;

type Reply = Result<Response, Response>;

/// Scopes the emulated environment knows (the OpenID Connect standard set).
pub(crate) const SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "address",
    "phone",
    "offline_access",
];

const USERNAME_PASSWORD_CHECK: &str = "application/vnd.pingidentity.usernamePassword.check+json";
const FORM: &str = "application/x-www-form-urlencoded";

/// Builds the sign-on routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/{env}/as/authorize",
            get(authorize_get).post(authorize_post),
        )
        .route("/{env}/flows/{id}", get(get_flow).post(post_flow))
        .route("/{env}/as/resume", get(resume))
        .route("/{env}/signon/", get(signon_page))
        .route("/{env}/signon", get(signon_page))
}

async fn authorize_get(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let pairs = form_pairs(query.unwrap_or_default().as_bytes());
    start_flow(&shared, &ctx, &env, &pairs)
}

async fn authorize_post(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    if !has_media_type(&headers, FORM) {
        return Err(oauth_error(
            &ctx,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The authorization request body must be application/x-www-form-urlencoded",
        ));
    }
    start_flow(&shared, &ctx, &env, &form_pairs(&body))
}

/// Validates an authorization request and starts a sign-on flow for it. Every error is a
/// 400 JSON answer: redirecting is only safe once `redirect_uri` is known to be registered,
/// and answering directly keeps workflows from chasing error redirects.
fn start_flow(shared: &Shared, ctx: &Ctx, env: &str, pairs: &[(String, String)]) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(ctx));
    }
    let bad = |error: &str, description: &str| {
        oauth_error(ctx, StatusCode::BAD_REQUEST, error, description)
    };
    let client_id =
        param(pairs, "client_id").ok_or_else(|| bad("invalid_request", "client_id is required"))?;
    let mut state = shared.lock();
    let app = state
        .app(client_id)
        .filter(|app| app.enabled)
        .ok_or_else(|| bad("invalid_request", "Application not found or not enabled"))?;
    let redirect_uri = param(pairs, "redirect_uri")
        .ok_or_else(|| bad("invalid_request", "redirect_uri is required"))?;
    if !app.redirect_uris.iter().any(|uri| uri == redirect_uri) {
        return Err(bad(
            "invalid_request",
            "Redirect URI mismatch: the redirect_uri is not registered for this application",
        ));
    }
    let response_type = param(pairs, "response_type")
        .ok_or_else(|| bad("invalid_request", "response_type is required"))?;
    if response_type != "code" || !app.response_types.iter().any(|r| r == "CODE") {
        return Err(bad(
            "unsupported_response_type",
            &format!("The response_type '{response_type}' is not allowed for this application"),
        ));
    }
    if !app.has_grant("AUTHORIZATION_CODE") {
        return Err(bad(
            "unauthorized_client",
            "The application does not have the AUTHORIZATION_CODE grant type",
        ));
    }
    let scopes: Vec<String> = param(pairs, "scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if scopes.is_empty() {
        return Err(bad("invalid_scope", "At least one scope must be requested"));
    }
    if let Some(unknown) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
        return Err(bad(
            "invalid_scope",
            &format!("The scope '{unknown}' is not granted to this application"),
        ));
    }
    let pi_mode = match param(pairs, "response_mode") {
        None | Some("query") => false,
        Some("pi.flow") => true,
        Some(other) => {
            return Err(bad(
                "invalid_request",
                &format!("The response_mode '{other}' is not supported by the emulator"),
            ));
        }
    };
    let challenge = match param(pairs, "code_challenge") {
        None => None,
        Some(value) => {
            let method = param(pairs, "code_challenge_method").unwrap_or("plain");
            if method != "S256" && method != "plain" {
                return Err(bad(
                    "invalid_request",
                    "code_challenge_method must be S256 or plain",
                ));
            }
            if !(43..=128).contains(&value.len()) {
                return Err(bad(
                    "invalid_request",
                    "code_challenge must be 43 to 128 characters long",
                ));
            }
            Some(Challenge {
                value: value.to_owned(),
                method: method.to_owned(),
            })
        }
    };
    match (app.pkce_enforcement.as_str(), &challenge) {
        ("REQUIRED" | "S256_REQUIRED", None) => {
            return Err(bad(
                "invalid_request",
                "A code_challenge is required by this application",
            ));
        }
        ("S256_REQUIRED", Some(c)) if c.method != "S256" => {
            return Err(bad(
                "invalid_request",
                "code_challenge_method must be S256 for this application",
            ));
        }
        _ => {}
    }
    let app_name = app.name.clone();
    let app_id = app.id.clone();
    let now = shared.clock.now();
    let flow = Flow {
        id: state.ids.uuid(),
        app_id,
        redirect_uri: redirect_uri.to_owned(),
        pi_mode,
        state: param(pairs, "state").map(str::to_owned),
        nonce: param(pairs, "nonce").map(str::to_owned),
        scopes,
        challenge,
        status: FlowStatus::UsernamePasswordRequired,
        user_id: None,
        session_id: None,
        created_at: now,
        expires_at: now + FLOW_TTL,
    };
    forget_expired(&mut state, now);
    let response = if pi_mode {
        hal(
            StatusCode::OK,
            &flow_json(shared, &ctx.base, &flow, &app_name, None),
        )
    } else {
        redirect(&sign_on_url(shared, &ctx.base, &flow.id))
    };
    state.flows.insert(flow.id.clone(), flow);
    Ok(response)
}

/// Drops flows and codes nobody can use any more, so long runs do not grow without bound.
fn forget_expired(state: &mut State, now: SystemTime) {
    state.flows.retain(|_, flow| flow.expires_at > now);
    state
        .codes
        .retain(|_, code| code.expires_at > now || code.redeemed);
}

fn redirect(location: &str) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

fn sign_on_url(shared: &Shared, base: &str, flow_id: &str) -> String {
    format!("{base}/{}/signon/?flowId={flow_id}", shared.env_id)
}

/// Renders a flow the way the flows API shows it in its current status.
fn flow_json(
    shared: &Shared,
    base: &str,
    flow: &Flow,
    app_name: &str,
    user: Option<(&str, &str)>,
) -> Value {
    let env = &shared.env_id;
    let href = format!("{base}/{env}/flows/{}", flow.id);
    let mut links = json!({"self": {"href": href}});
    if flow.status == FlowStatus::UsernamePasswordRequired {
        links["usernamePassword.check"] = json!({"href": href});
        links["password.forgot"] = json!({"href": href});
    }
    links["signOnPage"] = json!({"href": sign_on_url(shared, base, &flow.id)});
    let mut embedded = json!({"application": {"name": app_name}});
    if let Some((id, username)) = user {
        embedded["user"] = json!({"id": id, "username": username});
    }
    let mut body = json!({
        "_links": links,
        "_embedded": embedded,
        "id": flow.id,
        "environment": {"id": env},
    });
    if let Some(session_id) = &flow.session_id {
        body["session"] = json!({"id": session_id});
    }
    body["resumeUrl"] = json!(format!("{base}/{env}/as/resume?flowId={}", flow.id));
    body["status"] = json!(flow.status.as_str());
    body["createdAt"] = json!(iso(flow.created_at));
    body["expiresAt"] = json!(iso(flow.expires_at));
    body
}

/// Returns the live flow `id`, or a 404 for unknown and expired flows alike.
fn live_flow<'s>(
    state: &'s mut State,
    ctx: &Ctx,
    id: &str,
    now: SystemTime,
) -> Result<&'s mut Flow, Response> {
    state
        .flows
        .get_mut(id)
        .filter(|flow| flow.expires_at > now)
        .ok_or_else(|| error::not_found(ctx))
}

/// Returns what a flow shows about its application and signed-on user.
fn flow_parties(state: &State, flow_id: &str) -> (String, Option<(String, String)>) {
    let flow = state.flows.get(flow_id);
    let app_name = flow
        .and_then(|f| state.app(&f.app_id))
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let user = flow
        .and_then(|f| f.user_id.as_deref())
        .and_then(|id| state.user(id))
        .map(|u| (u.id.clone(), u.username.clone()));
    (app_name, user)
}

async fn get_flow(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(&ctx));
    }
    let now = shared.clock.now();
    let mut state = shared.lock();
    live_flow(&mut state, &ctx, &id, now)?;
    let (app_name, user) = flow_parties(&state, &id);
    let flow = &state.flows[&id];
    let user = user.as_ref().map(|(i, u)| (i.as_str(), u.as_str()));
    Ok(hal(
        StatusCode::OK,
        &flow_json(&shared, &ctx.base, flow, &app_name, user),
    ))
}

/// Checks submitted credentials (`usernamePassword.check`) and, on success, signs the user
/// on: the flow completes and the `ST` session cookie is set.
async fn post_flow(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(&ctx));
    }
    if !has_media_type(&headers, USERNAME_PASSWORD_CHECK) {
        return Err(error::unsupported_media_type(&ctx, USERNAME_PASSWORD_CHECK));
    }
    let now = shared.clock.now();
    let mut state = shared.lock();
    let status = live_flow(&mut state, &ctx, &id, now)?.status;
    if status != FlowStatus::UsernamePasswordRequired {
        return Err(error::invalid_request(
            &ctx,
            vec![detail(
                "INVALID_VALUE",
                "status",
                format!(
                    "The flow is {} and does not accept usernamePassword.check.",
                    status.as_str()
                ),
            )],
        ));
    }
    let body = json_object(&ctx, &body)?;
    let mut f = Fields::new(&body);
    let username = f.string("username", true);
    let password = f.string("password", true);
    let (Some(username), Some(password)) = (username, password) else {
        return Err(error::invalid_data(&ctx, f.details));
    };
    let user_id = check_credentials(&mut state, &ctx, &username, &password, now)?;
    let session = Session {
        id: state.ids.uuid(),
        user_id: user_id.clone(),
        token: state.ids.uuid(),
        auth_time: now,
        expires_at: now + SESSION_TTL,
    };
    let flow = live_flow(&mut state, &ctx, &id, now)?;
    flow.status = FlowStatus::Completed;
    flow.user_id = Some(user_id);
    flow.session_id = Some(session.id.clone());
    let token = session.token.clone();
    state.sessions.insert(session.id.clone(), session);
    let (app_name, user) = flow_parties(&state, &id);
    let user = user.as_ref().map(|(i, u)| (i.as_str(), u.as_str()));
    let mut flow_body = flow_json(&shared, &ctx.base, &state.flows[&id], &app_name, user);
    // The completed flow only links to itself.
    flow_body["_links"] = json!({"self": flow_body["_links"]["self"]});
    let mut response = hal(StatusCode::OK, &flow_body);
    for cookie in session_cookies(&shared.env_id, &token, now, ctx.secure) {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// Verifies a username and password under the Standard policy's lockout rules and returns the
/// user's id.
fn check_credentials(
    state: &mut State,
    ctx: &Ctx,
    username: &str,
    password: &str,
    now: SystemTime,
) -> Result<String, Response> {
    let unknown = || {
        error::invalid_data(
            ctx,
            vec![detail(
                "INVALID_VALUE",
                "username",
                "Invalid username and/or password.",
            )],
        )
    };
    let user = state
        .users
        .iter_mut()
        .find(|u| u.username.eq_ignore_ascii_case(username))
        .filter(|u| u.enabled)
        .ok_or_else(unknown)?;
    if let Some(until) = user.locked_until {
        if until > now {
            let seconds = until.duration_since(now).map_or(0, |d| d.as_secs());
            return Err(error::invalid_data(
                ctx,
                vec![detail_with(
                    "ACCOUNT_NOT_USABLE",
                    "password",
                    "The account is locked because of too many failed sign-on attempts.",
                    json!({"secondsUntilUnlock": seconds}),
                )],
            ));
        }
        user.locked_until = None;
        user.failures = 0;
    }
    let Some(stored) = &user.password else {
        return Err(error::invalid_data(
            ctx,
            vec![detail(
                "NO_PASSWORD",
                "password",
                "The user does not have a password.",
            )],
        ));
    };
    if password::hash(&stored.salt, password) != stored.hash {
        user.failures += 1;
        let remaining = LOCKOUT_FAILURES.saturating_sub(user.failures);
        if remaining == 0 {
            user.locked_until = Some(now + LOCKOUT_DURATION);
        }
        return Err(error::invalid_data(
            ctx,
            vec![detail_with(
                "INVALID_VALUE",
                "password",
                "The provided password did not match provisioned password",
                json!({"failuresRemaining": remaining}),
            )],
        ));
    }
    user.failures = 0;
    Ok(user.id.clone())
}

/// Builds the `ST` session cookie and its `ST-NO-SS` twin (for clients that mishandle
/// `SameSite=None`). PingOne marks them `Secure; SameSite=None`; over plain http that would
/// be refused by browsers and by jars for non-loopback hosts, so the emulator sends `Secure`
/// only to https clients and falls back to `SameSite=Lax`.
fn session_cookies(env_id: &str, token: &str, now: SystemTime, secure: bool) -> [String; 2] {
    let expires = httpdate::fmt_http_date(now + SESSION_TTL);
    let max_age = SESSION_TTL.as_secs();
    let common = format!("Path=/{env_id}; Max-Age={max_age}; Expires={expires}");
    if secure {
        [
            format!("ST={token}; {common}; Secure; HttpOnly; SameSite=None"),
            format!("ST-NO-SS={token}; {common}; Secure; HttpOnly"),
        ]
    } else {
        [
            format!("ST={token}; {common}; HttpOnly; SameSite=Lax"),
            format!("ST-NO-SS={token}; {common}; HttpOnly"),
        ]
    }
}

/// Finishes a completed flow: checks the session cookie and issues the authorization code,
/// by redirect or, for `pi.flow`, in JSON. A flow resumes once; its code is single-use.
async fn resume(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(&ctx));
    }
    let pairs = form_pairs(query.unwrap_or_default().as_bytes());
    let flow_id = param(&pairs, "flowId").ok_or_else(|| {
        error::invalid_data(
            &ctx,
            vec![detail(
                "REQUIRED_VALUE",
                "flowId",
                "A value is required for 'flowId'.",
            )],
        )
    })?;
    let now = shared.clock.now();
    let mut state = shared.lock();
    let flow = live_flow(&mut state, &ctx, flow_id, now)?;
    if flow.status != FlowStatus::Completed {
        return Err(error::invalid_request(
            &ctx,
            vec![detail(
                "INVALID_VALUE",
                "flowId",
                format!(
                    "The flow is {} and cannot be resumed yet.",
                    flow.status.as_str()
                ),
            )],
        ));
    }
    let session_id = flow.session_id.clone().unwrap_or_default();
    // Either cookie identifies the session; a client may have kept only one of them.
    let presented = cookie(&headers, "ST").or_else(|| cookie(&headers, "ST-NO-SS"));
    let session_ok = state
        .sessions
        .get(&session_id)
        .is_some_and(|s| s.expires_at > now && presented.as_deref() == Some(s.token.as_str()));
    if !session_ok {
        return Err(error::unauthorized(&ctx));
    }
    let (app_name, user) = flow_parties(&state, flow_id);
    let Some(flow) = state.flows.remove(flow_id) else {
        return Err(error::not_found(&ctx));
    };
    let code_value = state.ids.uuid();
    state.codes.insert(
        code_value.clone(),
        Code {
            app_id: flow.app_id.clone(),
            redirect_uri: flow.redirect_uri.clone(),
            user_id: flow.user_id.clone().unwrap_or_default(),
            session_id,
            nonce: flow.nonce.clone(),
            scopes: flow.scopes.clone(),
            challenge: flow.challenge.clone(),
            expires_at: now + CODE_TTL,
            redeemed: false,
            family_id: None,
        },
    );
    if flow.pi_mode {
        let user = user.as_ref().map(|(i, u)| (i.as_str(), u.as_str()));
        let mut body = flow_json(&shared, &ctx.base, &flow, &app_name, user);
        let mut authorize_response = json!({"code": code_value});
        if let Some(state) = &flow.state {
            authorize_response["state"] = json!(state);
        }
        body["authorizeResponse"] = authorize_response;
        return Ok(hal(StatusCode::OK, &body));
    }
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("code", &code_value);
    if let Some(state) = &flow.state {
        query.append_pair("state", state);
    }
    let separator = if flow.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(redirect(&format!(
        "{}{separator}{}",
        flow.redirect_uri,
        query.finish()
    )))
}

/// Serves a minimal stand-in for PingOne's hosted sign-on page.
async fn signon_page(
    AxState(shared): AxState<Arc<Shared>>,
    Path(env): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if env != shared.env_id {
        return StatusCode::NOT_FOUND.into_response();
    }
    let pairs = form_pairs(query.unwrap_or_default().as_bytes());
    let flow_id: String = param(&pairs, "flowId")
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    Html(format!(
        "<!doctype html><title>Sign On</title><h1>Sign On</h1>\
         <p>Flow <code>{flow_id}</code>: submit credentials to <code>POST /{env}/flows/{flow_id}</code> \
         with <code>{USERNAME_PASSWORD_CHECK}</code>.</p>",
        env = shared.env_id
    ))
    .into_response()
}
