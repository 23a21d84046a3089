//! The generic OpenID Connect workflow (`workflows/oidc_authorization_code.yaml`) against an
//! in-process provider, through the binary; and the provider's own contract, so that passing
//! against it means something.

use crate::support;
use crate::support::oidc_provider;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oidc_provider::{
    CLIENT_ID, CLIENT_SECRET, Options, PASSWORD, Provider, REDIRECT_URI, SESSION_COOKIE, SUBJECT,
    Seen, USERNAME,
};
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::Value;
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// The provider's contract, driven by hand with reqwest: no redirects followed, no cookie jar.

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn http() -> reqwest::Client {
    // reqwest is built without a default TLS provider; any will do for plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
        .to_owned()
}

/// The value of a hidden field in a page.
fn hidden(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let start = page.find(&needle).expect("the field") + needle.len();
    page[start..].split('"').next().expect("a value").to_owned()
}

fn authorize_url(provider: &Provider, verifier: &str) -> String {
    let mut url = url::Url::parse(&format!("{}/authorize", provider.issuer)).expect("a URL");
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", REDIRECT_URI)
        .append_pair("scope", "openid profile")
        .append_pair("state", "st-123")
        .append_pair("nonce", "n-456")
        .append_pair("code_challenge", &challenge(verifier))
        .append_pair("code_challenge_method", "S256");
    url.into()
}

/// Starts an authorization: the session cookie (`name=value`) and the login page's URL.
async fn start(http: &reqwest::Client, provider: &Provider, verifier: &str) -> (String, String) {
    let response = http
        .get(authorize_url(provider, verifier))
        .send()
        .await
        .expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let set_cookie = response.headers()[SET_COOKIE].to_str().expect("text");
    assert!(
        set_cookie.ends_with("; Path=/interaction; HttpOnly; SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    let login = location(&response);
    assert!(
        login.starts_with("interaction/login?"),
        "a relative Location: {login}"
    );
    (cookie, format!("{}/{login}", provider.issuer))
}

/// Signs in and consents by hand; returns the code.
async fn sign_in(http: &reqwest::Client, provider: &Provider, verifier: &str) -> String {
    let (cookie, login_url) = start(http, provider, verifier).await;
    let page = http
        .get(&login_url)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("HTML");
    let response = http
        .post(format!("{}/interaction/login", provider.issuer))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", hidden(&page, "csrf").as_str()),
            ("interaction", hidden(&page, "interaction").as_str()),
            ("username", USERNAME),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let mut next = location(&response);
    if next == "consent" {
        let consent_url = format!("{}/interaction/consent", provider.issuer);
        let page = http
            .get(&consent_url)
            .header("cookie", &cookie)
            .send()
            .await
            .expect("consent page")
            .text()
            .await
            .expect("HTML");
        let response = http
            .post(&consent_url)
            .header("cookie", &cookie)
            .form(&[
                ("csrf", hidden(&page, "csrf").as_str()),
                ("decision", "allow"),
            ])
            .send()
            .await
            .expect("consent");
        next = location(&response);
    }
    let url = url::Url::parse(&next).expect("an absolute redirect");
    assert!(next.starts_with(REDIRECT_URI), "{next}");
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(param("state").as_deref(), Some("st-123"));
    param("code").expect("a code")
}

async fn token(http: &reqwest::Client, provider: &Provider, form: &[(&str, &str)]) -> (u16, Value) {
    let response = http
        .post(format!("{}/token", provider.issuer))
        // RFC 6749, section 2.3.1: each part is form-encoded before base64.
        .basic_auth(form_encoded(CLIENT_ID), Some(form_encoded(CLIENT_SECRET)))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

fn form_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn redeem(http: &reqwest::Client, provider: &Provider, code: &str) -> (u16, Value) {
    token(
        http,
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn userinfo_status(http: &reqwest::Client, provider: &Provider, access_token: &str) -> u16 {
    http.get(format!("{}/userinfo", provider.issuer))
        .bearer_auth(access_token)
        .send()
        .await
        .expect("userinfo")
        .status()
        .as_u16()
}

#[tokio::test]
async fn the_provider_issues_verifiable_tokens_for_a_single_use_code() {
    let provider = Provider::start(Options::standard());
    let http = http();
    let discovery: Value = http
        .get(format!(
            "{}/.well-known/openid-configuration",
            provider.issuer
        ))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("JSON");
    assert_eq!(discovery["issuer"], provider.issuer.as_str());
    assert_eq!(discovery["code_challenge_methods_supported"][0], "S256");

    let code = sign_in(&http, &provider, VERIFIER).await;
    let (status, tokens) = redeem(&http, &provider, &code).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    let claims =
        apiflow::template::jwt::verify(id_token, &provider.jwks()).expect("a valid signature");
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["nonce"], "n-456");
    assert!(claims["exp"].as_u64() > claims["iat"].as_u64());
    let access = tokens["access_token"].as_str().expect("an access token");
    assert_eq!(userinfo_status(&http, &provider, access).await, 200);

    // The same code again is refused, and what it gave out is revoked.
    let (status, error) = redeem(&http, &provider, &code).await;
    assert_eq!(
        (status, &error["error"]),
        (400, &Value::from("invalid_grant"))
    );
    assert_eq!(userinfo_status(&http, &provider, access).await, 401);
}

#[tokio::test]
async fn the_provider_checks_pkce_redirect_uri_and_client_authentication() {
    let provider = Provider::start(Options::standard().skip_consent(true));
    let http = http();

    // Without a S256 challenge the request goes back to the client with an error and the state.
    let mut url = url::Url::parse(&authorize_url(&provider, VERIFIER)).expect("a URL");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "code_challenge_method")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(&pairs);
    let response = http.get(url.as_str()).send().await.expect("authorize");
    let refused = location(&response);
    assert!(
        refused.starts_with(&format!("{REDIRECT_URI}?error=invalid_request&")),
        "{refused}"
    );
    assert!(refused.ends_with("&state=st-123"), "{refused}");
    // An unregistered redirect URI is never redirected to.
    let elsewhere = authorize_url(&provider, VERIFIER).replace("shop.example", "evil.example");
    let response = http.get(elsewhere).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    let code = sign_in(&http, &provider, VERIFIER).await;
    let wrong_verifier = "x".repeat(43);
    let attempts: [(&str, &[(&str, &str)]); 2] = [
        (
            "PKCE verification failed",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &wrong_verifier),
            ],
        ),
        (
            "redirect_uri does not match",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://shop.example/other"),
                ("code_verifier", VERIFIER),
            ],
        ),
    ];
    for (why, form) in attempts {
        let (status, error) = token(&http, &provider, form).await;
        assert_eq!(status, 400);
        assert_eq!(error["error_description"], why);
    }
    // Client credentials in the body instead of HTTP Basic are refused.
    let response = http
        .post(format!("{}/token", provider.issuer))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    // None of that used the code up.
    assert_eq!(redeem(&http, &provider, &code).await.0, 200);
}

#[tokio::test]
async fn the_session_cookie_is_signed_and_the_forms_carry_csrf_tokens() {
    let provider = Provider::start(Options::standard());
    let http = http();
    let (cookie, login_url) = start(&http, &provider, VERIFIER).await;
    let (name, value) = cookie.split_once('=').expect("name=value");
    assert_eq!(name, SESSION_COOKIE);
    let (id, mac) = value.rsplit_once('.').expect("ID.MAC");
    let mut forged_id = id.to_owned();
    forged_id.replace_range(0..1, if id.starts_with('A') { "B" } else { "A" });
    for cookie in [
        None,
        Some(format!("{name}={forged_id}.{mac}")),
        Some(format!("{name}={id}.{}", URL_SAFE_NO_PAD.encode([0u8; 32]))),
    ] {
        let mut request = http.get(&login_url);
        if let Some(cookie) = &cookie {
            request = request.header("cookie", cookie);
        }
        let response = request.send().await.expect("login page");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{cookie:?}");
    }
    let page = http
        .get(&login_url)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("HTML");
    let submit = |csrf: String| {
        http.post(format!("{}/interaction/login", provider.issuer))
            .header("cookie", &cookie)
            .form(&[
                ("csrf", csrf),
                ("interaction", hidden(&page, "interaction")),
                ("username", USERNAME.to_owned()),
                ("password", PASSWORD.to_owned()),
            ])
            .send()
    };
    let response = submit("forged".to_owned()).await.expect("login");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = submit(hidden(&page, "csrf")).await.expect("login");
    assert_eq!(location(&response), "consent");
}

#[tokio::test]
async fn rotated_refresh_tokens_are_single_use_and_reuse_revokes_the_family() {
    let provider = Provider::start(Options::standard().rotate(true));
    let http = http();
    let code = sign_in(&http, &provider, VERIFIER).await;
    let (_, tokens) = redeem(&http, &provider, &code).await;
    let first = tokens["refresh_token"].as_str().expect("a refresh token");
    let refresh = |presented: String| {
        let http = http.clone();
        let provider = &provider;
        async move {
            token(
                &http,
                provider,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &presented),
                ],
            )
            .await
        }
    };
    let (status, rotated) = refresh(first.to_owned()).await;
    assert_eq!(status, 200);
    let second = rotated["refresh_token"]
        .as_str()
        .expect("a new refresh token");
    assert_ne!(second, first);
    let access = rotated["access_token"].as_str().expect("an access token");
    assert_eq!(userinfo_status(&http, &provider, access).await, 200);

    let (status, error) = refresh(first.to_owned()).await;
    assert_eq!(status, 400);
    assert_eq!(error["error_description"], "refresh token reuse detected");
    // The whole family is gone: the newest refresh token and the access token too.
    let (_, error) = refresh(second.to_owned()).await;
    assert_eq!(error["error_description"], "the refresh token was revoked");
    assert_eq!(userinfo_status(&http, &provider, access).await, 401);
}

#[tokio::test]
async fn without_rotation_the_refresh_token_stays_the_same() {
    let provider = Provider::start(Options::standard().rotate(false));
    let http = http();
    let code = sign_in(&http, &provider, VERIFIER).await;
    let (_, tokens) = redeem(&http, &provider, &code).await;
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token");
    for _ in 0..2 {
        let (status, refreshed) = token(
            &http,
            &provider,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(refreshed["refresh_token"], refresh_token);
    }
    assert!(provider.seen().iter().all(|s| match s {
        Seen::Token { result, .. } => result.is_ok(),
        _ => true,
    }));
}

// ---------------------------------------------------------------------------------------------
// The shipped workflow against the provider, through the binary.

const WORKFLOW: &str = "workflows/oidc_authorization_code.yaml";

/// What one run of the binary printed and reported.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// The JSON report's only workflow.
    report: Value,
}

impl Run {
    fn step(&self, name: &str) -> &Value {
        self.report["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step `{name}` in {}", self.report))
    }
}

/// Runs the workflow with `-v` against a provider, with its standard client and user.
fn run_workflow(provider: &Provider, extra: &[(&str, &str)]) -> Run {
    let report_path = std::env::temp_dir().join(format!(
        "apiflow-oidc-{}-{}.json",
        std::process::id(),
        provider.port
    ));
    let mut vars = vec![
        ("issuer", provider.issuer.as_str()),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "openid profile"),
        ("username", USERNAME),
        ("password", PASSWORD),
    ];
    vars.extend_from_slice(extra);
    let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("the binary is built");
    command.env_remove("GITHUB_ACTIONS");
    command
        .current_dir(support::ROOT)
        .args(["run", WORKFLOW, "-v"]);
    for (name, value) in vars {
        command.arg("--var").arg(format!("{name}={value}"));
    }
    command
        .arg("--report")
        .arg(format!("json={}", report_path.display()));
    let out = command.output().expect("the binary runs");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(&report_path).expect("the JSON report is written"),
    )
    .expect("a JSON report");
    let _ = std::fs::remove_file(&report_path);
    Run {
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8(out.stdout).expect("UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8"),
        report: report["workflows"][0].clone(),
    }
}

/// Asserts that nothing secret the run knew or the provider issued was printed or reported.
fn assert_no_secret_leaked(run: &Run, provider: &Provider) {
    let mut secrets: Vec<String> = provider.issued();
    secrets.push(PASSWORD.to_owned());
    secrets.push(form_encoded(PASSWORD));
    secrets.push(CLIENT_SECRET.to_owned());
    secrets.push(form_encoded(CLIENT_SECRET));
    for seen in provider.seen() {
        if let Seen::Token {
            code_verifier: Some(verifier),
            ..
        } = seen
        {
            secrets.push(verifier);
        }
    }
    let report = run.report.to_string();
    for secret in secrets {
        for (what, text) in [
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
            ("the JSON report", &report),
        ] {
            assert!(
                !text.contains(&secret),
                "`{secret}` leaked into {what}:\n{text}"
            );
        }
    }
    assert!(run.stdout.contains("••••"), "{}", run.stdout);
}

fn step_outcomes(run: &Run) -> Vec<(String, String)> {
    run.report["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_owned(),
                s["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_workflow_signs_in_through_login_and_consent_and_sees_the_rotation() {
    let provider = Provider::start(Options::standard().rotate(true));
    let run = run_workflow(&provider, &[("rotates", "true")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let outcomes = step_outcomes(&run);
    assert!(outcomes.iter().all(|(_, o)| o == "passed"), "{outcomes:?}");
    assert_eq!(run.step("refresh the tokens")["captures"]["rotated"], true);

    // What the provider received, in order.
    let seen = provider.seen();
    let Some(Seen::Authorize {
        state,
        nonce,
        code_challenge,
        redirect_uri,
        scope,
        ..
    }) = seen.first().cloned()
    else {
        panic!("{seen:#?}")
    };
    assert_eq!(
        (redirect_uri.as_str(), scope.as_str()),
        (REDIRECT_URI, "openid profile")
    );
    assert!(state.len() >= 32 && nonce.len() >= 32 && state != nonce);
    assert_eq!(
        seen[1],
        Seen::Login {
            username: USERNAME.to_owned(),
            accepted: true
        }
    );
    assert_eq!(seen[2], Seen::Consent("allow".to_owned()));
    let Seen::Redirected {
        state: echoed,
        code: _,
    } = &seen[3]
    else {
        panic!("{seen:#?}")
    };
    assert_eq!(echoed, &state);
    // The workflow checked the state it got back against the one it sent.
    assert_eq!(
        run.step("consent")["captures"]["returned_state"],
        state.as_str()
    );
    let Seen::Token {
        grant_type,
        client_auth,
        code_verifier: Some(verifier),
        result: Ok(()),
    } = &seen[4]
    else {
        panic!("{seen:#?}")
    };
    assert_eq!(grant_type, "authorization_code");
    assert_eq!(client_auth, "client_secret_basic");
    assert_eq!(
        challenge(verifier),
        code_challenge,
        "the PKCE verifier matches"
    );
    assert_eq!(seen[5], Seen::Userinfo(true));
    assert!(matches!(
        &seen[6],
        Seen::Token { grant_type, client_auth, result: Ok(()), .. }
            if grant_type == "refresh_token" && client_auth == "client_secret_basic"
    ));
    assert_eq!(seen.len(), 7, "{seen:#?}");

    // The session cookie went only where its path allows, and nothing went to `redirect_uri`.
    for request in provider.received() {
        let sent_session = request.cookies.iter().any(|c| c == SESSION_COOKIE);
        let in_scope = request.path.starts_with("/interaction/");
        assert!(!sent_session || in_scope, "{request:?}");
        if in_scope {
            assert!(sent_session, "{request:?}");
        }
    }
    assert!(
        !run.stdout.contains(&format!("> GET {REDIRECT_URI}")),
        "{}",
        run.stdout
    );
    assert_no_secret_leaked(&run, &provider);
}

/// The step lines and the summary of a `-v` run, with the port and random values made stable.
fn step_lines(run: &Run, provider: &Provider) -> String {
    let random = regex::Regex::new(r"(state|nonce)=[A-Za-z0-9]+").expect("a regex");
    let time =
        regex::Regex::new(r"(→ \d{3}(?: \([^)]*\))? )\S+|( skipped in )\S+$").expect("a regex");
    run.stdout
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with("    "))
        .map(|line| {
            let line = support::normalize(line, &[(provider.port, "<port>")]);
            let line = random.replace_all(&line, "$1=<random>");
            time.replace_all(&line, "${1}${2}<t>").into_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_workflow_skips_consent_when_the_provider_does_not_ask_and_sees_no_rotation() {
    let provider = Provider::start(
        Options::standard()
            .skip_consent(true)
            .rotate(false)
            .login_fields("login", "passwd"),
    );
    let run = run_workflow(
        &provider,
        &[
            ("rotates", "false"),
            ("username_field", "login"),
            ("password_field", "passwd"),
        ],
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    insta::assert_snapshot!(step_lines(&run, &provider));
    assert_eq!(run.step("consent")["outcome"], "skipped");
    assert_eq!(run.step("refresh the tokens")["captures"]["rotated"], false);
    let seen = provider.seen();
    assert!(
        !seen.iter().any(|s| matches!(s, Seen::Consent(_))),
        "{seen:#?}"
    );
    assert!(seen.contains(&Seen::Login {
        username: USERNAME.to_owned(),
        accepted: true
    }));
    let tokens: Vec<&Seen> = seen
        .iter()
        .filter(|s| matches!(s, Seen::Token { result: Ok(()), .. }))
        .collect();
    assert_eq!(tokens.len(), 2, "{seen:#?}");
    assert_no_secret_leaked(&run, &provider);
}

#[test]
fn the_rotation_check_fails_when_the_provider_does_otherwise() {
    for (rotate, expected) in [(false, "true"), (true, "false")] {
        let provider = Provider::start(Options::standard().rotate(rotate));
        let run = run_workflow(&provider, &[("rotates", expected)]);
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert_eq!(run.step("refresh the tokens")["outcome"], "failed");
        assert!(
            run.stdout.contains(
                "error: check failed: `rotates == 'auto' or rotated == (rotates == 'true')`"
            ),
            "{}",
            run.stdout
        );
        assert_no_secret_leaked(&run, &provider);
    }
}

#[test]
fn a_refused_password_fails_the_sign_in_step() {
    let provider = Provider::start(Options::standard());
    let run = run_workflow(&provider, &[("password", "not her password")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let outcomes = step_outcomes(&run);
    assert_eq!(
        outcomes
            .iter()
            .map(|(n, o)| format!("{n}: {o}"))
            .collect::<Vec<_>>()[3..5],
        ["sign in: failed", "consent: skipped"]
    );
    assert!(
        run.stdout
            .contains("error: check failed: `password_inputs | length == 0`"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("not her password"), "{}", run.stdout);
    assert!(provider.seen().contains(&Seen::Login {
        username: USERNAME.to_owned(),
        accepted: false
    }));
}
