//! End-to-end tests of the PingOne emulator over real HTTP on 127.0.0.1.

// "PingOne" is a product name in prose, not an identifier.
#![allow(clippy::doc_markdown)]

use std::time::{Duration, SystemTime};

use apiflow_pingone::{Clock, Emulator, Info, Options};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie_store::CookieStore;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use url::Url;

const REDIRECT: &str = "https://www.example.com";
const PASSWORD: &str = "Refr3sh!Token";
const PASSWORD_SET: &str = "application/vnd.pingidentity.password.set+json";
const CHECK: &str = "application/vnd.pingidentity.usernamePassword.check+json";

/// A running emulator on a manual clock, a client that never follows redirects, and a
/// cookie jar the tests feed by hand, as the workflow engine does.
struct Harness {
    emulator: Emulator,
    info: Info,
    clock: Clock,
    client: reqwest::Client,
    jar: CookieStore,
    worker_token: String,
}

/// A created response: status, headers and parsed JSON body (`Null` when empty).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a P1Error answer and returns its first detail (or `Null`).
    fn p1(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert_eq!(self.body["id"], self.header("correlation-id"));
        &self.body["details"][0]
    }

    /// Asserts an OAuth error answer.
    fn oauth(&self, status: u16, error: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.body["error"], error, "body: {}", self.body);
        let description = self.body["error_description"].as_str().unwrap();
        let correlation = self.header("correlation-id");
        assert!(description.ends_with(&format!("(Correlation ID: {correlation})")));
        assert_eq!(self.header("cache-control"), "no-store");
    }
}

/// An application with a signed-on user ready to authorize.
struct Provisioned {
    app_id: String,
    app_secret: String,
    population_id: String,
    user_id: String,
    username: String,
}

fn start_time() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

impl Harness {
    async fn start() -> Self {
        Self::with(Some(42), 1).await
    }

    async fn with(seed: Option<u64>, secret_not_ready_reads: u32) -> Self {
        // reqwest is built without a default TLS provider; tests only speak plain http.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let clock = Clock::manual(start_time());
        let options = Options {
            seed,
            clock: clock.clone(),
            secret_not_ready_reads,
            client_key: None,
        };
        let emulator = Emulator::start(0, options).await.unwrap();
        let info = emulator.info().clone();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut harness = Self {
            emulator,
            info,
            clock,
            client,
            jar: CookieStore::default(),
            worker_token: String::new(),
        };
        let answer = harness
            .send(
                harness
                    .post_token()
                    .basic_auth(
                        &harness.info.worker_client_id,
                        Some(&harness.info.worker_client_secret),
                    )
                    .form(&[("grant_type", "client_credentials")]),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body["token_type"], "Bearer");
        assert_eq!(answer.body["expires_in"], 3600);
        assert!(answer.body.get("refresh_token").is_none());
        answer.body["access_token"]
            .as_str()
            .unwrap()
            .clone_into(&mut harness.worker_token);
        harness
    }

    fn api(&self, path: &str) -> String {
        format!(
            "{}/environments/{}{path}",
            self.info.api_base, self.info.env_id
        )
    }

    fn auth(&self, path: &str) -> String {
        format!("{}/{}{path}", self.info.auth_base, self.info.env_id)
    }

    fn post_token(&self) -> reqwest::RequestBuilder {
        self.client.post(self.auth("/as/token"))
    }

    /// Sends a request with the jar's cookies and stores the cookies of the answer.
    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let mut request = request.build().unwrap();
        let url = request.url().clone();
        let cookies: Vec<String> = self
            .jar
            .get_request_values(&url)
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        if !cookies.is_empty() {
            request.headers_mut().insert(
                "cookie",
                HeaderValue::from_str(&cookies.join("; ")).unwrap(),
            );
        }
        let response = self.client.execute(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set_cookie in headers.get_all("set-cookie") {
            self.jar.parse(set_cookie.to_str().unwrap(), &url).unwrap();
        }
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn post_json(&mut self, path: &str, body: &Value) -> Answer {
        let request = self
            .client
            .post(self.api(path))
            .bearer_auth(&self.worker_token)
            .json(body);
        self.send(request).await
    }

    async fn get_api(&mut self, path: &str) -> Answer {
        let request = self
            .client
            .get(self.api(path))
            .bearer_auth(&self.worker_token);
        self.send(request).await
    }

    async fn delete_api(&mut self, path: &str) -> Answer {
        let request = self
            .client
            .delete(self.api(path))
            .bearer_auth(&self.worker_token);
        self.send(request).await
    }

    async fn set_password(&mut self, user_id: &str, password: &str, content_type: &str) -> Answer {
        let request = self
            .client
            .put(self.api(&format!("/users/{user_id}/password")))
            .bearer_auth(&self.worker_token)
            .header("content-type", content_type)
            .body(json!({"value": password, "forceChange": false}).to_string());
        self.send(request).await
    }

    /// Creates the workflow's application (with `extra` fields merged in), reads its secret,
    /// and creates a population and a user with a password.
    async fn provision(&mut self, extra: Value) -> Provisioned {
        let mut body = json!({
            "name": "AppWithCodeGrant_1712345678",
            "enabled": true,
            "type": "WEB_APP",
            "protocol": "OPENID_CONNECT",
            "responseTypes": ["CODE"],
            "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
            "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
            "refreshTokenDuration": 2_592_000,
            "refreshTokenRollingDuration": 2_592_000,
            "refreshTokenRollingGracePeriodDuration": 60,
            "postLogoutRedirectUris": [REDIRECT],
            "redirectUris": [REDIRECT],
        });
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        let app = self.post_json("/applications", &body).await;
        assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
        let app_id = app.body["id"].as_str().unwrap().to_owned();
        let mut secret = self
            .get_api(&format!("/applications/{app_id}/secret"))
            .await;
        while secret.status == StatusCode::NOT_FOUND {
            secret = self
                .get_api(&format!("/applications/{app_id}/secret"))
                .await;
        }
        let app_secret = secret.body["secret"].as_str().unwrap().to_owned();
        let population = self
            .post_json("/populations", &json!({"name": "RefreshTokenPopulation", "description": "Population for refresh token users"}))
            .await;
        assert_eq!(
            population.status,
            StatusCode::CREATED,
            "{}",
            population.body
        );
        let population_id = population.body["id"].as_str().unwrap().to_owned();
        let username = "rt_user_1712345678".to_owned();
        let user = self
            .post_json(
                "/users",
                &json!({"email": "rt_user@example.com", "population": {"id": population_id}, "username": username}),
            )
            .await;
        assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
        let user_id = user.body["id"].as_str().unwrap().to_owned();
        let password = self.set_password(&user_id, PASSWORD, PASSWORD_SET).await;
        assert_eq!(password.status, StatusCode::OK, "{}", password.body);
        Provisioned {
            app_id,
            app_secret,
            population_id,
            user_id,
            username,
        }
    }

    /// Starts a redirect-mode authorization and returns the flow id from `Location`.
    async fn authorize(&mut self, client_id: &str, extra: &[(&str, &str)]) -> String {
        let mut query = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "openid profile"),
        ];
        query.extend_from_slice(extra);
        let request = self.client.get(self.auth("/as/authorize")).query(&query);
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
        query_param(answer.header("location"), "flowId")
    }

    async fn check_credentials(&mut self, flow_id: &str, username: &str, password: &str) -> Answer {
        let request = self
            .client
            .post(self.auth(&format!("/flows/{flow_id}")))
            .header("content-type", CHECK)
            .body(json!({"username": username, "password": password}).to_string());
        self.send(request).await
    }

    async fn resume(&mut self, flow_id: &str) -> Answer {
        let request = self
            .client
            .get(self.auth("/as/resume"))
            .query(&[("flowId", flow_id)]);
        self.send(request).await
    }

    /// Signs the user on in redirect mode and returns the authorization code.
    async fn sign_on(&mut self, app: &Provisioned, extra: &[(&str, &str)]) -> String {
        let flow_id = self.authorize(&app.app_id, extra).await;
        let username = app.username.clone();
        let checked = self.check_credentials(&flow_id, &username, PASSWORD).await;
        assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
        let resumed = self.resume(&flow_id).await;
        assert_eq!(resumed.status, StatusCode::FOUND, "{}", resumed.body);
        query_param(resumed.header("location"), "code")
    }

    async fn exchange_code(&mut self, app: &Provisioned, code: &str) -> Answer {
        let request = self
            .post_token()
            .basic_auth(&app.app_id, Some(&app.app_secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
            ]);
        self.send(request).await
    }

    async fn exchange_refresh(&mut self, app: &Provisioned, refresh_token: &str) -> Answer {
        let request = self
            .post_token()
            .basic_auth(&app.app_id, Some(&app.app_secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ]);
        self.send(request).await
    }
}

fn query_param(location: &str, name: &str) -> String {
    let url = Url::parse(location).unwrap_or_else(|e| panic!("bad Location {location:?}: {e}"));
    url.query_pairs().find(|(n, _)| n == name).map_or_else(
        || panic!("no {name} in {location}"),
        |(_, v)| v.into_owned(),
    )
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Verifies an RS256 JWT against the emulator's JWKS with ring.
fn verify_with_jwks(jwt: &str, jwks: &Value) {
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(signed.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid is published");
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            signed.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap(),
        )
        .expect("signature verifies against the JWKS");
}

#[tokio::test]
async fn refresh_token_use_case_in_redirect_mode() {
    let mut h = Harness::start().await;
    let base = h.info.auth_base.clone();

    // Step 1: create the application.
    let app = h
        .post_json(
            "/applications",
            &json!({
                "name": "AppWithCodeGrant_1",
                "enabled": true,
                "type": "WEB_APP",
                "protocol": "OPENID_CONNECT",
                "responseTypes": ["CODE"],
                "grantTypes": ["AUTHORIZATION_CODE", "REFRESH_TOKEN"],
                "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC",
                "refreshTokenDuration": 2_592_000,
                "refreshTokenRollingDuration": 2_592_000,
                "refreshTokenRollingGracePeriodDuration": 60,
                "postLogoutRedirectUris": [REDIRECT],
                "redirectUris": [REDIRECT],
            }),
        )
        .await;
    assert_eq!(app.status, StatusCode::CREATED, "{}", app.body);
    let app_id = app.body["id"].as_str().unwrap().to_owned();
    let app_href = h.api(&format!("/applications/{app_id}"));
    assert_eq!(app.header("location"), app_href);
    assert_eq!(app.body["_links"]["self"]["href"], app_href);
    assert_eq!(
        app.body["_links"]["secret"]["href"],
        format!("{app_href}/secret")
    );
    assert_eq!(app.body["environment"]["id"], h.info.env_id);
    assert_eq!(app.body["pkceEnforcement"], "OPTIONAL");
    assert_eq!(app.body["refreshTokenRollingGracePeriodDuration"], 60);
    assert!(app.body.get("secret").is_none());
    assert!(!app.header("correlation-id").is_empty());
    assert!(app.header("content-type").contains("json"));

    // Step 2: the secret is eventually consistent: 404 first, then 200.
    let secret_path = format!("/applications/{app_id}/secret");
    h.get_api(&secret_path).await.p1(404, "NOT_FOUND");
    let secret = h.get_api(&secret_path).await;
    assert_eq!(secret.status, StatusCode::OK);
    let app_secret = secret.body["secret"].as_str().unwrap().to_owned();
    assert!(app_secret.len() >= 64);
    assert_eq!(secret.body["_links"]["application"]["href"], app_href);

    // Steps 3 to 5: population, user, password.
    let population = h
        .post_json(
            "/populations",
            &json!({"name": "Pop_1", "description": "d"}),
        )
        .await;
    assert_eq!(population.status, StatusCode::CREATED);
    assert_eq!(population.body["userCount"], 0);
    let population_id = population.body["id"].as_str().unwrap().to_owned();
    let user = h
        .post_json(
            "/users",
            &json!({"email": "rt@example.com", "population": {"id": population_id}, "username": "rt_user_1"}),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.body);
    assert_eq!(user.body["population"]["id"], population_id);
    assert_eq!(user.body["lifecycle"]["status"], "ACCOUNT_OK");
    let user_id = user.body["id"].as_str().unwrap().to_owned();
    assert_eq!(user.header("location"), h.api(&format!("/users/{user_id}")));
    let password = h.set_password(&user_id, PASSWORD, PASSWORD_SET).await;
    assert_eq!(password.status, StatusCode::OK, "{}", password.body);
    assert_eq!(password.body["status"], "OK");
    assert_eq!(password.body["user"]["id"], user_id);

    // Step 6: authorize redirects to the sign-on page with the flow id.
    let request = h.client.get(h.auth("/as/authorize")).query(&[
        ("response_type", "code"),
        ("client_id", app_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "xyz 1"),
        ("nonce", "n-0S6"),
    ]);
    let authorize = h.send(request).await;
    assert_eq!(authorize.status, StatusCode::FOUND);
    let location = authorize.header("location").to_owned();
    assert!(
        location.starts_with(&format!("{base}/{}/signon/?flowId=", h.info.env_id)),
        "{location}"
    );
    let flow_id = query_param(&location, "flowId");

    // Step 7: the flow waits for a username and password.
    let request = h.client.get(h.auth(&format!("/flows/{flow_id}")));
    let flow = h.send(request).await;
    assert_eq!(flow.status, StatusCode::OK);
    assert_eq!(flow.body["status"], "USERNAME_PASSWORD_REQUIRED");
    assert_eq!(flow.body["id"], flow_id);
    assert_eq!(
        flow.body["_embedded"]["application"]["name"],
        "AppWithCodeGrant_1"
    );
    assert_eq!(
        flow.body["_links"]["usernamePassword.check"]["href"],
        h.auth(&format!("/flows/{flow_id}"))
    );
    assert_eq!(
        flow.body["resumeUrl"],
        h.auth(&format!("/as/resume?flowId={flow_id}"))
    );
    assert_eq!(flow.body["createdAt"], "2026-01-01T00:00:00.000Z");
    assert_eq!(flow.body["expiresAt"], "2026-01-01T00:15:00.000Z");

    // Step 8: credentials complete the flow and set the session cookies.
    let checked = h.check_credentials(&flow_id, "rt_user_1", PASSWORD).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert_eq!(checked.body["status"], "COMPLETED");
    assert_eq!(checked.body["_embedded"]["user"]["id"], user_id);
    assert!(checked.body["session"]["id"].is_string());
    let set_cookies: Vec<&str> = checked
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(set_cookies.len(), 2);
    let st = set_cookies.iter().find(|c| c.starts_with("ST=")).unwrap();
    let env_path = format!("Path=/{}", h.info.env_id);
    assert!(
        st.contains(&env_path) && st.contains("Max-Age=2592000") && st.contains("HttpOnly"),
        "{st}"
    );
    assert!(st.contains("Expires=Sat, 31 Jan 2026 00:00:00 GMT"), "{st}");
    assert!(
        !st.contains("Secure"),
        "plain http gets no Secure cookie: {st}"
    );
    assert!(set_cookies.iter().any(|c| c.starts_with("ST-NO-SS=")));
    let url = Url::parse(&h.auth("/as/resume")).unwrap();
    assert!(
        h.jar.get_request_values(&url).any(|(name, _)| name == "ST"),
        "the jar sends ST to resume"
    );

    // Step 9: resume (with the jar's ST cookie) redirects with the code and state.
    let resumed = h.resume(&flow_id).await;
    assert_eq!(resumed.status, StatusCode::FOUND, "{}", resumed.body);
    let location = resumed.header("location").to_owned();
    assert!(
        location.starts_with("https://www.example.com?code="),
        "{location}"
    );
    assert_eq!(query_param(&location, "state"), "xyz 1");
    let code = query_param(&location, "code");
    assert_eq!(code.len(), 36);

    // Step 10: exchange the code.
    let app = Provisioned {
        app_id: app_id.clone(),
        app_secret,
        population_id,
        user_id: user_id.clone(),
        username: "rt_user_1".into(),
    };
    let tokens = h.exchange_code(&app, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
    assert_eq!(tokens.header("cache-control"), "no-store");
    assert_eq!(tokens.header("pragma"), "no-cache");
    assert_eq!(tokens.body["token_type"], "Bearer");
    assert_eq!(tokens.body["expires_in"], 3600);
    assert_eq!(tokens.body["scope"], "openid");
    let access_token = tokens.body["access_token"].as_str().unwrap().to_owned();
    let refresh_token = tokens.body["refresh_token"].as_str().unwrap().to_owned();
    let id_token = tokens.body["id_token"].as_str().unwrap().to_owned();

    let request = h.client.get(h.auth("/as/jwks"));
    let jwks = h.send(request).await.body;
    assert_eq!(jwks["keys"][0]["alg"], "RS256");
    verify_with_jwks(&access_token, &jwks);
    verify_with_jwks(&id_token, &jwks);
    let access = claims(&access_token);
    let issuer = h.auth("/as");
    assert_eq!(access["client_id"], app_id);
    assert_eq!(access["sub"], user_id);
    assert_eq!(access["iss"], issuer);
    assert_eq!(access["env"], h.info.env_id);
    assert_eq!(access["scope"], "openid");
    assert_eq!(
        access["exp"].as_u64().unwrap() - access["iat"].as_u64().unwrap(),
        3600
    );
    assert!(access["aud"].is_array());
    let id = claims(&id_token);
    assert_eq!(id["iss"], issuer);
    assert_eq!(id["aud"], app_id);
    assert_eq!(id["sub"], user_id);
    assert_eq!(id["nonce"], "n-0S6");
    assert_eq!(id["sid"], checked.body["session"]["id"]);
    assert_eq!(id["amr"], json!(["pwd"]));
    for claim in ["acr", "auth_time", "env", "org", "p1.region", "iat", "exp"] {
        assert!(id.get(claim).is_some(), "id_token lacks {claim}");
    }

    let request = h
        .client
        .get(h.auth("/as/userinfo"))
        .bearer_auth(&access_token);
    let userinfo = h.send(request).await;
    assert_eq!(userinfo.status, StatusCode::OK, "{}", userinfo.body);
    assert_eq!(userinfo.body["sub"], user_id);

    // Step 11: exchange the refresh token; everything is new.
    h.clock.advance(Duration::from_secs(5));
    let refreshed = h.exchange_refresh(&app, &refresh_token).await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(refreshed.header("cache-control"), "no-store");
    let new_refresh = refreshed.body["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh_token);
    assert_ne!(refreshed.body["access_token"], access_token);
    assert_ne!(refreshed.body["id_token"], id_token);
    verify_with_jwks(refreshed.body["access_token"].as_str().unwrap(), &jwks);
    assert_eq!(
        claims(refreshed.body["id_token"].as_str().unwrap())["sid"],
        id["sid"]
    );

    let request = h.client.get(h.auth("/as/.well-known/openid-configuration"));
    let discovery = h.send(request).await.body;
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(discovery["token_endpoint"], h.auth("/as/token"));
    assert_eq!(discovery["authorization_endpoint"], h.auth("/as/authorize"));
    assert_eq!(discovery["jwks_uri"], h.auth("/as/jwks"));
    assert_eq!(discovery["userinfo_endpoint"], h.auth("/as/userinfo"));

    h.emulator.shutdown().await;
}

#[tokio::test]
async fn pi_flow_mode_answers_with_json() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let request = h.client.post(h.auth("/as/authorize")).form(&[
        ("response_type", "code"),
        ("client_id", app.app_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("response_mode", "pi.flow"),
        ("state", "s1"),
    ]);
    let flow = h.send(request).await;
    assert_eq!(flow.status, StatusCode::OK, "{}", flow.body);
    assert_eq!(flow.body["status"], "USERNAME_PASSWORD_REQUIRED");
    let flow_id = flow.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        flow.body["_links"]["self"]["href"],
        h.auth(&format!("/flows/{flow_id}"))
    );
    assert!(
        flow.body["_links"]["signOnPage"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/signon/?flowId={flow_id}"))
    );

    // The charset parameter on the vendor media type is accepted.
    let request = h
        .client
        .post(h.auth(&format!("/flows/{flow_id}")))
        .header("content-type", format!("{CHECK}; charset=UTF-8"))
        .body(json!({"username": app.username, "password": PASSWORD}).to_string());
    let checked = h.send(request).await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);

    let resumed = h.resume(&flow_id).await;
    assert_eq!(resumed.status, StatusCode::OK, "{}", resumed.body);
    assert_eq!(resumed.body["status"], "COMPLETED");
    assert_eq!(resumed.body["authorizeResponse"]["state"], "s1");
    assert_eq!(resumed.body["_embedded"]["user"]["id"], app.user_id);
    let code = resumed.body["authorizeResponse"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = h.exchange_code(&app, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.body);
}

#[tokio::test]
async fn session_cookie_round_trips_through_a_cookie_store_over_http() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let flow_id = h.authorize(&app.app_id, &[]).await;
    let username = app.username.clone();
    let checked = h.check_credentials(&flow_id, &username, PASSWORD).await;
    assert_eq!(checked.status, StatusCode::OK);
    // The jar keeps both cookies under the environment path and offers them to /as/resume
    // but not to other paths.
    let resume_url = Url::parse(&h.auth("/as/resume")).unwrap();
    let mut sent: Vec<&str> = h
        .jar
        .get_request_values(&resume_url)
        .map(|(n, _)| n)
        .collect();
    sent.sort_unstable();
    assert_eq!(sent, ["ST", "ST-NO-SS"]);
    let elsewhere = Url::parse(&format!("{}/other", h.info.auth_base)).unwrap();
    assert_eq!(h.jar.get_request_values(&elsewhere).count(), 0);
    let resumed = h.resume(&flow_id).await;
    assert_eq!(resumed.status, StatusCode::FOUND, "{}", resumed.body);
}

#[tokio::test]
async fn cookies_are_secure_only_behind_https() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let flow_id = h.authorize(&app.app_id, &[]).await;
    let request = h
        .client
        .post(h.auth(&format!("/flows/{flow_id}")))
        .header("content-type", CHECK)
        .header("x-forwarded-proto", "https")
        .body(json!({"username": app.username, "password": PASSWORD}).to_string());
    let checked = h.send(request).await;
    assert_eq!(checked.status, StatusCode::OK);
    let cookies: Vec<&str> = checked
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let st = cookies.iter().find(|c| c.starts_with("ST=")).unwrap();
    assert!(st.ends_with("; Secure; HttpOnly; SameSite=None"), "{st}");
    let twin = cookies.iter().find(|c| c.starts_with("ST-NO-SS=")).unwrap();
    assert!(twin.ends_with("; Secure; HttpOnly"), "{twin}");
}

#[test]
fn cookie_store_treats_loopback_http_as_secure_but_not_other_hosts() {
    // What a jar built on cookie_store does with a `Secure` cookie received over http: it
    // stores it, and sends it back only to https or loopback origins.
    let mut jar = CookieStore::default();
    let loopback = Url::parse("http://127.0.0.1:9/env/as/resume").unwrap();
    jar.parse(
        "ST=a; Path=/env; Secure; HttpOnly; SameSite=None",
        &loopback,
    )
    .unwrap();
    assert_eq!(jar.get_request_values(&loopback).count(), 1);
    let mut jar = CookieStore::default();
    let lan = Url::parse("http://emulator.test:9/env/as/resume").unwrap();
    jar.parse("ST=a; Path=/env; Secure; HttpOnly; SameSite=None", &lan)
        .unwrap();
    assert_eq!(
        jar.get_request_values(&lan).count(),
        0,
        "stored but never sent over http"
    );
}

#[tokio::test]
async fn management_requires_a_valid_worker_token() {
    let mut h = Harness::start().await;
    let request = h.client.get(h.api("/applications"));
    let answer = h.send(request).await;
    let detail = answer.p1(401, "ACCESS_FAILED");
    assert_eq!(detail["code"], "INVALID_TOKEN");

    let request = h.client.get(h.api("/applications")).bearer_auth("garbage");
    h.send(request).await.p1(401, "ACCESS_FAILED");

    let tampered = format!("{}x", h.worker_token);
    let request = h.client.get(h.api("/applications")).bearer_auth(tampered);
    h.send(request).await.p1(401, "ACCESS_FAILED");

    assert_eq!(h.get_api("/applications").await.status, StatusCode::OK);
    h.clock.advance(Duration::from_secs(3600));
    let expired = h.get_api("/applications").await;
    assert_eq!(expired.p1(401, "ACCESS_FAILED")["code"], "INVALID_TOKEN");
}

#[tokio::test]
async fn user_access_tokens_cannot_manage() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let code = h.sign_on(&app, &[]).await;
    let tokens = h.exchange_code(&app, &code).await;
    let request = h
        .client
        .get(h.api("/applications"))
        .bearer_auth(tokens.body["access_token"].as_str().unwrap());
    h.send(request).await.p1(403, "ACCESS_FAILED");
}

#[tokio::test]
async fn invalid_application_bodies_are_rejected_with_details() {
    let mut h = Harness::start().await;
    let missing = h
        .post_json(
            "/applications",
            &json!({"enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT", "tokenEndpointAuthMethod": "NONE"}),
        )
        .await;
    let detail = missing.p1(400, "INVALID_DATA");
    assert_eq!(detail["code"], "REQUIRED_VALUE");
    assert_eq!(detail["target"], "name");
    assert_eq!(
        missing.body["message"],
        "The request could not be completed. One or more validation errors were in the request."
    );

    let bad_enum = h
        .post_json(
            "/applications",
            &json!({"name": "x", "enabled": true, "type": "WEBAPP", "protocol": "OPENID_CONNECT",
                    "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC", "grantTypes": ["AUTHORIZATION_CODE", "PASSWORD"],
                    "responseTypes": ["CODE"]}),
        )
        .await;
    bad_enum.p1(400, "INVALID_DATA");
    let targets: Vec<&str> = bad_enum.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["code"], "INVALID_VALUE");
            d["target"].as_str().unwrap()
        })
        .collect();
    assert_eq!(targets, ["type", "grantTypes[1]"]);
    assert!(bad_enum.body["details"][0]["innerError"]["allowedValues"].is_array());

    let range = h
        .post_json(
            "/applications",
            &json!({"name": "y", "enabled": true, "type": "WEB_APP",
        "protocol": "OPENID_CONNECT", "tokenEndpointAuthMethod": "NONE",
        "refreshTokenRollingGracePeriodDuration": 90_000}),
        )
        .await;
    assert_eq!(range.p1(400, "INVALID_DATA")["code"], "OUT_OF_RANGE");

    let request = h
        .client
        .post(h.api("/applications"))
        .bearer_auth(&h.worker_token)
        .header("content-type", "application/json")
        .body("{not json");
    h.send(request).await.p1(400, "INVALID_REQUEST");
}

#[tokio::test]
async fn duplicate_names_violate_uniqueness() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let again = h
        .post_json(
            "/applications",
            &json!({"name": "AppWithCodeGrant_1712345678", "enabled": true, "type": "WEB_APP",
                    "protocol": "OPENID_CONNECT", "tokenEndpointAuthMethod": "CLIENT_SECRET_BASIC"}),
        )
        .await;
    let detail = again.p1(400, "INVALID_DATA");
    assert_eq!(detail["code"], "UNIQUENESS_VIOLATION");
    assert_eq!(detail["target"], "name");
    assert_eq!(detail["innerError"]["existingId"], app.app_id);

    let population = h
        .post_json("/populations", &json!({"name": "RefreshTokenPopulation"}))
        .await;
    assert_eq!(
        population.p1(400, "INVALID_DATA")["innerError"]["existingId"],
        app.population_id
    );

    let user = h
        .post_json(
            "/users",
            &json!({"email": "other@example.com", "population": {"id": app.population_id}, "username": "RT_USER_1712345678"}),
        )
        .await;
    let detail = user.p1(400, "INVALID_DATA");
    assert_eq!(detail["code"], "UNIQUENESS_VIOLATION");
    assert_eq!(detail["target"], "username");
    assert_eq!(detail["innerError"]["existingId"], app.user_id);
}

#[tokio::test]
async fn users_need_an_existing_population_and_an_email() {
    let mut h = Harness::start().await;
    let answer = h
        .post_json("/users", &json!({"username": "u", "email": "nope", "population": {"id": "00000000-0000-4000-8000-000000000000"}}))
        .await;
    answer.p1(400, "INVALID_DATA");
    let targets: Vec<&str> = answer.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["email", "population.id"]);
    let answer = h.post_json("/users", &json!({"username": "u"})).await;
    let targets: Vec<&str> = answer.body["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["email", "population.id"]);
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let mut h = Harness::start().await;
    let unknown = "6f1c2e1a-0000-4000-8000-000000000000";
    for path in [
        format!("/applications/{unknown}"),
        format!("/applications/{unknown}/secret"),
        format!("/populations/{unknown}"),
        format!("/users/{unknown}"),
    ] {
        let answer = h.get_api(&path).await;
        answer.p1(404, "NOT_FOUND");
        assert_eq!(
            answer.body["message"],
            "The requested resource was not found."
        );
    }
    let other_env = format!("{}/environments/{unknown}/applications", h.info.api_base);
    let request = h.client.get(other_env).bearer_auth(&h.worker_token);
    h.send(request).await.p1(404, "NOT_FOUND");
    let request = h.client.get(h.auth(&format!("/flows/{unknown}")));
    h.send(request).await.p1(404, "NOT_FOUND");
}

#[tokio::test]
async fn wrong_methods_are_not_allowed() {
    let mut h = Harness::start().await;
    let request = h
        .client
        .patch(h.api("/applications"))
        .bearer_auth(&h.worker_token);
    let answer = h.send(request).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(answer.header("allow").contains("POST"));
    assert_eq!(answer.body["id"], answer.header("correlation-id"));
    let request = h.client.get(h.auth("/as/token"));
    assert_eq!(h.send(request).await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn wrong_media_types_are_unsupported() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let password = h
        .set_password(&app.user_id, "An0ther!Pass", "application/json")
        .await;
    password.p1(415, "INVALID_REQUEST");

    let flow_id = h.authorize(&app.app_id, &[]).await;
    let request = h
        .client
        .post(h.auth(&format!("/flows/{flow_id}")))
        .json(&json!({"username": app.username, "password": PASSWORD}));
    h.send(request).await.p1(415, "INVALID_REQUEST");
}

#[tokio::test]
async fn weak_passwords_break_the_policy() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    for weak in ["short1!", "alllowercase1!", "NoDigits!!x", "NoSpecial123"] {
        let answer = h.set_password(&app.user_id, weak, PASSWORD_SET).await;
        let detail = answer.p1(400, "INVALID_DATA");
        assert_eq!(detail["code"], "INVALID_VALUE");
        assert_eq!(detail["target"], "password");
        assert_eq!(
            detail["message"],
            "User password did not satisfy password policy requirements"
        );
    }
}

#[tokio::test]
async fn wrong_passwords_count_down_to_lockout() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let flow_id = h.authorize(&app.app_id, &[]).await;
    let username = app.username.clone();
    let wrong = h.check_credentials(&flow_id, &username, "Wr0ng!pass").await;
    let detail = wrong.p1(400, "INVALID_DATA");
    assert_eq!(detail["code"], "INVALID_VALUE");
    assert_eq!(detail["target"], "password");
    assert_eq!(detail["innerError"]["failuresRemaining"], 4);
    let unknown = h.check_credentials(&flow_id, "nobody", PASSWORD).await;
    assert_eq!(unknown.p1(400, "INVALID_DATA")["target"], "username");
    for _ in 0..4 {
        h.check_credentials(&flow_id, &username, "Wr0ng!pass").await;
    }
    let locked = h.check_credentials(&flow_id, &username, PASSWORD).await;
    assert_eq!(locked.p1(400, "INVALID_DATA")["code"], "ACCOUNT_NOT_USABLE");
    // The lockout lasts 900 s, as long as the flow's remaining life, so start a new flow.
    h.clock.advance(Duration::from_secs(900));
    let flow_id = h.authorize(&app.app_id, &[]).await;
    let fine = h.check_credentials(&flow_id, &username, PASSWORD).await;
    assert_eq!(fine.status, StatusCode::OK, "{}", fine.body);
}

#[tokio::test]
async fn authorize_rejects_bad_requests_without_redirecting() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("client_id", "nope"),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("client_id", &app.app_id),
                ("redirect_uri", "https://evil.example"),
                ("response_type", "code"),
                ("scope", "openid"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("client_id", &app.app_id),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("client_id", &app.app_id),
                ("redirect_uri", REDIRECT),
                ("response_type", "token"),
                ("scope", "openid"),
            ],
            "unsupported_response_type",
        ),
        (
            &[
                ("client_id", &app.app_id),
                ("redirect_uri", REDIRECT),
                ("response_type", "code"),
                ("scope", "openid admin"),
            ],
            "invalid_scope",
        ),
    ];
    for (query, error) in cases {
        let request = h.client.get(h.auth("/as/authorize")).query(query);
        let answer = h.send(request).await;
        assert!(answer.headers.get("location").is_none());
        answer.oauth(400, error);
    }
}

#[tokio::test]
async fn codes_are_single_use_and_bound() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;

    let code = h.sign_on(&app, &[]).await;
    let first = h.exchange_code(&app, &code).await;
    assert_eq!(first.status, StatusCode::OK);
    h.exchange_code(&app, &code)
        .await
        .oauth(400, "invalid_grant");
    // Replaying the code revoked the refresh token it produced.
    let refresh = first.body["refresh_token"].as_str().unwrap();
    h.exchange_refresh(&app, refresh)
        .await
        .oauth(400, "invalid_grant");

    let code = h.sign_on(&app, &[]).await;
    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://www.example.org"),
        ]);
    h.send(request).await.oauth(400, "invalid_grant");

    let code = h.sign_on(&app, &[]).await;
    h.clock.advance(Duration::from_secs(61));
    h.exchange_code(&app, &code)
        .await
        .oauth(400, "invalid_grant");
}

#[tokio::test]
async fn pkce_verifier_must_match_the_challenge() {
    let mut h = Harness::start().await;
    let app = h
        .provision(json!({"pkceEnforcement": "S256_REQUIRED"}))
        .await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    let code = h.sign_on(&app, &pkce).await;
    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            (
                "code_verifier",
                "wrong-verifier-wrong-verifier-wrong-verifier-x",
            ),
        ]);
    h.send(request).await.oauth(400, "invalid_grant");

    let code = h.sign_on(&app, &pkce).await;
    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ]);
    assert_eq!(h.send(request).await.status, StatusCode::OK);

    // S256_REQUIRED refuses authorization requests without a challenge.
    let request = h.client.get(h.auth("/as/authorize")).query(&[
        ("client_id", app.app_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
    ]);
    h.send(request).await.oauth(400, "invalid_request");
}

#[tokio::test]
async fn client_authentication_failures_are_invalid_client() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let code = h.sign_on(&app, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];

    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some("wrong"))
        .form(&form);
    let answer = h.send(request).await;
    answer.oauth(401, "invalid_client");
    assert!(answer.header("www-authenticate").starts_with("Basic"));
    assert!(
        answer.body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Request denied: Unsupported authentication method")
    );

    // The app is CLIENT_SECRET_BASIC, so credentials in the body are the wrong method.
    let mut post_form = form.to_vec();
    post_form.extend([
        ("client_id", app.app_id.as_str()),
        ("client_secret", app.app_secret.as_str()),
    ]);
    let request = h.post_token().form(&post_form);
    h.send(request).await.oauth(401, "invalid_client");

    let request = h.post_token().form(&form);
    h.send(request).await.oauth(401, "invalid_client");

    // The code is still good after the failed attempts.
    assert_eq!(h.exchange_code(&app, &code).await.status, StatusCode::OK);
}

#[tokio::test]
async fn client_secret_post_apps_authenticate_in_the_body() {
    let mut h = Harness::start().await;
    let app = h
        .provision(json!({"tokenEndpointAuthMethod": "CLIENT_SECRET_POST"}))
        .await;
    let code = h.sign_on(&app, &[]).await;
    let request = h.post_token().form(&[
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", app.app_id.as_str()),
        ("client_secret", app.app_secret.as_str()),
    ]);
    let answer = h.send(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // Basic is the wrong method for this app.
    let refresh = answer.body["refresh_token"].as_str().unwrap().to_owned();
    h.exchange_refresh(&app, &refresh)
        .await
        .oauth(401, "invalid_client");
}

#[tokio::test]
async fn token_request_errors() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "u"),
            ("password", "p"),
        ]);
    h.send(request).await.oauth(400, "unsupported_grant_type");

    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .form(&[("grant_type", "client_credentials")]);
    h.send(request).await.oauth(400, "unauthorized_client");

    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .json(&json!({"grant_type": "authorization_code"}));
    h.send(request).await.oauth(400, "invalid_request");

    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
        ]);
    h.send(request).await.oauth(400, "invalid_request");

    h.exchange_refresh(&app, "not-a-refresh-token")
        .await
        .oauth(400, "invalid_grant");
}

#[tokio::test]
async fn refresh_token_replay_within_grace_is_allowed() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let code = h.sign_on(&app, &[]).await;
    let first = h.exchange_code(&app, &code).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = h.exchange_refresh(&app, &first).await;
    assert_eq!(second.status, StatusCode::OK);
    h.clock.advance(Duration::from_secs(59));
    let replay = h.exchange_refresh(&app, &first).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.body);
    let second = second.body["refresh_token"].as_str().unwrap();
    assert_eq!(
        h.exchange_refresh(&app, second).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_token_replay_outside_grace_revokes_the_family() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let code = h.sign_on(&app, &[]).await;
    let first = h.exchange_code(&app, &code).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = h.exchange_refresh(&app, &first).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let third = h.exchange_refresh(&app, &second).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();

    h.clock.advance(Duration::from_secs(60));
    h.exchange_refresh(&app, &first)
        .await
        .oauth(400, "invalid_grant");
    // The newest token, never used, died with its family.
    h.exchange_refresh(&app, &third)
        .await
        .oauth(400, "invalid_grant");
}

#[tokio::test]
async fn without_a_grace_period_any_reuse_revokes() {
    let mut h = Harness::start().await;
    let app = h
        .provision(json!({"refreshTokenRollingGracePeriodDuration": null, "name": "NoGrace"}))
        .await;
    let code = h.sign_on(&app, &[]).await;
    let first = h.exchange_code(&app, &code).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = h.exchange_refresh(&app, &first).await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.exchange_refresh(&app, &first)
        .await
        .oauth(400, "invalid_grant");
    h.exchange_refresh(&app, &second)
        .await
        .oauth(400, "invalid_grant");
}

#[tokio::test]
async fn resume_needs_the_session_cookie() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let flow_id = h.authorize(&app.app_id, &[]).await;

    let early = h.resume(&flow_id).await;
    early.p1(400, "INVALID_REQUEST");

    let username = app.username.clone();
    h.check_credentials(&flow_id, &username, PASSWORD).await;
    h.jar.clear();
    let answer = h.resume(&flow_id).await;
    let detail = answer.p1(401, "ACCESS_FAILED");
    assert_eq!(detail["code"], "INVALID_TOKEN");
    let request = h
        .client
        .get(h.auth("/as/resume"))
        .query(&[("flowId", flow_id.as_str())])
        .header("cookie", "ST=forged");
    h.send(request).await.p1(401, "ACCESS_FAILED");
}

#[tokio::test]
async fn flows_expire_after_fifteen_minutes() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let flow_id = h.authorize(&app.app_id, &[]).await;
    h.clock.advance(Duration::from_secs(14 * 60 + 59));
    let request = h.client.get(h.auth(&format!("/flows/{flow_id}")));
    assert_eq!(h.send(request).await.status, StatusCode::OK);
    h.clock.advance(Duration::from_secs(1));
    let request = h.client.get(h.auth(&format!("/flows/{flow_id}")));
    h.send(request).await.p1(404, "NOT_FOUND");
    let username = app.username.clone();
    h.check_credentials(&flow_id, &username, PASSWORD)
        .await
        .p1(404, "NOT_FOUND");
}

#[tokio::test]
async fn deleted_resources_are_gone() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;

    let user_path = format!("/users/{}", app.user_id);
    let population_path = format!("/populations/{}", app.population_id);
    let app_path = format!("/applications/{}", app.app_id);

    assert_eq!(h.get_api(&population_path).await.body["userCount"], 1);
    let busy = h.delete_api(&population_path).await;
    assert_eq!(busy.p1(400, "INVALID_DATA")["code"], "CONSTRAINT_VIOLATION");

    for path in [&user_path, &population_path, &app_path] {
        assert_eq!(h.get_api(path).await.status, StatusCode::OK);
        let deleted = h.delete_api(path).await;
        assert_eq!(
            deleted.status,
            StatusCode::NO_CONTENT,
            "{path}: {}",
            deleted.body
        );
        h.get_api(path).await.p1(404, "NOT_FOUND");
        h.delete_api(path).await.p1(404, "NOT_FOUND");
    }
    let apps = h.get_api("/applications").await;
    assert_eq!(apps.body["count"], 1, "only the worker app is left");
}

#[tokio::test]
async fn the_same_seed_gives_the_same_ids() {
    let mut a = Harness::with(Some(7), 0).await;
    let mut b = Harness::with(Some(7), 0).await;
    assert_eq!(a.info.env_id, b.info.env_id);
    assert_eq!(a.info.worker_client_secret, b.info.worker_client_secret);
    let app_a = a.provision(json!({})).await;
    let app_b = b.provision(json!({})).await;
    assert_eq!(app_a.app_id, app_b.app_id);
    assert_eq!(app_a.app_secret, app_b.app_secret);
    assert_eq!(app_a.user_id, app_b.user_id);
    let code_a = a.sign_on(&app_a, &[]).await;
    let code_b = b.sign_on(&app_b, &[]).await;
    assert_eq!(code_a, code_b);

    let c = Harness::with(Some(8), 0).await;
    assert_ne!(a.info.env_id, c.info.env_id);
    let unseeded = Harness::with(None, 0).await;
    assert_ne!(unseeded.info.env_id, a.info.env_id);
}

#[tokio::test]
async fn info_lists_the_workflow_inputs() {
    let h = Harness::start().await;
    let inputs = h.info.inputs();
    let names: Vec<&str> = inputs.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "env_id",
            "worker_client_id",
            "worker_client_secret",
            "api_base",
            "auth_base",
            "client_private_key",
            "client_jwks"
        ]
    );
    let addr = h.emulator.addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(h.info.auth_base, format!("http://{addr}"));
    assert_eq!(h.info.api_base, format!("http://{addr}/v1"));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let h = Harness::start().await;
    let url = h.auth("/as/jwks");
    let client = reqwest::Client::new();
    assert!(client.get(&url).send().await.unwrap().status().is_success());
    h.emulator.shutdown().await;
    assert!(client.get(&url).send().await.is_err());
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl Harness {
    /// Signs a client assertion for `client_id` with the usual claims, `changes` merged in
    /// (a null removes a claim).
    fn assertion(&self, client_id: &str, key: &Value, alg: &str, changes: &Value) -> String {
        let now = start_time()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": client_id,
            "sub": client_id,
            "aud": self.auth("/as/token"),
            "iat": now,
            "exp": now + 300,
            "jti": format!("{alg}-{}", changes),
        });
        for (name, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(name);
            } else {
                claims[name] = value.clone();
            }
        }
        apiflow::template::jws::sign(&claims, key, alg, None).unwrap()
    }

    async fn token_with_assertion(&mut self, form: &[(&str, &str)], assertion: &str) -> Answer {
        let mut form = form.to_vec();
        form.extend([
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ]);
        let request = self.post_token().form(&form);
        self.send(request).await
    }
}

fn described(answer: &Answer, description: &str) {
    answer.oauth(401, "invalid_client");
    let text = answer.body["error_description"].as_str().unwrap();
    assert!(text.starts_with(description), "{text}");
}

#[tokio::test]
async fn private_key_jwt_apps_authenticate_with_a_signed_assertion() {
    let mut h = Harness::start().await;
    let jwks = h.info.client_jwks.clone();
    let app = h
        .provision(json!({"tokenEndpointAuthMethod": "PRIVATE_KEY_JWT", "jwks": jwks}))
        .await;
    let key = json!(h.info.client_private_key);
    let code = h.sign_on(&app, &[]).await;
    let code_form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];

    // The wrong method for the app, and assertions that fail one check each.
    let request = h
        .post_token()
        .basic_auth(&app.app_id, Some(&app.app_secret))
        .form(&code_form);
    described(
        &h.send(request).await,
        "Request denied: Unsupported authentication method",
    );
    let failures = [
        (
            json!({"aud": "https://auth.pingone.com/other/as/token"}),
            "Request denied: aud must be the token endpoint",
        ),
        (
            json!({"exp": 1_767_225_600 - 1}),
            "Request denied: the client assertion has expired",
        ),
        (
            json!({"exp": 1_767_225_600 + 3601}),
            "Request denied: the client assertion expires more than one hour from now",
        ),
        (json!({"exp": null}), "Request denied: exp is required"),
        (
            json!({"nbf": 1_767_225_600 + 60}),
            "Request denied: the client assertion is not valid yet (nbf)",
        ),
        (
            json!({"sub": "someone-else"}),
            "Request denied: iss and sub must both be the client id",
        ),
    ];
    for (changes, description) in failures {
        let assertion = h.assertion(&app.app_id, &key, "RS256", &changes);
        described(
            &h.token_with_assertion(&code_form, &assertion).await,
            description,
        );
    }
    // Signed by another key, or with the client secret.
    let mut tampered = h.assertion(&app.app_id, &key, "RS256", &json!({"n": 1}));
    tampered.truncate(tampered.len() - 4);
    tampered.push_str("AAAA");
    described(
        &h.token_with_assertion(&code_form, &tampered).await,
        "Request denied: the client assertion's signature is invalid",
    );
    let hs = h.assertion(&app.app_id, &json!(app.app_secret), "HS256", &json!({}));
    described(
        &h.token_with_assertion(&code_form, &hs).await,
        "Request denied: a private key JWT must use an RS, PS or ES algorithm, not 'HS256'",
    );

    // A good assertion; its jti cannot be used again.
    let assertion = h.assertion(&app.app_id, &key, "RS256", &json!({}));
    let answer = h.token_with_assertion(&code_form, &assertion).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let refresh = answer.body["refresh_token"].as_str().unwrap().to_owned();
    let refresh_form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    described(
        &h.token_with_assertion(&refresh_form, &assertion).await,
        "Request denied: the client assertion (jti) has already been used",
    );
    // The issuer is an audience PingOne accepts too.
    let issuer = h.auth("/as");
    let assertion = h.assertion(
        &app.app_id,
        &key,
        "RS256",
        &json!({"aud": [issuer], "jti": "second"}),
    );
    let answer = h.token_with_assertion(&refresh_form, &assertion).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn client_secret_jwt_apps_sign_with_their_secret() {
    let mut h = Harness::start().await;
    let app = h
        .provision(json!({"tokenEndpointAuthMethod": "CLIENT_SECRET_JWT"}))
        .await;
    let code = h.sign_on(&app, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let wrong = h.assertion(&app.app_id, &json!("not the secret"), "HS256", &json!({}));
    described(
        &h.token_with_assertion(&form, &wrong).await,
        "Request denied: the client assertion's signature is invalid",
    );
    let rsa = json!(h.info.client_private_key);
    let rs256 = h.assertion(&app.app_id, &rsa, "RS256", &json!({}));
    described(
        &h.token_with_assertion(&form, &rs256).await,
        "Request denied: a client secret JWT must use HS256, HS384 or HS512, not 'RS256'",
    );
    // Two methods at once, and a wrong assertion type, are malformed requests.
    let good = h.assertion(&app.app_id, &json!(app.app_secret), "HS512", &json!({}));
    let mut with_secret = form.to_vec();
    with_secret.extend([
        ("client_secret", app.app_secret.as_str()),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", good.as_str()),
    ]);
    let request = h.post_token().form(&with_secret);
    h.send(request).await.oauth(400, "invalid_request");
    let mut wrong_type = form.to_vec();
    wrong_type.extend([
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        ),
        ("client_assertion", good.as_str()),
    ]);
    let request = h.post_token().form(&wrong_type);
    h.send(request).await.oauth(400, "invalid_request");

    let answer = h.token_with_assertion(&form, &good).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn assertions_are_refused_for_apps_with_a_secret_method() {
    let mut h = Harness::start().await;
    let app = h.provision(json!({})).await;
    let code = h.sign_on(&app, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let assertion = h.assertion(&app.app_id, &json!(app.app_secret), "HS256", &json!({}));
    described(
        &h.token_with_assertion(&form, &assertion).await,
        "Request denied: Unsupported authentication method",
    );
}

#[tokio::test]
async fn private_key_jwt_apps_need_a_jwks() {
    let mut h = Harness::start().await;
    let mut body = json!({
        "name": "KeyApp", "enabled": true, "type": "WEB_APP", "protocol": "OPENID_CONNECT",
        "tokenEndpointAuthMethod": "PRIVATE_KEY_JWT",
    });
    let answer = h.post_json("/applications", &body).await;
    let detail = answer.p1(400, "INVALID_DATA");
    assert_eq!(detail["code"], "REQUIRED_VALUE");
    assert_eq!(detail["target"], "jwks");
    body["jwks"] = json!("{\"kty\": \"RSA\"}");
    let answer = h.post_json("/applications", &body).await;
    let detail = answer.p1(400, "INVALID_DATA");
    assert_eq!(detail["code"], "INVALID_VALUE");
    assert_eq!(detail["target"], "jwks");
    body["jwks"] = json!(h.info.client_jwks);
    let answer = h.post_json("/applications", &body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body["jwks"], json!(h.info.client_jwks));
    // The published half of the test-only key has no private parts.
    let jwks: Value = serde_json::from_str(&h.info.client_jwks).unwrap();
    let key = jwks["keys"][0].as_object().unwrap();
    let mut names: Vec<&str> = key.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "e", "kid", "kty", "n", "use"]);
}

#[tokio::test]
async fn the_client_key_can_be_replaced_in_the_options() {
    // The P-256 key of RFC 7515, appendix A.3.
    let key = json!({
        "kty": "EC", "crv": "P-256", "kid": "ec-1",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        "d": "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"
    });
    let emulator = Emulator::start(
        0,
        Options {
            client_key: Some(key.to_string()),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let info = emulator.info();
    assert_eq!(info.client_private_key, key.to_string());
    let jwks: Value = serde_json::from_str(&info.client_jwks).unwrap();
    assert_eq!(
        jwks,
        json!({"keys": [{"kty": "EC", "kid": "ec-1", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})
    );
    emulator.shutdown().await;
}
