//! An in-process OpenID Connect provider for tests, on 127.0.0.1 and a port of its own: discovery,
//! `/authorize` with an HTML login page and consent page behind a signed session cookie,
//! `/token` (authorization code with PKCE, refresh tokens with optional rotation and reuse
//! detection), ES256-signed ID tokens published at `/jwks`, and `/userinfo`.
//!
//! It keeps a log of what it received so tests can check what a client sent, and of every code
//! and token it issued so tests can check that none of them is printed.

// Each test file uses a different part of this module.
#![allow(dead_code, unreachable_pub)]

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The client most tests register.
pub const CLIENT_ID: &str = "shop-web";
/// Its secret; `+` and `/` make its form-encoded and base64 forms differ from it.
pub const CLIENT_SECRET: &str = "cs-7Qz+p/41xVb8mK2";
/// Where it wants the code; nothing listens there, so a client must stop before requesting it.
pub const REDIRECT_URI: &str = "https://shop.example/callback";
/// The user who signs in.
pub const USERNAME: &str = "alice";
/// Her password; spaces make its form-encoded form differ from it.
pub const PASSWORD: &str = "correct horse battery staple";
/// Her subject identifier.
pub const SUBJECT: &str = "user-0001";

/// The name of the session cookie, scoped to `/interaction`.
pub const SESSION_COOKIE: &str = "op_session";

/// A registered client.
#[derive(Clone, Debug)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// The secret it authenticates with (HTTP Basic only).
    pub secret: String,
    /// Redirect URIs it registered; a request must use one exactly.
    pub redirect_uris: Vec<String>,
    /// Skips the consent page (a first-party client).
    pub skip_consent: bool,
}

/// A user who can sign in.
#[derive(Clone, Debug)]
pub struct User {
    /// The login name.
    pub username: String,
    /// The password.
    pub password: String,
    /// `sub` in tokens and userinfo.
    pub sub: String,
    /// `name` in userinfo.
    pub name: String,
    /// `email` in userinfo.
    pub email: String,
}

/// How the provider behaves.
#[derive(Clone, Debug)]
pub struct Options {
    /// Registered clients.
    pub clients: Vec<Client>,
    /// Users.
    pub users: Vec<User>,
    /// Issues a new refresh token on each refresh and refuses the old one from then on.
    pub rotate_refresh_tokens: bool,
    /// The name of the login form's user-name field.
    pub username_field: String,
    /// The name of the login form's password field.
    pub password_field: String,
}

impl Options {
    /// One client (`CLIENT_ID`, asking for consent), one user, rotation on.
    pub fn standard() -> Options {
        Options {
            clients: vec![Client {
                id: CLIENT_ID.to_owned(),
                secret: CLIENT_SECRET.to_owned(),
                redirect_uris: vec![REDIRECT_URI.to_owned()],
                skip_consent: false,
            }],
            users: vec![User {
                username: USERNAME.to_owned(),
                password: PASSWORD.to_owned(),
                sub: SUBJECT.to_owned(),
                name: "Alice Liddell".to_owned(),
                email: "alice@example.com".to_owned(),
            }],
            rotate_refresh_tokens: true,
            username_field: "username".to_owned(),
            password_field: "password".to_owned(),
        }
    }

    /// Sets whether the standard client skips consent.
    #[must_use]
    pub fn skip_consent(mut self, skip: bool) -> Options {
        for client in &mut self.clients {
            client.skip_consent = skip;
        }
        self
    }

    /// Names the login form's fields.
    #[must_use]
    pub fn login_fields(mut self, username: &str, password: &str) -> Options {
        username.clone_into(&mut self.username_field);
        password.clone_into(&mut self.password_field);
        self
    }

    /// Sets whether refresh tokens rotate.
    #[must_use]
    pub fn rotate(mut self, rotate: bool) -> Options {
        self.rotate_refresh_tokens = rotate;
        self
    }
}

/// What the provider received and decided, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// An authorization request that passed validation.
    Authorize {
        /// `client_id`.
        client_id: String,
        /// `redirect_uri`.
        redirect_uri: String,
        /// `scope`.
        scope: String,
        /// `state`.
        state: String,
        /// `nonce`.
        nonce: String,
        /// `code_challenge`.
        code_challenge: String,
    },
    /// An authorization request that was refused, and why.
    AuthorizeRefused(String),
    /// A login form submission: the user name and whether the credentials were right.
    Login {
        /// The user name submitted.
        username: String,
        /// Whether it and the password matched a user.
        accepted: bool,
    },
    /// A consent form submission.
    Consent(String),
    /// The redirect back to the client: the code and the state it carried.
    Redirected {
        /// The authorization code.
        code: String,
        /// The state echoed.
        state: String,
    },
    /// A token request.
    Token {
        /// `grant_type`.
        grant_type: String,
        /// How the client authenticated: `client_secret_basic` or `none`.
        client_auth: String,
        /// `code_verifier`, when sent.
        code_verifier: Option<String>,
        /// `Ok(())` or the OAuth error code.
        result: Result<(), String>,
    },
    /// A userinfo request: whether the access token was accepted.
    Userinfo(bool),
}

/// One request as received: enough to check which cookies reached which path.
#[derive(Clone, Debug)]
pub struct Received {
    /// Upper-case method.
    pub method: String,
    /// The path.
    pub path: String,
    /// The names of the cookies sent.
    pub cookies: Vec<String>,
}

/// A running provider; it stops when dropped.
pub struct Provider {
    /// `http://127.0.0.1:PORT`, also the `iss` of its tokens.
    pub issuer: String,
    /// The port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Provider {
    /// Starts a provider on its own thread and runtime, so blocking tests can use it too.
    pub fn start(options: Options) -> Provider {
        let (shared_tx, shared_rx) = std::sync::mpsc::channel::<Arc<Shared>>();
        let (addr, stop) = super::spawn_server(move |listener| async move {
            let port = listener.local_addr().expect("an address").port();
            let shared = Arc::new(Shared::new(format!("http://127.0.0.1:{port}"), options));
            shared_tx
                .send(Arc::clone(&shared))
                .expect("the test is waiting");
            let _ = axum::serve(listener, router(shared)).await;
        });
        let shared = shared_rx.recv().expect("the provider started");
        Provider {
            issuer: shared.issuer.clone(),
            port: addr.port(),
            shared,
            stop: Some(stop),
        }
    }

    /// Returns what the provider received and decided so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().seen.clone()
    }

    /// Returns every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// Returns every authorization code and token the provider issued (session cookies, which
    /// apiflow does not treat as secrets, are not among them).
    pub fn issued(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }

    /// Returns the `jwks_uri` document.
    pub fn jwks(&self) -> Value {
        self.shared.jwks()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A pending authorization request, as validated.
#[derive(Clone, Debug)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: String,
    code_challenge: String,
}

/// A sign-in in progress, held by the session cookie.
struct Session {
    /// The interaction id, a hidden field of the login form.
    interaction: String,
    /// The login form's CSRF token.
    login_csrf: String,
    /// The consent form's CSRF token, once the user signed in.
    consent_csrf: Option<String>,
    request: AuthRequest,
    /// The signed-in user's `sub`.
    user: Option<String>,
}

struct Grant {
    request: AuthRequest,
    sub: String,
    /// Set when the code is redeemed: the token family it started.
    redeemed: Option<String>,
}

struct RefreshToken {
    family: String,
    client_id: String,
    sub: String,
    scope: String,
    /// False once rotated away: presenting it again is reuse.
    current: bool,
}

struct AccessToken {
    family: String,
    sub: String,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<String, Session>,
    codes: HashMap<String, Grant>,
    refresh_tokens: HashMap<String, RefreshToken>,
    access_tokens: HashMap<String, AccessToken>,
    revoked: HashSet<String>,
    seen: Vec<Seen>,
    received: Vec<Received>,
    issued: Vec<String>,
}

struct Shared {
    issuer: String,
    options: Options,
    rng: SystemRandom,
    signing_key: EcdsaKeyPair,
    cookie_key: hmac::Key,
    inner: Mutex<Inner>,
}

const KEY_ID: &str = "test-es256";

impl Shared {
    fn new(issuer: String, options: Options) -> Shared {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("a P-256 key");
        let signing_key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .expect("the key just generated");
        let cookie_key = hmac::Key::generate(hmac::HMAC_SHA256, &rng).expect("an HMAC key");
        Shared {
            issuer,
            options,
            rng,
            signing_key,
            cookie_key,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("not poisoned")
    }

    /// Returns 32 random bytes, base64url: codes, tokens, ids and CSRF tokens.
    fn random(&self) -> String {
        let mut bytes = [0u8; 32];
        self.rng.fill(&mut bytes).expect("random bytes");
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Returns a fresh random value the tests must never see printed.
    fn issue(&self, inner: &mut Inner) -> String {
        let value = self.random();
        inner.issued.push(value.clone());
        value
    }

    fn client(&self, id: &str) -> Option<&Client> {
        self.options.clients.iter().find(|c| c.id == id)
    }

    /// Signs a session id: `ID.MAC`.
    fn seal(&self, id: &str) -> String {
        let tag = hmac::sign(&self.cookie_key, id.as_bytes());
        format!("{id}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// Returns the session id of a cookie value whose signature holds.
    fn unseal(&self, value: &str) -> Option<String> {
        let (id, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.cookie_key, id.as_bytes(), &tag).ok()?;
        Some(id.to_owned())
    }

    fn jwks(&self) -> Value {
        let public = self.signing_key.public_key().as_ref();
        json!({ "keys": [{
            "kty": "EC",
            "crv": "P-256",
            "use": "sig",
            "alg": "ES256",
            "kid": KEY_ID,
            "x": URL_SAFE_NO_PAD.encode(&public[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&public[33..65]),
        }]})
    }

    fn sign(&self, claims: &Value) -> String {
        let header = URL_SAFE_NO_PAD.encode(
            json!({ "alg": "ES256", "typ": "JWT", "kid": KEY_ID })
                .to_string()
                .as_bytes(),
        );
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string().as_bytes());
        let message = format!("{header}.{payload}");
        let signature = self
            .signing_key
            .sign(&self.rng, message.as_bytes())
            .expect("a signature");
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }
}

type App = State<Arc<Shared>>;

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/authorize", get(authorize))
        .route("/interaction/login", get(login_page).post(login))
        .route("/interaction/consent", get(consent_page).post(consent))
        .route("/token", axum::routing::post(token))
        .route("/userinfo", get(userinfo))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), record))
        .with_state(shared)
}

/// Logs every request's method, path and cookie names.
async fn record(State(shared): App, request: Request, next: Next) -> Response {
    let cookies = cookies(request.headers())
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    shared.lock().received.push(Received {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        cookies,
    });
    next.run(request).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn discovery(State(shared): App) -> Response {
    let issuer = &shared.issuer;
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "jwks_uri": format!("{issuer}/jwks"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "profile", "email"],
        }),
    )
}

async fn jwks(State(shared): App) -> Response {
    json_response(StatusCode::OK, &shared.jwks())
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    response.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(location).expect("a header value"),
    );
    response
}

/// An error page: for problems the client must not be redirected for.
fn error_page(status: StatusCode, message: &str) -> Response {
    html(
        status,
        format!("<!doctype html><title>Error</title><h1>Error</h1><p>{message}</p>"),
    )
}

/// Redirects back to the client with an OAuth error.
fn redirect_error(redirect_uri: &str, error: &str, description: &str, state: &str) -> Response {
    let mut url = url::Url::parse(redirect_uri).expect("a registered URI");
    url.query_pairs_mut()
        .append_pair("error", error)
        .append_pair("error_description", description);
    if !state.is_empty() {
        url.query_pairs_mut().append_pair("state", state);
    }
    see_other(url.as_str())
}

fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

/// The session id of a validly signed session cookie.
fn session_id(shared: &Shared, headers: &HeaderMap) -> Option<String> {
    cookies(headers)
        .into_iter()
        .find(|(name, _)| name == SESSION_COOKIE)
        .and_then(|(_, value)| shared.unseal(&value))
}

fn set_session_cookie(response: &mut Response, value: &str) {
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/interaction; HttpOnly; SameSite=Lax");
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a header value"),
    );
}

fn clear_session_cookie(response: &mut Response) {
    let cookie = format!("{SESSION_COOKIE}=; Path=/interaction; Max-Age=0; HttpOnly; SameSite=Lax");
    response.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).expect("a header value"),
    );
}

fn is_pkce_value(value: &str, min: usize) -> bool {
    (min..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

async fn authorize(State(shared): App, Query(query): Query<HashMap<String, String>>) -> Response {
    let param = |name: &str| query.get(name).cloned().unwrap_or_default();
    let refuse = |why: &str| {
        shared
            .lock()
            .seen
            .push(Seen::AuthorizeRefused(why.to_owned()));
    };
    let Some(client) = shared.client(&param("client_id")) else {
        refuse("unknown client");
        return error_page(StatusCode::BAD_REQUEST, "Unknown client.");
    };
    let redirect_uri = param("redirect_uri");
    if !client.redirect_uris.contains(&redirect_uri) {
        refuse("unregistered redirect_uri");
        return error_page(
            StatusCode::BAD_REQUEST,
            "The redirect_uri is not registered for this client.",
        );
    }
    let state = param("state");
    let problem = if param("response_type") != "code" {
        Some(("unsupported_response_type", "response_type must be code"))
    } else if !param("scope").split(' ').any(|s| s == "openid") {
        Some(("invalid_scope", "scope must include openid"))
    } else if state.is_empty() {
        Some(("invalid_request", "state is required"))
    } else if param("nonce").is_empty() {
        Some(("invalid_request", "nonce is required"))
    } else if param("code_challenge_method") != "S256" {
        Some((
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
        ))
    } else if param("code_challenge").len() != 43 || !is_pkce_value(&param("code_challenge"), 43) {
        Some(("invalid_request", "code_challenge is not a S256 challenge"))
    } else {
        None
    };
    if let Some((error, description)) = problem {
        refuse(description);
        return redirect_error(&redirect_uri, error, description, &state);
    }
    let request = AuthRequest {
        client_id: client.id.clone(),
        redirect_uri,
        scope: param("scope"),
        state,
        nonce: param("nonce"),
        code_challenge: param("code_challenge"),
    };
    let (cookie, interaction) = {
        let mut inner = shared.lock();
        inner.seen.push(Seen::Authorize {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
        });
        let id = shared.random();
        let interaction = shared.random();
        let login_csrf = shared.random();
        inner.sessions.insert(
            id.clone(),
            Session {
                interaction: interaction.clone(),
                login_csrf,
                consent_csrf: None,
                request,
                user: None,
            },
        );
        (shared.seal(&id), interaction)
    };
    // A relative reference, as many providers send: the client resolves it against this URL.
    let mut response = see_other(&format!("interaction/login?interaction={interaction}"));
    set_session_cookie(&mut response, &cookie);
    response
}

fn login_html(shared: &Shared, session: &Session, error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| format!("<p class=\"error\">{e}</p>"));
    let user = &shared.options.username_field;
    let password = &shared.options.password_field;
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<form id="locale" method="get" action="/locale">
  <select name="lang"><option value="en" selected>English</option><option value="fr">Français</option></select>
</form>
<h1>Sign in to continue</h1>
{error}
<form id="login" method="post" action="login">
  <input type="hidden" name="csrf" value="{csrf}">
  <input type="hidden" name="interaction" value="{interaction}">
  <label>User name <input type="text" name="{user}" autocomplete="username"></label>
  <label>Password <input type="password" name="{password}" autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
</body></html>
"#,
        csrf = session.login_csrf,
        interaction = session.interaction,
    )
}

async fn login_page(
    State(shared): App,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(id) = session_id(&shared, &headers) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Your session is invalid or has expired.",
        );
    };
    let inner = shared.lock();
    let Some(session) = inner.sessions.get(&id) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Your session is invalid or has expired.",
        );
    };
    if query.get("interaction") != Some(&session.interaction) {
        return error_page(StatusCode::BAD_REQUEST, "Unknown interaction.");
    }
    html(StatusCode::OK, login_html(&shared, session, None))
}

async fn login(
    State(shared): App,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let Some(id) = session_id(&shared, &headers) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Your session is invalid or has expired.",
        );
    };
    let mut inner = shared.lock();
    let Some(session) = inner.sessions.get(&id) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Your session is invalid or has expired.",
        );
    };
    if field("csrf") != session.login_csrf || field("interaction") != session.interaction {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form has expired; sign in again.",
        );
    }
    let username = field(&shared.options.username_field);
    let password = field(&shared.options.password_field);
    let user = shared
        .options
        .users
        .iter()
        .find(|u| u.username == username && u.password == password);
    inner.seen.push(Seen::Login {
        username,
        accepted: user.is_some(),
    });
    let Some(user) = user else {
        let session = &inner.sessions[&id];
        let page = login_html(&shared, session, Some("Invalid user name or password."));
        return html(StatusCode::OK, page);
    };
    let sub = user.sub.clone();
    let skip_consent = shared
        .client(&inner.sessions[&id].request.client_id)
        .is_some_and(|c| c.skip_consent);
    if skip_consent {
        let mut response = finish(&shared, &mut inner, &id, &sub);
        clear_session_cookie(&mut response);
        return response;
    }
    let csrf = shared.random();
    if let Some(session) = inner.sessions.get_mut(&id) {
        session.user = Some(sub);
        session.consent_csrf = Some(csrf);
    }
    see_other("consent")
}

async fn consent_page(State(shared): App, headers: HeaderMap) -> Response {
    let Some(id) = session_id(&shared, &headers) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Your session is invalid or has expired.",
        );
    };
    let inner = shared.lock();
    let Some((session, csrf)) = inner
        .sessions
        .get(&id)
        .and_then(|s| Some((s, s.consent_csrf.as_ref()?)))
    else {
        return error_page(StatusCode::BAD_REQUEST, "Sign in first.");
    };
    let mut scopes = String::new();
    for scope in session.request.scope.split(' ') {
        let _ = write!(scopes, "<li>{scope}</li>");
    }
    let page = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Allow access?</title></head>
<body>
<h1><span class="client">{client}</span> wants to access your account</h1>
<ul class="scopes">{scopes}</ul>
<form id="consent" method="post" action="consent">
  <input type="hidden" name="csrf" value="{csrf}">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>
"#,
        client = session.request.client_id,
    );
    html(StatusCode::OK, page)
}

async fn consent(
    State(shared): App,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(id) = session_id(&shared, &headers) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Your session is invalid or has expired.",
        );
    };
    let mut inner = shared.lock();
    let Some((session, sub)) = inner
        .sessions
        .get(&id)
        .and_then(|s| Some((s, s.user.clone()?)))
    else {
        return error_page(StatusCode::BAD_REQUEST, "Sign in first.");
    };
    if form.get("csrf") != session.consent_csrf.as_ref() {
        return error_page(
            StatusCode::FORBIDDEN,
            "The form has expired; sign in again.",
        );
    }
    let decision = form.get("decision").cloned().unwrap_or_default();
    inner.seen.push(Seen::Consent(decision.clone()));
    let mut response = match decision.as_str() {
        "allow" => finish(&shared, &mut inner, &id, &sub),
        "deny" => {
            let request = inner.sessions.remove(&id).map(|s| s.request);
            let request = request.expect("the session read above");
            redirect_error(
                &request.redirect_uri,
                "access_denied",
                "the user denied access",
                &request.state,
            )
        }
        _ => return error_page(StatusCode::BAD_REQUEST, "Allow or deny."),
    };
    clear_session_cookie(&mut response);
    response
}

/// Ends a sign-in: issues the code and redirects back to the client with it and the state.
fn finish(shared: &Shared, inner: &mut Inner, session: &str, sub: &str) -> Response {
    let request = inner
        .sessions
        .remove(session)
        .map(|s| s.request)
        .expect("a session");
    let code = shared.issue(inner);
    inner.seen.push(Seen::Redirected {
        code: code.clone(),
        state: request.state.clone(),
    });
    let mut url = url::Url::parse(&request.redirect_uri).expect("a registered URI");
    url.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &request.state);
    inner.codes.insert(
        code,
        Grant {
            request,
            sub: sub.to_owned(),
            redeemed: None,
        },
    );
    see_other(url.as_str())
}

/// An OAuth error answer from the token endpoint.
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
}

fn rejected(error: &'static str, description: &'static str) -> OAuthError {
    OAuthError {
        status: StatusCode::BAD_REQUEST,
        error,
        description,
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = json_response(
            self.status,
            &json!({ "error": self.error, "error_description": self.description }),
        );
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        response
    }
}

/// Reads HTTP Basic client credentials, form-decoding each part as RFC 6749 section 2.3.1 asks.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let decode = |part: &str| {
        url::form_urlencoded::parse(format!("x={part}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

async fn token(
    State(shared): App,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let grant_type = field("grant_type");
    let credentials = basic_credentials(&headers);
    let client_auth = if credentials.is_some() {
        "client_secret_basic"
    } else {
        "none"
    };
    let mut inner = shared.lock();
    let client = credentials.and_then(|(id, secret)| {
        shared
            .client(&id)
            .filter(|c| c.secret == secret)
            .map(|c| c.id.clone())
    });
    let outcome = match client {
        None => Err(OAuthError {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed (HTTP Basic is required)",
        }),
        Some(client) => match grant_type.as_str() {
            "authorization_code" => redeem_code(&shared, &mut inner, &client, &field),
            "refresh_token" => refresh(&shared, &mut inner, &client, &field("refresh_token")),
            _ => Err(rejected(
                "unsupported_grant_type",
                "use authorization_code or refresh_token",
            )),
        },
    };
    let (response, result) = match outcome {
        Ok(body) => {
            let mut response = json_response(StatusCode::OK, &body);
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            (response, Ok(()))
        }
        Err(error) => {
            let code = error.error.to_owned();
            (error.into_response(), Err(code))
        }
    };
    inner.seen.push(Seen::Token {
        grant_type,
        client_auth: client_auth.to_owned(),
        code_verifier: form.get("code_verifier").cloned(),
        result,
    });
    response
}

fn redeem_code(
    shared: &Shared,
    inner: &mut Inner,
    client: &str,
    field: &dyn Fn(&str) -> String,
) -> Result<Value, OAuthError> {
    let code = field("code");
    let Some(grant) = inner.codes.get_mut(&code) else {
        return Err(rejected("invalid_grant", "unknown authorization code"));
    };
    if let Some(family) = grant.redeemed.clone() {
        // A code used twice was probably stolen: revoke what it already gave out.
        inner.revoked.insert(family);
        return Err(rejected("invalid_grant", "authorization code already used"));
    }
    if grant.request.client_id != client {
        return Err(rejected(
            "invalid_grant",
            "the code was issued to another client",
        ));
    }
    if grant.request.redirect_uri != field("redirect_uri") {
        return Err(rejected("invalid_grant", "redirect_uri does not match"));
    }
    let verifier = field("code_verifier");
    if !is_pkce_value(&verifier, 43) {
        return Err(rejected(
            "invalid_request",
            "code_verifier is missing or malformed",
        ));
    }
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if challenge != grant.request.code_challenge {
        return Err(rejected("invalid_grant", "PKCE verification failed"));
    }
    let family = shared.random();
    grant.redeemed = Some(family.clone());
    let request = grant.request.clone();
    let sub = grant.sub.clone();
    let issued_at = now();
    let id_token = shared.sign(&json!({
        "iss": shared.issuer,
        "sub": sub,
        "aud": client,
        "azp": client,
        "exp": issued_at + 300,
        "iat": issued_at,
        "auth_time": issued_at,
        "nonce": request.nonce,
    }));
    inner.issued.push(id_token.clone());
    let access_token = shared.issue(inner);
    inner.access_tokens.insert(
        access_token.clone(),
        AccessToken {
            family: family.clone(),
            sub: sub.clone(),
        },
    );
    let refresh_token = shared.issue(inner);
    inner.refresh_tokens.insert(
        refresh_token.clone(),
        RefreshToken {
            family,
            client_id: client.to_owned(),
            sub,
            scope: request.scope.clone(),
            current: true,
        },
    );
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": refresh_token,
        "id_token": id_token,
        "scope": request.scope,
    }))
}

fn refresh(
    shared: &Shared,
    inner: &mut Inner,
    client: &str,
    presented: &str,
) -> Result<Value, OAuthError> {
    let Some(token) = inner.refresh_tokens.get_mut(presented) else {
        return Err(rejected("invalid_grant", "unknown refresh token"));
    };
    if token.client_id != client {
        return Err(rejected(
            "invalid_grant",
            "the refresh token belongs to another client",
        ));
    }
    let family = token.family.clone();
    if inner.revoked.contains(&family) {
        return Err(rejected("invalid_grant", "the refresh token was revoked"));
    }
    if !token.current {
        // A rotated-away token presented again: someone holds a copy. Revoke the whole family.
        inner.revoked.insert(family);
        return Err(rejected("invalid_grant", "refresh token reuse detected"));
    }
    let (sub, scope) = (token.sub.clone(), token.scope.clone());
    let refresh_token = if shared.options.rotate_refresh_tokens {
        token.current = false;
        let next = shared.issue(inner);
        inner.refresh_tokens.insert(
            next.clone(),
            RefreshToken {
                family: family.clone(),
                client_id: client.to_owned(),
                sub: sub.clone(),
                scope: scope.clone(),
                current: true,
            },
        );
        next
    } else {
        presented.to_owned()
    };
    let access_token = shared.issue(inner);
    inner
        .access_tokens
        .insert(access_token.clone(), AccessToken { family, sub });
    Ok(json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 300,
        "refresh_token": refresh_token,
        "scope": scope,
    }))
}

async fn userinfo(State(shared): App, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let mut inner = shared.lock();
    let user = inner
        .access_tokens
        .get(&token)
        .filter(|t| !inner.revoked.contains(&t.family))
        .and_then(|t| shared.options.users.iter().find(|u| u.sub == t.sub));
    let Some(user) = user else {
        inner.seen.push(Seen::Userinfo(false));
        let mut response = json_response(
            StatusCode::UNAUTHORIZED,
            &json!({ "error": "invalid_token" }),
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return response;
    };
    let body = json!({
        "sub": user.sub,
        "name": user.name,
        "preferred_username": user.username,
        "email": user.email,
    });
    inner.seen.push(Seen::Userinfo(true));
    json_response(StatusCode::OK, &body)
}
