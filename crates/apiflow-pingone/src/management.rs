//! The management API under `/v1/environments/{envID}`: applications and their secret,
//! populations, users and user passwords.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, put};
use serde_json::{Map, Value, json};

use super::clock::{iso, unix_seconds};
use super::error::{self, detail, detail_with};
use super::http::{Ctx, created, hal, has_media_type, json_object};
use super::password;
use super::state::{App, Password, Population, Shared, User};
use super::validate::Fields;

type Reply = Result<Response, Response>;

const APP_TYPES: &[&str] = &[
    "WEB_APP",
    "NATIVE_APP",
    "SINGLE_PAGE_APP",
    "WORKER",
    "SERVICE",
    "CUSTOM_APP",
    "PING_ONE_ADMIN_CONSOLE",
    "PING_ONE_PORTAL",
    "PING_ONE_SELF_SERVICE",
    "TEMPLATE_APP",
    "PORTAL_LINK_APP",
];
const PROTOCOLS: &[&str] = &["OPENID_CONNECT", "SAML", "WS_FED", "EXTERNAL_LINK"];
const GRANT_TYPES: &[&str] = &[
    "AUTHORIZATION_CODE",
    "IMPLICIT",
    "REFRESH_TOKEN",
    "CLIENT_CREDENTIALS",
    "DEVICE_CODE",
    "TOKEN_EXCHANGE",
    "CIBA",
];
const RESPONSE_TYPES: &[&str] = &["TOKEN", "ID_TOKEN", "CODE"];
const AUTH_METHODS: &[&str] = &[
    "NONE",
    "CLIENT_SECRET_BASIC",
    "CLIENT_SECRET_POST",
    "PRIVATE_KEY_JWT",
    "CLIENT_SECRET_JWT",
];
const PKCE: &[&str] = &["OPTIONAL", "REQUIRED", "S256_REQUIRED"];
const REFRESH_TOKEN_TYPES: &[&str] = &["JSON_WEB_TOKEN", "OPAQUE_TOKEN"];

const PASSWORD_SET: &str = "application/vnd.pingidentity.password.set+json";

/// Builds the management routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/v1/environments/{env}", get(get_environment))
        .route(
            "/v1/environments/{env}/applications",
            get(list_apps).post(create_app),
        )
        .route(
            "/v1/environments/{env}/applications/{id}",
            get(get_app).put(update_app).delete(delete_app),
        )
        .route(
            "/v1/environments/{env}/applications/{id}/secret",
            get(get_secret),
        )
        .route(
            "/v1/environments/{env}/populations",
            get(list_populations).post(create_population),
        )
        .route(
            "/v1/environments/{env}/populations/{id}",
            get(get_population).delete(delete_population),
        )
        .route(
            "/v1/environments/{env}/users",
            get(list_users).post(create_user),
        )
        .route(
            "/v1/environments/{env}/users/{id}",
            get(get_user).delete(delete_user),
        )
        .route(
            "/v1/environments/{env}/users/{id}/password",
            put(set_password),
        )
}

/// Admits only a live worker access token of this environment, then checks the path's env.
fn authorize(shared: &Shared, ctx: &Ctx, headers: &HeaderMap, env: &str) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| error::unauthorized(ctx))?;
    let claims = shared
        .signer
        .verify(token)
        .ok_or_else(|| error::unauthorized(ctx))?;
    let now = unix_seconds(shared.clock.now());
    let live = claims
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|exp| exp > now);
    let same_env = claims.get("env").and_then(Value::as_str) == Some(shared.env_id.as_str());
    if !live || !same_env {
        return Err(error::unauthorized(ctx));
    }
    let client_id = claims
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // A user's access token is genuine but carries no management roles.
    let is_worker = claims.get("sid").is_none()
        && shared
            .lock()
            .app(client_id)
            .is_some_and(|app| app.kind == "WORKER");
    if !is_worker {
        return Err(error::forbidden(ctx));
    }
    if env != shared.env_id {
        return Err(error::not_found(ctx));
    }
    Ok(())
}

/// Parses a JSON body after checking it is declared as `application/json`.
fn json_body(ctx: &Ctx, headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, Response> {
    if !has_media_type(headers, "application/json") {
        return Err(error::unsupported_media_type(ctx, "application/json"));
    }
    json_object(ctx, body)
}

fn link(href: impl Into<String>) -> Value {
    json!({"href": href.into()})
}

fn list(ctx: &Ctx, shared: &Shared, kind: &str, items: Vec<Value>) -> Response {
    let env = shared.env_href(&ctx.base);
    let count = items.len();
    let mut embedded = Map::new();
    embedded.insert(kind.to_owned(), Value::Array(items));
    hal(
        StatusCode::OK,
        &json!({
            "_links": {"self": link(format!("{env}/{kind}"))},
            "_embedded": embedded,
            "count": count,
            "size": count,
        }),
    )
}

async fn get_environment(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let href = shared.env_href(&ctx.base);
    Ok(hal(
        StatusCode::OK,
        &json!({
            "_links": {"self": link(href.clone())},
            "id": shared.env_id,
            "name": "Emulated Environment",
            "type": "SANDBOX",
            "region": "NA",
            "organization": {"id": shared.org_id},
        }),
    ))
}

// ----- applications -----

fn app_json(shared: &Shared, base: &str, app: &App) -> Value {
    let env = shared.env_href(base);
    let href = format!("{env}/applications/{}", app.id);
    let mut body = json!({
        "_links": {
            "self": link(href.clone()),
            "environment": link(env),
            "attributes": link(format!("{href}/attributes")),
            "secret": link(format!("{href}/secret")),
            "grants": link(format!("{href}/grants")),
        },
        "environment": {"id": shared.env_id},
        "id": app.id,
        "name": app.name,
    });
    let obj = body.as_object_mut().expect("built as an object");
    if let Some(description) = &app.description {
        obj.insert("description".into(), json!(description));
    }
    obj.extend([
        ("enabled".into(), json!(app.enabled)),
        ("hiddenFromAppPortal".into(), json!(false)),
        ("type".into(), json!(app.kind)),
        ("protocol".into(), json!(app.protocol)),
        ("createdAt".into(), json!(iso(app.created_at))),
        ("updatedAt".into(), json!(iso(app.updated_at))),
        ("assignActorRoles".into(), json!(false)),
        ("responseTypes".into(), json!(app.response_types)),
        ("grantTypes".into(), json!(app.grant_types)),
        ("idpSignoff".into(), json!(false)),
        (
            "additionalRefreshTokenReplayProtectionEnabled".into(),
            json!(app.replay_protection),
        ),
        (
            "tokenEndpointAuthMethod".into(),
            json!(app.token_endpoint_auth_method),
        ),
        ("pkceEnforcement".into(), json!(app.pkce_enforcement)),
        ("parRequirement".into(), json!("OPTIONAL")),
        ("devicePollingInterval".into(), json!(5)),
    ]);
    if !app.redirect_uris.is_empty() {
        obj.insert("redirectUris".into(), json!(app.redirect_uris));
    }
    if let Some(uris) = &app.post_logout_redirect_uris {
        obj.insert("postLogoutRedirectUris".into(), json!(uris));
    }
    let optional = [
        ("refreshTokenDuration", app.refresh_token_duration),
        (
            "refreshTokenRollingDuration",
            app.refresh_token_rolling_duration,
        ),
        (
            "refreshTokenRollingGracePeriodDuration",
            app.refresh_token_rolling_grace_period_duration,
        ),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            obj.insert(key.into(), json!(value));
        }
    }
    if let Some(kind) = &app.refresh_token_type {
        obj.insert("refreshTokenType".into(), json!(kind));
    }
    if let Some(jwks) = &app.jwks {
        obj.insert("jwks".into(), json!(jwks));
    }
    if let Some(url) = &app.jwks_url {
        obj.insert("jwksUrl".into(), json!(url));
    }
    obj.insert("parTimeout".into(), json!(60));
    obj.insert("deviceTimeout".into(), json!(600));
    body
}

/// Validates an application body into the fields an [`App`] stores (id, secret and times are
/// left for the caller).
fn app_from_body(body: &Map<String, Value>) -> Result<App, Vec<Value>> {
    let mut f = Fields::new(body);
    let name = f.string("name", true);
    let description = f.string("description", false);
    let enabled = f.boolean("enabled", true);
    let kind = f.one_of("type", APP_TYPES, true);
    let protocol = f.one_of("protocol", PROTOCOLS, true);
    let oidc = protocol.as_deref() == Some("OPENID_CONNECT");
    let auth_method = f.one_of("tokenEndpointAuthMethod", AUTH_METHODS, oidc);
    let grant_types = f
        .strings("grantTypes", Some(GRANT_TYPES))
        .unwrap_or_default();
    let response_types = f
        .strings("responseTypes", Some(RESPONSE_TYPES))
        .unwrap_or_default();
    let pkce = f.one_of("pkceEnforcement", PKCE, false);
    let redirect_uris = f.strings("redirectUris", None).unwrap_or_default();
    for (index, uri) in redirect_uris.iter().enumerate() {
        if url::Url::parse(uri).is_err() {
            f.details.push(detail(
                "INVALID_VALUE",
                &format!("redirectUris[{index}]"),
                format!("'{uri}' is not a valid absolute URI."),
            ));
        }
    }
    let post_logout = f.strings("postLogoutRedirectUris", None);
    let refresh_duration = f.number("refreshTokenDuration", 60, 2_147_483_647);
    let rolling = f.number("refreshTokenRollingDuration", 60, 2_147_483_647);
    let grace = f.number("refreshTokenRollingGracePeriodDuration", 0, 86_400);
    let replay = f.boolean("additionalRefreshTokenReplayProtectionEnabled", false);
    let refresh_type = f.one_of("refreshTokenType", REFRESH_TOKEN_TYPES, false);
    let jwks = f.string("jwks", false);
    let jwks_url = f.string("jwksUrl", false);
    if let Some(jwks) = &jwks
        && !is_jwks(jwks)
    {
        f.details.push(detail(
            "INVALID_VALUE",
            "jwks",
            "'jwks' must be a JSON Web Key Set: a JSON object with a 'keys' array.",
        ));
    }
    if let Some(url) = &jwks_url
        && url::Url::parse(url).is_err()
    {
        f.details.push(detail(
            "INVALID_VALUE",
            "jwksUrl",
            format!("'{url}' is not a valid absolute URI."),
        ));
    }
    if auth_method.as_deref() == Some("PRIVATE_KEY_JWT") && jwks.is_none() && jwks_url.is_none() {
        f.details.push(detail(
            "REQUIRED_VALUE",
            "jwks",
            "A value is required for 'jwks' or 'jwksUrl' when 'tokenEndpointAuthMethod' is PRIVATE_KEY_JWT.",
        ));
    }
    if let (Some(duration), Some(rolling)) = (refresh_duration, rolling)
        && duration > rolling
    {
        f.details.push(detail(
            "INVALID_VALUE",
            "refreshTokenDuration",
            "'refreshTokenDuration' must not exceed 'refreshTokenRollingDuration'.",
        ));
    }
    if grant_types.iter().any(|g| g == "AUTHORIZATION_CODE")
        && !response_types.iter().any(|r| r == "CODE")
    {
        f.details.push(detail(
            "INVALID_VALUE",
            "responseTypes",
            "The AUTHORIZATION_CODE grant type requires the CODE response type.",
        ));
    }
    let (Some(name), Some(enabled), Some(kind), Some(protocol)) = (name, enabled, kind, protocol)
    else {
        return Err(f.details);
    };
    if !f.details.is_empty() {
        return Err(f.details);
    }
    Ok(App {
        id: String::new(),
        secret: String::new(),
        secret_reads_pending: 0,
        name,
        description,
        enabled,
        kind,
        protocol,
        response_types,
        grant_types,
        token_endpoint_auth_method: auth_method.unwrap_or_else(|| "NONE".to_owned()),
        pkce_enforcement: pkce.unwrap_or_else(|| "OPTIONAL".to_owned()),
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        refresh_token_duration: refresh_duration,
        refresh_token_rolling_duration: rolling,
        refresh_token_rolling_grace_period_duration: grace,
        replay_protection: replay.unwrap_or(true),
        refresh_token_type: refresh_type,
        jwks,
        jwks_url,
        created_at: std::time::SystemTime::UNIX_EPOCH,
        updated_at: std::time::SystemTime::UNIX_EPOCH,
    })
}

/// Tells whether text is a JWKS: a JSON object with a `keys` list.
fn is_jwks(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("keys").is_some_and(Value::is_array))
}

fn name_taken(existing_id: &str) -> Value {
    detail_with(
        "UNIQUENESS_VIOLATION",
        "name",
        "A resource with the specified name already exists.",
        json!({"existingId": existing_id}),
    )
}

async fn create_app(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let body = json_body(&ctx, &headers, &body)?;
    let mut app = app_from_body(&body).map_err(|details| error::invalid_data(&ctx, details))?;
    let now = shared.clock.now();
    let mut state = shared.lock();
    if let Some(existing) = state.apps.iter().find(|a| a.name == app.name) {
        return Err(error::invalid_data(&ctx, vec![name_taken(&existing.id)]));
    }
    app.id = state.ids.uuid();
    app.secret = state.ids.secret();
    app.secret_reads_pending = state.secret_not_ready_reads;
    app.created_at = now;
    app.updated_at = now;
    let response = created(&app_json(&shared, &ctx.base, &app));
    state.apps.push(app);
    Ok(response)
}

async fn update_app(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let body = json_body(&ctx, &headers, &body)?;
    let now = shared.clock.now();
    let mut state = shared.lock();
    let index = state
        .apps
        .iter()
        .position(|a| a.id == id)
        .ok_or_else(|| error::not_found(&ctx))?;
    let update = app_from_body(&body).map_err(|details| error::invalid_data(&ctx, details))?;
    if let Some(other) = state
        .apps
        .iter()
        .find(|a| a.name == update.name && a.id != id)
    {
        return Err(error::invalid_data(&ctx, vec![name_taken(&other.id)]));
    }
    // PUT replaces the configuration; identity, secret and creation time stay.
    let current = &state.apps[index];
    let app = App {
        id: current.id.clone(),
        secret: current.secret.clone(),
        secret_reads_pending: current.secret_reads_pending,
        created_at: current.created_at,
        updated_at: now,
        ..update
    };
    let response = hal(StatusCode::OK, &app_json(&shared, &ctx.base, &app));
    state.apps[index] = app;
    Ok(response)
}

async fn list_apps(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let items = shared
        .lock()
        .apps
        .iter()
        .map(|app| app_json(&shared, &ctx.base, app))
        .collect();
    Ok(list(&ctx, &shared, "applications", items))
}

async fn get_app(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let state = shared.lock();
    let app = state.app(&id).ok_or_else(|| error::not_found(&ctx))?;
    Ok(hal(StatusCode::OK, &app_json(&shared, &ctx.base, app)))
}

async fn delete_app(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let mut state = shared.lock();
    let before = state.apps.len();
    state.apps.retain(|a| a.id != id);
    if state.apps.len() == before {
        return Err(error::not_found(&ctx));
    }
    // The app's pending sign-ons, codes and refresh tokens die with it.
    state.flows.retain(|_, flow| flow.app_id != id);
    state.codes.retain(|_, code| code.app_id != id);
    for family in state.families.values_mut() {
        if family.app_id == id {
            family.revoked = true;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn get_secret(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let mut state = shared.lock();
    let app = state
        .apps
        .iter_mut()
        .find(|a| a.id == id)
        .ok_or_else(|| error::not_found(&ctx))?;
    // PingOne documents that the secret may 404 briefly after creation while it is generated.
    if app.secret_reads_pending > 0 {
        app.secret_reads_pending -= 1;
        return Err(error::not_found(&ctx));
    }
    let env = shared.env_href(&ctx.base);
    let href = format!("{env}/applications/{id}");
    Ok(hal(
        StatusCode::OK,
        &json!({
            "_links": {
                "self": link(format!("{href}/secret")),
                "environment": link(env),
                "application": link(href),
            },
            "environment": {"id": shared.env_id},
            "secret": app.secret,
        }),
    ))
}

// ----- populations -----

fn population_json(
    shared: &Shared,
    base: &str,
    population: &Population,
    user_count: usize,
) -> Value {
    let env = shared.env_href(base);
    let mut body = json!({
        "_links": {
            "self": link(format!("{env}/populations/{}", population.id)),
            "environment": link(env.clone()),
            "theme": link(format!("{env}/themes/{}", shared.theme_id)),
        },
        "id": population.id,
        "environment": {"id": shared.env_id},
        "name": population.name,
    });
    let obj = body.as_object_mut().expect("built as an object");
    if let Some(description) = &population.description {
        obj.insert("description".into(), json!(description));
    }
    obj.extend([
        ("userCount".into(), json!(user_count)),
        ("createdAt".into(), json!(iso(population.created_at))),
        ("updatedAt".into(), json!(iso(population.updated_at))),
        ("preferredLanguage".into(), json!("en")),
        ("theme".into(), json!({"id": shared.theme_id})),
        ("default".into(), json!(population.default)),
    ]);
    body
}

fn user_count(users: &[User], population_id: &str) -> usize {
    users
        .iter()
        .filter(|u| u.population_id == population_id)
        .count()
}

async fn create_population(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let body = json_body(&ctx, &headers, &body)?;
    let mut f = Fields::new(&body);
    let name = f.string("name", true);
    let description = f.string("description", false);
    let default = f.boolean("default", false);
    let Some(name) = name.filter(|_| f.details.is_empty()) else {
        return Err(error::invalid_data(&ctx, f.details));
    };
    let now = shared.clock.now();
    let mut state = shared.lock();
    if let Some(existing) = state.populations.iter().find(|p| p.name == name) {
        return Err(error::invalid_data(&ctx, vec![name_taken(&existing.id)]));
    }
    let population = Population {
        id: state.ids.uuid(),
        name,
        description,
        default: default.unwrap_or(false),
        created_at: now,
        updated_at: now,
    };
    let response = created(&population_json(&shared, &ctx.base, &population, 0));
    state.populations.push(population);
    Ok(response)
}

async fn list_populations(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let state = shared.lock();
    let items = state
        .populations
        .iter()
        .map(|p| population_json(&shared, &ctx.base, p, user_count(&state.users, &p.id)))
        .collect();
    Ok(list(&ctx, &shared, "populations", items))
}

async fn get_population(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let state = shared.lock();
    let population = state
        .population(&id)
        .ok_or_else(|| error::not_found(&ctx))?;
    let count = user_count(&state.users, &id);
    Ok(hal(
        StatusCode::OK,
        &population_json(&shared, &ctx.base, population, count),
    ))
}

async fn delete_population(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let mut state = shared.lock();
    if state.population(&id).is_none() {
        return Err(error::not_found(&ctx));
    }
    // Like PingOne, refuse to orphan users: their population must be emptied first.
    if user_count(&state.users, &id) > 0 {
        return Err(error::invalid_data(
            &ctx,
            vec![detail(
                "CONSTRAINT_VIOLATION",
                "population",
                "The population cannot be deleted while it contains users.",
            )],
        ));
    }
    state.populations.retain(|p| p.id != id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ----- users -----

fn user_json(shared: &Shared, base: &str, user: &User) -> Value {
    let env = shared.env_href(base);
    let href = format!("{env}/users/{}", user.id);
    let password = link(format!("{href}/password"));
    let mut body = json!({
        "_links": {
            "self": link(href.clone()),
            "population": link(format!("{env}/populations/{}", user.population_id)),
            "devices": link(format!("{href}/devices")),
            "roleAssignments": link(format!("{href}/roleAssignments")),
            "password": password,
            "password.reset": password,
            "password.set": password,
            "password.check": password,
            "password.recover": password,
            "linkedAccounts": link(format!("{href}/linkedAccounts")),
            "account.sendVerificationCode": link(href.clone()),
            "memberOfGroups": link(format!("{href}/memberOfGroups")),
        },
        "id": user.id,
        "environment": {"id": shared.env_id},
        "account": {"canAuthenticate": true, "status": "OK"},
        "createdAt": iso(user.created_at),
        "email": user.email,
        "enabled": user.enabled,
        "identityProvider": {"type": "PING_ONE"},
        "lifecycle": {"status": "ACCOUNT_OK"},
        "mfaEnabled": false,
    });
    let obj = body.as_object_mut().expect("built as an object");
    if user.given_name.is_some() || user.family_name.is_some() {
        let mut name = Map::new();
        if let Some(given) = &user.given_name {
            name.insert("given".into(), json!(given));
        }
        if let Some(family) = &user.family_name {
            name.insert("family".into(), json!(family));
        }
        obj.insert("name".into(), Value::Object(name));
    }
    obj.extend([
        ("population".into(), json!({"id": user.population_id})),
        ("updatedAt".into(), json!(iso(user.updated_at))),
        ("username".into(), json!(user.username)),
        ("verifyStatus".into(), json!("NOT_INITIATED")),
    ]);
    body
}

async fn create_user(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let body = json_body(&ctx, &headers, &body)?;
    let mut f = Fields::new(&body);
    let username = f.string("username", true);
    let email = f.string("email", true);
    let population_id = f.reference("population", true);
    let enabled = f.boolean("enabled", false);
    let given_name = f.nested_string("name", "given");
    let family_name = f.nested_string("name", "family");
    if let Some(email) = email.as_deref().filter(|e| !is_plausible_email(e)) {
        f.details.push(detail(
            "INVALID_VALUE",
            "email",
            format!("'{email}' is not a valid email address."),
        ));
    }
    let mut state = shared.lock();
    if let Some(id) = population_id
        .as_deref()
        .filter(|id| state.population(id).is_none())
    {
        f.details.push(detail(
            "INVALID_VALUE",
            "population.id",
            format!("Population '{id}' does not exist."),
        ));
    }
    let (Some(username), Some(email), Some(population_id)) = (username, email, population_id)
    else {
        return Err(error::invalid_data(&ctx, f.details));
    };
    if !f.details.is_empty() {
        return Err(error::invalid_data(&ctx, f.details));
    }
    // PingOne usernames are unique without regard to case.
    if let Some(existing) = state
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(&username))
    {
        return Err(error::invalid_data(
            &ctx,
            vec![detail_with(
                "UNIQUENESS_VIOLATION",
                "username",
                "A resource with the specified name already exists.",
                json!({"existingId": existing.id}),
            )],
        ));
    }
    let now = shared.clock.now();
    let user = User {
        id: state.ids.uuid(),
        username,
        email,
        given_name,
        family_name,
        population_id,
        enabled: enabled.unwrap_or(true),
        password: None,
        failures: 0,
        locked_until: None,
        created_at: now,
        updated_at: now,
    };
    let response = created(&user_json(&shared, &ctx.base, &user));
    state.users.push(user);
    Ok(response)
}

fn is_plausible_email(email: &str) -> bool {
    email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !email.contains(' ')
    })
}

async fn list_users(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let items = shared
        .lock()
        .users
        .iter()
        .map(|u| user_json(&shared, &ctx.base, u))
        .collect();
    Ok(list(&ctx, &shared, "users", items))
}

async fn get_user(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let state = shared.lock();
    let user = state.user(&id).ok_or_else(|| error::not_found(&ctx))?;
    Ok(hal(StatusCode::OK, &user_json(&shared, &ctx.base, user)))
}

async fn delete_user(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    let mut state = shared.lock();
    let before = state.users.len();
    state.users.retain(|u| u.id != id);
    if state.users.len() == before {
        return Err(error::not_found(&ctx));
    }
    // Deleting a user ends their sessions, which is what refresh tokens are tied to.
    state.sessions.retain(|_, s| s.user_id != id);
    state.codes.retain(|_, c| c.user_id != id);
    for family in state.families.values_mut() {
        if family.user_id == id {
            family.revoked = true;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn set_password(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path((env, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    authorize(&shared, &ctx, &headers, &env)?;
    // The media type selects the action on this path; only "set" is emulated.
    if !has_media_type(&headers, PASSWORD_SET) {
        return Err(error::unsupported_media_type(&ctx, PASSWORD_SET));
    }
    let body = json_object(&ctx, &body)?;
    let mut f = Fields::new(&body);
    let value = f.string("value", true);
    let force_change = f.boolean("forceChange", false).unwrap_or(false);
    let Some(value) = value.filter(|_| f.details.is_empty()) else {
        return Err(error::invalid_data(&ctx, f.details));
    };
    let mut state = shared.lock();
    if state.user(&id).is_none() {
        return Err(error::not_found(&ctx));
    }
    let broken = password::policy_violations(&value);
    if !broken.is_empty() {
        return Err(error::invalid_data(
            &ctx,
            vec![detail_with(
                "INVALID_VALUE",
                "password",
                "User password did not satisfy password policy requirements",
                json!({"errors": broken}),
            )],
        ));
    }
    let now = shared.clock.now();
    let salt = state.ids.uuid();
    let user = state
        .users
        .iter_mut()
        .find(|u| u.id == id)
        .ok_or_else(|| error::not_found(&ctx))?;
    user.password = Some(Password {
        hash: password::hash(&salt, &value),
        salt,
    });
    user.failures = 0;
    user.locked_until = None;
    user.updated_at = now;
    let env = shared.env_href(&ctx.base);
    let href = format!("{env}/users/{id}");
    let password = link(format!("{href}/password"));
    Ok(hal(
        StatusCode::OK,
        &json!({
            "_links": {
                "self": password,
                "environment": link(env.clone()),
                "user": link(href),
                "passwordPolicy": link(format!("{env}/passwordPolicies/{}", shared.policy_id)),
                "password.check": password,
                "password.reset": password,
                "password.set": password,
                "password.recover": password,
            },
            "environment": {"id": shared.env_id},
            "user": {"id": id},
            "passwordPolicy": {"id": shared.policy_id},
            "status": if force_change { "MUST_CHANGE_PASSWORD" } else { "OK" },
            "lastChangedAt": iso(now),
        }),
    ))
}
