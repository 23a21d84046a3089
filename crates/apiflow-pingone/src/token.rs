//! The token half of the auth API under `/{envID}/as`: the token endpoint (client credentials,
//! authorization code, refresh token with rotation), userinfo, JWKS and discovery.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::assertion::{ASSERTION_TYPE, Assertion};
use super::auth::SCOPES;
use super::clock::unix_seconds;
use super::error::{self, oauth_error};
use super::http::{Ctx, form_pairs, has_media_type, json_response, param};
use super::state::{
    ACCESS_TTL, App, Challenge, DEFAULT_REFRESH_TTL, Family, RefreshToken, Shared, State,
};

type Reply = Result<Response, Response>;

/// The authentication method PingOne calls `acr` for password sign-on.
const ACR: &str = "Single_Factor";
const REGION: &str = "NA";

/// Builds the token, userinfo, JWKS and discovery routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/{env}/as/token", post(token))
        .route("/{env}/as/userinfo", get(userinfo).post(userinfo))
        .route("/{env}/as/jwks", get(jwks))
        .route("/{env}/as/.well-known/openid-configuration", get(discovery))
}

fn bad_request(ctx: &Ctx, error: &str, description: &str) -> Response {
    oauth_error(ctx, StatusCode::BAD_REQUEST, error, description)
}

fn invalid_grant(ctx: &Ctx, description: &str) -> Response {
    bad_request(ctx, "invalid_grant", description)
}

/// PingOne's wording for every client-authentication failure (seen in Ping's own CLI tests).
fn invalid_client(ctx: &Ctx) -> Response {
    oauth_error(
        ctx,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Request denied: Unsupported authentication method",
    )
}

/// Answers a successful token request with the caching headers RFC 6749 §5.1 requires.
fn token_response(body: &Value) -> Response {
    let mut response = json_response(StatusCode::OK, body, "application/json");
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// How the client presented its credentials.
#[derive(PartialEq, Eq)]
enum AuthMethod {
    Basic,
    Post,
    None,
}

/// Authenticates the client by Basic header, form fields or a JWT client assertion, and
/// returns its application. The method used must be the one the application is configured for.
fn authenticate_client(
    state: &mut State,
    ctx: &Ctx,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    audiences: &[String],
    now: SystemTime,
) -> Result<App, Response> {
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(parse_basic(value).ok_or_else(|| invalid_client(ctx))?),
    };
    let form_id = param(pairs, "client_id");
    let form_secret = param(pairs, "client_secret");
    let assertion_type = param(pairs, "client_assertion_type");
    let assertion = param(pairs, "client_assertion");
    // RFC 6749 §2.3: one authentication method per request.
    let methods = [
        basic.is_some(),
        form_secret.is_some(),
        assertion_type.is_some() || assertion.is_some(),
    ];
    if methods.iter().filter(|&&m| m).count() > 1 {
        return Err(bad_request(
            ctx,
            "invalid_request",
            "Multiple client authentication methods were used",
        ));
    }
    if methods[2] {
        return assertion_client(
            state,
            ctx,
            assertion_type,
            assertion,
            form_id,
            audiences,
            now,
        );
    }
    let (method, id, secret) = match basic {
        Some((id, secret)) => {
            if form_id.is_some_and(|form_id| form_id != id) {
                return Err(invalid_client(ctx));
            }
            (AuthMethod::Basic, id, Some(secret))
        }
        None => match (form_id, form_secret) {
            (Some(id), Some(secret)) => (AuthMethod::Post, id.to_owned(), Some(secret.to_owned())),
            (Some(id), None) => (AuthMethod::None, id.to_owned(), None),
            (None, _) => return Err(invalid_client(ctx)),
        },
    };
    let app = state
        .app(&id)
        .filter(|app| app.enabled)
        .ok_or_else(|| invalid_client(ctx))?;
    let expected = match app.token_endpoint_auth_method.as_str() {
        "CLIENT_SECRET_BASIC" => AuthMethod::Basic,
        "CLIENT_SECRET_POST" => AuthMethod::Post,
        "NONE" => AuthMethod::None,
        // PRIVATE_KEY_JWT and CLIENT_SECRET_JWT apps must send a client assertion.
        _ => return Err(invalid_client(ctx)),
    };
    if method != expected || secret.is_some_and(|s| s != app.secret) {
        return Err(invalid_client(ctx));
    }
    Ok(app.clone())
}

/// Authenticates a client by its JWT assertion (RFC 7523 §2.2).
fn assertion_client(
    state: &mut State,
    ctx: &Ctx,
    assertion_type: Option<&str>,
    assertion: Option<&str>,
    form_id: Option<&str>,
    audiences: &[String],
    now: SystemTime,
) -> Result<App, Response> {
    let denied = |why: &str| {
        oauth_error(
            ctx,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            &format!("Request denied: {why}"),
        )
    };
    if assertion_type != Some(ASSERTION_TYPE) {
        return Err(bad_request(
            ctx,
            "invalid_request",
            &format!("client_assertion_type must be {ASSERTION_TYPE}"),
        ));
    }
    let token = assertion
        .ok_or_else(|| bad_request(ctx, "invalid_request", "client_assertion is required"))?;
    let parsed = Assertion::parse(token).map_err(|why| denied(&why))?;
    let id = parsed
        .issuer()
        .ok_or_else(|| denied("the client assertion has no iss"))?;
    if form_id.is_some_and(|form_id| form_id != id) {
        return Err(denied("client_id differs from the client assertion's iss"));
    }
    let app = state
        .app(id)
        .filter(|app| app.enabled)
        .cloned()
        .ok_or_else(|| invalid_client(ctx))?;
    if !matches!(
        app.token_endpoint_auth_method.as_str(),
        "PRIVATE_KEY_JWT" | "CLIENT_SECRET_JWT"
    ) {
        return Err(invalid_client(ctx));
    }
    parsed
        .check(&app, audiences, now, state)
        .map_err(|why| denied(&why))?;
    Ok(app)
}

/// Decodes `Basic base64(id:secret)`, undoing the form-encoding RFC 6749 §2.3.1 applies to
/// both parts.
fn parse_basic(value: &HeaderValue) -> Option<(String, String)> {
    let (scheme, encoded) = value.to_str().ok()?.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .ok()
            .map(std::borrow::Cow::into_owned)
    };
    Some((unescape(id)?, unescape(secret)?))
}

async fn token(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(&ctx));
    }
    if !has_media_type(&headers, "application/x-www-form-urlencoded") {
        return Err(bad_request(
            &ctx,
            "invalid_request",
            "The token request must be sent as application/x-www-form-urlencoded",
        ));
    }
    let pairs = form_pairs(&body);
    let now = shared.clock.now();
    let mut state = shared.lock();
    let issuer_url = shared.issuer(&ctx.base);
    let audiences = [format!("{issuer_url}/token"), issuer_url];
    let app = authenticate_client(&mut state, &ctx, &headers, &pairs, &audiences, now)?;
    let grant_type = param(&pairs, "grant_type")
        .ok_or_else(|| bad_request(&ctx, "invalid_request", "grant_type is required"))?;
    let required_grant = match grant_type {
        "client_credentials" => "CLIENT_CREDENTIALS",
        "authorization_code" => "AUTHORIZATION_CODE",
        "refresh_token" => "REFRESH_TOKEN",
        other => {
            return Err(bad_request(
                &ctx,
                "unsupported_grant_type",
                &format!("The grant type '{other}' is not supported"),
            ));
        }
    };
    if !app.has_grant(required_grant) {
        return Err(bad_request(
            &ctx,
            "unauthorized_client",
            &format!("The application is not allowed to use the grant type '{grant_type}'"),
        ));
    }
    let issuer = Issuer {
        shared: &shared,
        base: &ctx.base,
        now,
    };
    match grant_type {
        "client_credentials" => Ok(token_response(&json!({
            "access_token": issuer.access_token(&mut state, &app, None),
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL.as_secs(),
        }))),
        "authorization_code" => redeem_code(&issuer, &mut state, &ctx, &app, &pairs),
        _ => refresh(&issuer, &mut state, &ctx, &app, &pairs),
    }
}

/// The user-facing part of a token: who signed on, in which session, with what scopes.
struct Grant<'a> {
    user_id: &'a str,
    session_id: &'a str,
    scopes: &'a [String],
    auth_time: SystemTime,
    nonce: Option<&'a str>,
}

/// Mints tokens for one request.
struct Issuer<'a> {
    shared: &'a Shared,
    base: &'a str,
    now: SystemTime,
}

impl Issuer<'_> {
    fn access_token(&self, state: &mut State, app: &App, grant: Option<&Grant<'_>>) -> String {
        let shared = self.shared;
        let iat = unix_seconds(self.now);
        let mut claims = json!({
            "client_id": app.id,
            "iss": shared.issuer(self.base),
            "jti": state.ids.uuid(),
            "iat": iat,
            "exp": iat + ACCESS_TTL.as_secs(),
            // The emulated API is the audience of every access token.
            "aud": [self.base],
            "env": shared.env_id,
            "org": shared.org_id,
            "p1.region": REGION,
        });
        match grant {
            Some(grant) => {
                claims["scope"] = json!(grant.scopes.join(" "));
                claims["sub"] = json!(grant.user_id);
                claims["sid"] = json!(grant.session_id);
                claims["auth_time"] = json!(unix_seconds(grant.auth_time));
                claims["acr"] = json!(ACR);
            }
            // Client-credentials tokens act as the client itself.
            None => claims["sub"] = json!(app.id),
        }
        shared.signer.sign(&claims)
    }

    fn id_token(&self, state: &State, app: &App, grant: &Grant<'_>) -> String {
        let shared = self.shared;
        let iat = unix_seconds(self.now);
        let mut claims = json!({
            "iss": shared.issuer(self.base),
            "sub": grant.user_id,
            "aud": app.id,
            "iat": iat,
            "exp": iat + ACCESS_TTL.as_secs(),
            "acr": ACR,
            "amr": ["pwd"],
            "auth_time": unix_seconds(grant.auth_time),
            "sid": grant.session_id,
            "env": shared.env_id,
            "org": shared.org_id,
            "p1.region": REGION,
        });
        if let Some(nonce) = grant.nonce {
            claims["nonce"] = json!(nonce);
        }
        if let Some(user) = state.user(grant.user_id) {
            add_profile_claims(&mut claims, user, grant.scopes);
        }
        shared.signer.sign(&claims)
    }

    /// Issues a refresh token in `family_id`, as a JWT unless the app asks for opaque ones.
    fn refresh_token(
        &self,
        state: &mut State,
        app: &App,
        family_id: &str,
        grant: &Grant<'_>,
    ) -> String {
        let lifetime =
            Duration::from_secs(app.refresh_token_duration.unwrap_or(DEFAULT_REFRESH_TTL));
        let mut expires_at = self.now + lifetime;
        // The rolling duration caps the whole chain, counted from the first issue.
        if let (Some(rolling), Some(family)) = (
            app.refresh_token_rolling_duration,
            state.families.get(family_id),
        ) {
            expires_at = expires_at.min(family.started_at + Duration::from_secs(rolling));
        }
        let token = if app.refresh_token_type.as_deref() == Some("OPAQUE_TOKEN") {
            state.ids.secret()
        } else {
            let iat = unix_seconds(self.now);
            self.shared.signer.sign(&json!({
                "jti": state.ids.uuid(),
                "client_id": app.id,
                "iss": self.shared.issuer(self.base),
                "sub": grant.user_id,
                "sid": grant.session_id,
                "env": self.shared.env_id,
                "iat": iat,
                "exp": unix_seconds(expires_at),
            }))
        };
        state.refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                family_id: family_id.to_owned(),
                expires_at,
                rotated_at: None,
            },
        );
        token
    }

    /// Returns the token response for a user grant.
    fn user_tokens(
        &self,
        state: &mut State,
        app: &App,
        family_id: Option<&str>,
        grant: &Grant<'_>,
    ) -> Response {
        let mut body = json!({
            "access_token": self.access_token(state, app, Some(grant)),
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL.as_secs(),
            "scope": grant.scopes.join(" "),
        });
        if let Some(family_id) = family_id {
            body["refresh_token"] = json!(self.refresh_token(state, app, family_id, grant));
        }
        if grant.scopes.iter().any(|s| s == "openid") {
            body["id_token"] = json!(self.id_token(state, app, grant));
        }
        token_response(&body)
    }
}

fn add_profile_claims(claims: &mut Value, user: &super::state::User, scopes: &[String]) {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    if has("profile") {
        claims["preferred_username"] = json!(user.username);
        if let Some(given) = &user.given_name {
            claims["given_name"] = json!(given);
        }
        if let Some(family) = &user.family_name {
            claims["family_name"] = json!(family);
        }
        claims["updated_at"] = json!(unix_seconds(user.updated_at));
    }
    if has("email") {
        claims["email"] = json!(user.email);
        claims["email_verified"] = json!(false);
    }
}

fn pkce_matches(challenge: &Challenge, verifier: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed
        && match challenge.method.as_str() {
            "S256" => {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge.value
            }
            _ => verifier == challenge.value,
        }
}

/// Exchanges an authorization code. A replayed code revokes the refresh tokens it produced
/// (RFC 6749 §4.1.2).
fn redeem_code(
    issuer: &Issuer<'_>,
    state: &mut State,
    ctx: &Ctx,
    app: &App,
    pairs: &[(String, String)],
) -> Reply {
    let value = param(pairs, "code")
        .ok_or_else(|| bad_request(ctx, "invalid_request", "code is required"))?;
    let redirect_uri = param(pairs, "redirect_uri")
        .ok_or_else(|| bad_request(ctx, "invalid_request", "redirect_uri is required"))?;
    let now = issuer.now;
    let code = state
        .codes
        .get_mut(value)
        .ok_or_else(|| invalid_grant(ctx, "The authorization code is invalid or has expired"))?;
    if code.redeemed {
        if let Some(family) = code.family_id.clone() {
            state.revoke_family(&family);
        }
        return Err(invalid_grant(
            ctx,
            "The authorization code has already been used",
        ));
    }
    if code.expires_at <= now {
        return Err(invalid_grant(
            ctx,
            "The authorization code is invalid or has expired",
        ));
    }
    if code.app_id != app.id {
        return Err(invalid_grant(
            ctx,
            "The authorization code was issued to another client",
        ));
    }
    if code.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            ctx,
            "The redirect_uri does not match the authorization request",
        ));
    }
    match (&code.challenge, param(pairs, "code_verifier")) {
        (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => {}
        (None, None) => {}
        _ => return Err(invalid_grant(ctx, "PKCE verification failed")),
    }
    // Only a live session can back tokens; signing off or deleting the user ends it.
    let session = state
        .sessions
        .get(&code.session_id)
        .filter(|s| s.expires_at > now)
        .ok_or_else(|| invalid_grant(ctx, "The session for this authorization code has ended"))?;
    let auth_time = session.auth_time;
    let user_id = code.user_id.clone();
    let session_id = code.session_id.clone();
    let scopes = code.scopes.clone();
    let nonce = code.nonce.clone();
    let family_id = app.has_grant("REFRESH_TOKEN").then(|| state.ids.uuid());
    if let Some(code) = state.codes.get_mut(value) {
        code.redeemed = true;
        code.family_id.clone_from(&family_id);
    }
    if let Some(family_id) = &family_id {
        state.families.insert(
            family_id.clone(),
            Family {
                app_id: app.id.clone(),
                user_id: user_id.clone(),
                session_id: session_id.clone(),
                scopes: scopes.clone(),
                auth_time,
                started_at: now,
                revoked: false,
            },
        );
    }
    let grant = Grant {
        user_id: &user_id,
        session_id: &session_id,
        scopes: &scopes,
        auth_time,
        nonce: nonce.as_deref(),
    };
    Ok(issuer.user_tokens(state, app, family_id.as_deref(), &grant))
}

/// Exchanges a refresh token for new tokens and rotates it. Reusing a rotated token is
/// allowed within the app's grace period; later reuse is treated as theft and revokes the
/// whole family when replay protection is on.
fn refresh(
    issuer: &Issuer<'_>,
    state: &mut State,
    ctx: &Ctx,
    app: &App,
    pairs: &[(String, String)],
) -> Reply {
    let presented = param(pairs, "refresh_token")
        .ok_or_else(|| bad_request(ctx, "invalid_request", "refresh_token is required"))?;
    let now = issuer.now;
    let invalid = || invalid_grant(ctx, "The refresh token is invalid, expired or revoked");
    let token = state.refresh_tokens.get(presented).ok_or_else(invalid)?;
    let family_id = token.family_id.clone();
    let (expires_at, rotated_at) = (token.expires_at, token.rotated_at);
    let family = state.families.get(&family_id).ok_or_else(invalid)?;
    if family.app_id != app.id {
        return Err(invalid_grant(
            ctx,
            "The refresh token was issued to another client",
        ));
    }
    if family.revoked || expires_at <= now {
        return Err(invalid());
    }
    if let Some(rotated_at) = rotated_at {
        let grace =
            Duration::from_secs(app.refresh_token_rolling_grace_period_duration.unwrap_or(0));
        let elapsed = now.duration_since(rotated_at).unwrap_or_default();
        if elapsed >= grace {
            if app.replay_protection {
                state.revoke_family(&family_id);
            }
            return Err(invalid());
        }
    }
    let family = &state.families[&family_id];
    let session_live = state
        .sessions
        .get(&family.session_id)
        .is_some_and(|s| s.expires_at > now);
    if !session_live || state.user(&family.user_id).is_none() {
        return Err(invalid());
    }
    let scopes = match param(pairs, "scope") {
        None => family.scopes.clone(),
        Some(requested) => {
            let requested: Vec<String> = requested
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            if let Some(extra) = requested.iter().find(|s| !family.scopes.contains(s)) {
                return Err(bad_request(
                    ctx,
                    "invalid_scope",
                    &format!("The scope '{extra}' was not granted originally"),
                ));
            }
            requested
        }
    };
    let user_id = family.user_id.clone();
    let session_id = family.session_id.clone();
    let auth_time = family.auth_time;
    // The grace window runs from the first rotation, so reuse cannot extend it.
    if let Some(token) = state.refresh_tokens.get_mut(presented) {
        token.rotated_at.get_or_insert(now);
    }
    let grant = Grant {
        user_id: &user_id,
        session_id: &session_id,
        scopes: &scopes,
        auth_time,
        nonce: None,
    };
    Ok(issuer.user_tokens(state, app, Some(&family_id), &grant))
}

/// Returns claims about the signed-on user of a Bearer access token.
async fn userinfo(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
    headers: HeaderMap,
) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(&ctx));
    }
    let denied = || {
        let mut response = oauth_error(
            &ctx,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token is missing, invalid or expired",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        response
    };
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned())
        .ok_or_else(denied)?;
    let claims = shared.signer.verify(&token).ok_or_else(denied)?;
    let now = unix_seconds(shared.clock.now());
    let state = shared.lock();
    let text = |key: &str| claims.get(key).and_then(Value::as_str).unwrap_or_default();
    let live = claims
        .get("exp")
        .and_then(Value::as_u64)
        .is_some_and(|exp| exp > now);
    // Refresh tokens are JWTs too, but they are not access tokens.
    let is_access = !state.refresh_tokens.contains_key(&token) && claims.contains_key("scope");
    let user = state.user(text("sub"));
    let (Some(user), true, true, true) = (user, live, is_access, text("env") == shared.env_id)
    else {
        return Err(denied());
    };
    let scopes: Vec<String> = text("scope").split(' ').map(str::to_owned).collect();
    let mut body = json!({"sub": user.id, "env": shared.env_id, "org": shared.org_id});
    add_profile_claims(&mut body, user, &scopes);
    Ok(json_response(StatusCode::OK, &body, "application/json"))
}

async fn jwks(AxState(shared): AxState<Arc<Shared>>, ctx: Ctx, Path(env): Path<String>) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(&ctx));
    }
    Ok(json_response(
        StatusCode::OK,
        &shared.signer.jwks(),
        "application/json",
    ))
}

async fn discovery(
    AxState(shared): AxState<Arc<Shared>>,
    ctx: Ctx,
    Path(env): Path<String>,
) -> Reply {
    if env != shared.env_id {
        return Err(error::not_found(&ctx));
    }
    let issuer = shared.issuer(&ctx.base);
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "scopes_supported": SCOPES,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query", "pi.flow"],
            "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "userinfo_signing_alg_values_supported": ["none"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt", "none"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "HS256", "HS384", "HS512"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "claims_parameter_supported": false,
            "request_parameter_supported": false,
            "claims_supported": [
                "sub", "iss", "auth_time", "acr", "amr", "nonce", "sid", "env", "org", "p1.region",
                "preferred_username", "given_name", "family_name", "updated_at", "email", "email_verified",
            ],
        }),
        "application/json",
    ))
}
