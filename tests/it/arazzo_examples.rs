//! The Arazzo Specification's own examples: each one as published is checked by `validate`
//! (its mistakes reported before anything is sent), and each corrected copy under
//! `tests/fixtures/arazzo/examples/` runs against an in-process server that answers its
//! operations as their OpenAPI descriptions say, with `--openapi-checks error`.

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use support::bin::{Output, TempDir, apiflow, output};
use support::{Recorded, Reply, Server};

/// The examples as published.
const PUBLISHED: &str = "tests/vectors/arazzo/examples/1.0.0";
/// The corrected copies.
const FIXED: &str = "tests/fixtures/arazzo/examples";
/// The Swagger Petstore 3 description `LoginAndRetrievePets` names by its URL.
const PETSTORE: &str = "tests/vectors/openapi/swagger-petstore/openapi.yaml";

fn validate(args: &[&str]) -> String {
    let mut all = vec!["validate"];
    all.extend_from_slice(args);
    let out = output(apiflow(&all).env("NO_COLOR", "1"), &[]);
    format!("exit code {}\n{}{}", out.code, out.stdout, out.stderr)
}

#[test]
fn the_published_examples_are_checked_before_anything_is_sent() {
    let bnpl_source = format!("BnplApi={PUBLISHED}/bnpl-openapi.yaml");
    let petstore = format!("petStoreDescription={PETSTORE}");
    let cases: [(&str, Vec<String>); 6] = [
        (
            "bnpl",
            vec![
                format!("{PUBLISHED}/bnpl-arazzo.yaml"),
                "--source".into(),
                bnpl_source,
            ],
        ),
        (
            "pet_coupons",
            vec![format!("{PUBLISHED}/pet-coupons.arazzo.yaml")],
        ),
        ("oauth", vec![format!("{PUBLISHED}/oauth.arazzo.yaml")]),
        (
            "fapi_par",
            vec![format!("{PUBLISHED}/FAPI-PAR.arazzo.yaml")],
        ),
        (
            "login_and_retrieve_pets",
            vec![
                format!("{PUBLISHED}/LoginAndRetrievePets.arazzo.yaml"),
                "--source".into(),
                petstore,
            ],
        ),
        (
            "extended_parameters",
            vec![format!("{PUBLISHED}/ExtendedParametersExample.arazzo.yaml")],
        ),
    ];
    for (name, args) in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        insta::assert_snapshot!(format!("published_{name}"), validate(&args));
    }
}

#[test]
fn the_corrected_examples_are_valid() {
    let bnpl = format!("BnplApi={PUBLISHED}/bnpl-openapi.yaml");
    let coupons = format!("pet-coupons={PUBLISHED}/pet-coupons.openapi.yaml");
    let petstore = format!("petStoreDescription={PETSTORE}");
    let cases: [Vec<String>; 6] = [
        vec![format!("{FIXED}/bnpl-arazzo.yaml"), "--source".into(), bnpl],
        vec![
            format!("{FIXED}/pet-coupons.arazzo.yaml"),
            "--source".into(),
            coupons,
        ],
        vec![format!("{FIXED}/oauth.arazzo.yaml")],
        vec![format!("{FIXED}/FAPI-PAR.arazzo.yaml")],
        vec![
            format!("{FIXED}/LoginAndRetrievePets.arazzo.yaml"),
            "--source".into(),
            petstore,
        ],
        vec![format!("{FIXED}/ExtendedParametersExample.arazzo.yaml")],
    ];
    for args in &cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = validate(&args);
        assert!(out.starts_with("exit code 0\n✓ "), "{out}");
    }
}

/// Runs a document with `--openapi-checks error` (unless `args` says otherwise) and a JSON
/// report.
fn run(server: &Server, args: &[&str]) -> (Output, Value) {
    // Tests run in parallel: each run has a folder of its own.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let dir = TempDir::new(&format!(
        "arazzo-examples-{}",
        RUNS.fetch_add(1, Ordering::SeqCst)
    ));
    let report = dir.file("report.json");
    let report_arg = format!("json={report}");
    let mut all = vec!["run"];
    all.extend_from_slice(args);
    if !args.contains(&"--openapi-checks") {
        all.extend_from_slice(&["--openapi-checks", "error"]);
    }
    all.extend_from_slice(&["--report", &report_arg]);
    let out = output(apiflow(&all).env("NO_COLOR", "1"), &[(server.port, "PORT")]);
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (out, json)
}

/// Lists each workflow of a JSON report with its outcome and each step's name and outcome.
fn outline(report: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    for workflow in report["workflows"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{}: {}",
            workflow["name"].as_str().unwrap_or("?"),
            workflow["outcome"].as_str().unwrap_or("?")
        ));
        for step in workflow["steps"].as_array().into_iter().flatten() {
            lines.push(format!(
                "  {} {}",
                step["name"].as_str().unwrap_or("?"),
                step["outcome"].as_str().unwrap_or("?")
            ));
        }
    }
    lines
}

/// Returns what a step of a workflow captured under a name.
fn captured(report: &Value, workflow: &str, step: &str, name: &str) -> Value {
    let workflow = report["workflows"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|w| w["name"] == workflow)
        .unwrap_or_else(|| panic!("no workflow `{workflow}` in {report}"));
    let step = workflow["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == step)
        .unwrap_or_else(|| panic!("no step `{step}` in {workflow}"));
    step["captures"]
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("no capture `{name}` in {step}"))
}

/// Lists what the server received: method, path and query.
fn sent(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            let query = r
                .query
                .as_deref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            format!("{} {}{query}", r.method, r.path)
        })
        .collect()
}

fn body_json(request: &Recorded) -> Value {
    serde_json::from_str(&request.body).unwrap_or(Value::Null)
}

// ---- pet-coupons -------------------------------------------------------------------------

fn pet_store(coupon: Value) -> Server {
    Server::start(move |request: &Recorded| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/pet/findByTags" | "/pet/findByStatus") => Reply::json(
                200,
                &json!([{ "id": 12, "name": "Rex", "photoUrls": [], "price": 300 }]),
            ),
            ("GET", "/pet/12/coupons") => Reply::json(200, &coupon),
            ("POST", "/store/order") => {
                let mut order = body_json(request);
                order["id"] = json!(501);
                Reply::json(200, &order)
            }
            _ => Reply::status(404),
        }
    })
}

fn run_coupons(server: &Server, args: &[&str]) -> (Output, Value) {
    let base = format!("pet-coupons={}", server.url);
    let source = format!("pet-coupons={PUBLISHED}/pet-coupons.openapi.yaml");
    let doc = format!("{FIXED}/pet-coupons.arazzo.yaml");
    let mut all = vec![doc.as_str(), "--server", &base, "--source", &source];
    all.extend_from_slice(args);
    run(server, &all)
}

#[test]
fn pet_coupons_finds_a_pet_its_coupon_and_orders_it_through_a_nested_workflow() {
    let server = pet_store(json!({ "couponCode": "SUMMERSALE" }));
    let (out, report) = run_coupons(
        &server,
        &[
            "--workflow",
            "apply-coupon",
            "--var",
            r#"my_pet_tags=["puppy","dalmatian"]"#,
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "apply-coupon: passed",
            "  find-pet passed",
            "  find-coupons passed",
            "  place-order passed",
        ]
    );
    assert_eq!(
        sent(&server),
        [
            // A query array, `explode: true`: one `tags=` per item.
            "GET /pet/findByTags?tags=puppy&tags=dalmatian",
            "GET /pet/12/coupons",
            "POST /store/order",
        ]
    );
    // `quantity` is not an input either caller gives: the member is left out.
    assert_eq!(
        body_json(&server.only("/store/order")),
        json!({ "petId": 12, "couponCode": "SUMMERSALE", "status": "placed", "complete": false })
    );
    assert_eq!(
        captured(&report, "apply-coupon", "place-order", "my_order_id"),
        json!(501)
    );
}

#[test]
fn pet_coupons_buys_an_available_pet_with_reusable_parameters() {
    let server = pet_store(json!({ "couponCode": "SUMMERSALE" }));
    let (out, report) = run_coupons(&server, &["--workflow", "buy-available-pet"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "buy-available-pet: passed",
            "  find-pet passed",
            "  place-order passed",
        ]
    );
    assert_eq!(
        sent(&server),
        [
            // `page` and `pageSize` come from `components.parameters`, their values overridden.
            "GET /pet/findByStatus?status=available&page=1&pageSize=10",
            "POST /store/order",
        ]
    );
    assert_eq!(
        captured(&report, "buy-available-pet", "place-order", "my_order_id"),
        json!(501)
    );
}

#[test]
fn a_response_that_breaks_its_schema_fails_the_step_warns_or_is_ignored() {
    // `couponCode` is a string in the description.
    let server = pet_store(json!({ "couponCode": 42 }));
    let tags = r#"my_pet_tags=["puppy"]"#;
    let (out, report) = run_coupons(&server, &["--workflow", "apply-coupon", "--var", tags]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "apply-coupon: failed",
            "  find-pet passed",
            "  find-coupons failed",
            "  place-order skipped",
        ]
    );
    insta::assert_snapshot!("openapi_check_error", out.stdout);

    let server = pet_store(json!({ "couponCode": 42 }));
    let (out, report) = run_coupons(
        &server,
        &[
            "--workflow",
            "apply-coupon",
            "--var",
            tags,
            "--openapi-checks",
            "warn",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(report["workflows"][0]["outcome"], "passed");
    let coupons = &report["workflows"][0]["steps"][1];
    assert_eq!(
        coupons["warnings"][0]["message"],
        "the body does not match the response schema of `getPetCoupons`"
    );
    assert!(
        coupons["warnings"][0]["notes"][0]
            .as_str()
            .is_some_and(|n| n.starts_with("`/couponCode`: expected string, found integer 42")),
        "{coupons}"
    );
    assert_eq!(coupons["failures"], json!([]));
    insta::assert_snapshot!(
        "openapi_check_warn",
        format!("{}{}", out.stdout, out.stderr)
    );

    let server = pet_store(json!({ "couponCode": 42 }));
    let (out, _) = run_coupons(
        &server,
        &[
            "--workflow",
            "apply-coupon",
            "--var",
            tags,
            "--openapi-checks",
            "off",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(!all.contains("OpenAPI"), "{all}");
}

// ---- OAuth -------------------------------------------------------------------------------

pub(crate) const CODE: &str = "c0de-s3cr3t";

fn oauth_server() -> Server {
    Server::start(move |request: &Recorded| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/authorize") => Reply::redirect(
                302,
                &format!("https://client.example/cb?code={CODE}&state=12345"),
            ),
            ("POST", "/oauth/token") if request.body.contains("grant_type=refresh_token") => {
                Reply::json(
                    200,
                    &json!({ "access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600 }),
                )
            }
            ("POST", "/oauth/token") => Reply::json(
                200,
                &json!({ "access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600 }),
            ),
            _ => Reply::status(404),
        }
    })
}

#[test]
fn oauth_refreshes_the_token_of_an_authorization_code_flow_whose_302_is_not_followed() {
    let server = oauth_server();
    let base = format!("apim-auth={}", server.url);
    let doc = format!("{FIXED}/oauth.arazzo.yaml");
    let (out, report) = run(
        &server,
        &[
            &doc,
            "--server",
            &base,
            "--workflow",
            "refresh-token-flow",
            "--var",
            "my_client_id=app",
            "--var",
            "my_client_secret=cl13nt-s3cr3t",
            "--var",
            "my_redirect_uri=https://client.example/cb",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "refresh-token-flow: passed",
            "  do-the-auth-flow passed",
            "  do-the-refresh passed",
        ]
    );
    let inner: Vec<String> = report["workflows"][0]["steps"][0]["children"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            format!(
                "{} {}",
                s["name"].as_str().unwrap_or("?"),
                s["outcome"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        inner,
        ["browser-authorize passed", "get-access-token passed"]
    );
    assert_eq!(
        sent(&server),
        [
            "GET /authorize?client_id=app&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&response_type=code&scope=read&state=12345",
            "POST /oauth/token",
            "POST /oauth/token",
        ]
    );
    let tokens = server.requests();
    // The code came from the `Location` of the 302, through `x-apiflow.extract`.
    assert!(
        tokens[1].body.contains(&format!("code={CODE}")),
        "{}",
        tokens[1].body
    );
    assert!(
        tokens[2]
            .body
            .contains("grant_type=refresh_token&refresh_token=rt-1"),
        "{}",
        tokens[2].body
    );
    // Tokens are masked in the report; their lifetime is not.
    assert_eq!(
        captured(
            &report,
            "refresh-token-flow",
            "do-the-refresh",
            "refresh_token"
        ),
        json!("••••")
    );
    assert_eq!(
        captured(
            &report,
            "refresh-token-flow",
            "do-the-refresh",
            "expires_in"
        ),
        json!(3600)
    );
}

// ---- FAPI-PAR ----------------------------------------------------------------------------

/// The authorization server of `FAPI-PAR`: a pushed request, a redirect with the code, tokens.
pub(crate) fn fapi_server() -> Server {
    Server::start(move |request: &Recorded| {
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/as/par.oauth2") => Reply::json(
                200,
                &json!({ "request_uri": "urn:example:par:1", "expires_in": "60" }),
            ),
            ("GET", "/as/authorize.oauth2") => Reply::redirect(
                302,
                &format!("https://tpp.example/cb?code={CODE}&state=s1&iss=https://api.example.com"),
            ),
            ("POST", "/as/token.oauth2") => Reply::json(
                200,
                &json!({ "access_token": "at-1", "token_type": "Bearer", "expires_in": 300, "refresh_token": "rt-1", "id_token": "id-1" }),
            ),
            _ => Reply::status(404),
        }
    })
}

/// The arguments that run the corrected `FAPI-PAR` against `server`.
pub(crate) fn fapi_args(server: &Server) -> Vec<String> {
    [
        &format!("{FIXED}/FAPI-PAR.arazzo.yaml"),
        "--server",
        &format!("auth-api={}", server.url),
        "--var",
        "client_id=tpp",
        "--var",
        r#"client_assertion={"iss":"tpp","aud":"as"}"#,
        "--var",
        "redirect_uri=https://tpp.example/cb",
        "--var",
        "code_verifier=v3r1f13r",
        "--var",
        r#"PARrequestBody={"response_type":"code","client_id":"tpp","scope":"openid"}"#,
        "--var",
        r#"TokenRequestBody={"grant_type":"authorization_code","code":"-","redirect_uri":"-","code_verifier":"-"}"#,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// What `FAPI-PAR` must never show: the code, the tokens, the PKCE verifier.
pub(crate) const FAPI_SECRETS: [&str; 5] = [CODE, "at-1", "rt-1", "id-1", "v3r1f13r"];

#[test]
fn fapi_par_pushes_the_request_authorizes_without_following_the_302_and_gets_a_token() {
    let server = fapi_server();
    let args = fapi_args(&server);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, report) = run(&server, &args);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "OIDC-PAR-AuthzCode: passed",
            "  PARStep passed",
            "  AuthzCodeStep passed",
            "  TokenStep passed",
        ]
    );
    insta::assert_snapshot!("fapi_par_sent", sent(&server).join("\n"));
    let par = server.only("/as/par.oauth2");
    assert_eq!(
        body_json(&par),
        json!({ "response_type": "code", "client_id": "tpp", "scope": "openid" })
    );
    let token = server.only("/as/token.oauth2");
    assert_eq!(
        body_json(&token),
        json!({
            "grant_type": "authorization_code",
            "code": CODE,
            "redirect_uri": "https://tpp.example/cb",
            "code_verifier": "v3r1f13r"
        })
    );
    // The code is captured, and masked wherever it would be shown.
    assert_eq!(
        captured(&report, "OIDC-PAR-AuthzCode", "AuthzCodeStep", "code"),
        json!("••••")
    );
    // `tokenResponse` is a secret output: the texts in it are masked wherever they show, its
    // numbers are not (the report stays JSON: it was parsed above).
    let token_step = &report["workflows"][0]["steps"][2];
    assert_eq!(token_step["captures"]["tokenResponse"], json!("••••"));
    let answered = &token_step["exchanges"][0]["response"]["body"]["json"];
    assert_eq!(answered["access_token"], json!("••••"));
    assert_eq!(answered["expires_in"], json!(300));
    for text in [&out.stdout, &out.stderr, &report.to_string()] {
        for secret in FAPI_SECRETS {
            assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
        }
    }
}

// ---- LoginAndRetrievePets ----------------------------------------------------------------

#[test]
fn login_and_retrieve_pets_sends_the_session_token_it_read_from_the_body() {
    let server = Server::start(move |request: &Recorded| {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/api/v3/user/login") => Reply::json(200, &json!("sess-42"))
                .header("X-Rate-Limit", "5000")
                .header("X-Expires-After", "2026-12-03T12:00:00Z"),
            ("GET", "/api/v3/pet/findByStatus") => Reply::json(
                200,
                &json!([{ "id": 3, "name": "Rex", "photoUrls": [], "status": "available" }]),
            ),
            _ => Reply::status(404),
        }
    });
    let base = format!("petStoreDescription={}/api/v3", server.url);
    let source = format!("petStoreDescription={PETSTORE}");
    let doc = format!("{FIXED}/LoginAndRetrievePets.arazzo.yaml");
    let (out, report) = run(
        &server,
        &[
            &doc,
            "--server",
            &base,
            "--source",
            &source,
            "--var",
            "username=ada",
            "--var",
            "password=pa55",
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "loginUserRetrievePet: passed",
            "  loginStep passed",
            "  getPetStep passed",
        ]
    );
    assert_eq!(
        sent(&server),
        [
            "GET /api/v3/user/login?username=ada&password=pa55",
            "GET /api/v3/pet/findByStatus?status=available",
        ]
    );
    let pets = server.only("/api/v3/pet/findByStatus");
    assert_eq!(pets.header("authorization"), Some("sess-42"));
    let wf = "loginUserRetrievePet";
    assert_eq!(
        captured(&report, wf, "loginStep", "rateLimit"),
        json!("5000")
    );
    assert_eq!(
        captured(&report, wf, "getPetStep", "availablePets")[0]["name"],
        "Rex"
    );
}

// ---- ExtendedParametersExample -----------------------------------------------------------

#[test]
fn extended_parameters_send_the_workflow_parameters_with_every_step() {
    let server = Server::start(move |request: &Recorded| {
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/animals") => Reply::status(201),
            ("GET", "/animals/random") => Reply::json(200, &json!({ "name": "okapi" })),
            _ => Reply::status(404),
        }
    });
    let base = format!("animals={}", server.url);
    let doc = format!("{FIXED}/ExtendedParametersExample.arazzo.yaml");
    let (out, report) = run(&server, &[&doc, "--server", &base]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        outline(&report),
        [
            "animal-workflow: passed",
            "  post-step passed",
            "  get-step passed",
        ]
    );
    let requests = server.requests();
    let seen: Vec<(String, Option<&str>, Option<&str>)> = requests
        .iter()
        .map(|r| {
            (
                format!("{} {}", r.method, r.path),
                r.header("cookie"),
                r.header("workflowLevelParamTwo"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "POST /animals".to_owned(),
                Some("workflowLevelParamOne=someValue; authentication=SUPER_SECRET"),
                Some("someValue")
            ),
            (
                "GET /animals/random".to_owned(),
                Some("workflowLevelParamOne=someValue"),
                Some("someValue")
            ),
        ]
    );
}

// ---- BNPL --------------------------------------------------------------------------------

/// How the BNPL platform answers, one field per decision of `ApplyForLoanAtCheckout`.
#[derive(Clone, Copy)]
struct Bnpl {
    existing_customer_not_eligible: bool,
    qualifying_products: bool,
    eligibility_check_required: bool,
    customer_eligible: bool,
    authorization_required: bool,
}

const TOKEN: &str = "6f1c2a8e-1b7e-4a51-9d43-5a2f3c1e9b10";

fn bnpl_server(answers: Bnpl) -> Server {
    let amount = json!({ "currency": "EUR", "amount": 120.5 });
    Server::start(move |request: &Recorded| {
        let path = request.path.strip_prefix("/bnpl/v1").unwrap_or("");
        match (request.method.as_str(), path) {
            ("POST", "/products") => Reply::json(
                200,
                &json!({
                    "existingCustomerNotEligible": answers.existing_customer_not_eligible,
                    "productCodes": if answers.qualifying_products { json!(["P-1"]) } else { json!([]) },
                    "eligibilityCheckRequired": answers.eligibility_check_required,
                    "totalAmount": amount,
                }),
            ),
            ("GET", "/terms-and-conditions") => Reply::json(200, &json!(["Pay in 3."])),
            ("POST", "/customers") if answers.customer_eligible => Reply::json(
                201,
                &json!({ "customerId": "c-1", "links": { "self": "https://bnpl.example/customers/c-1" } }),
            ),
            ("POST", "/customers") => Reply::json(200, &json!({ "reasonCode": "AGE" })),
            ("POST", "/loan-transactions") => {
                let mut body = json!({
                    "loanTransactionId": "lt-9",
                    "links": { "self": "https://bnpl.example/loan-transactions/lt-9" },
                });
                if answers.authorization_required {
                    body["redirectAuthToken"] = json!(TOKEN);
                }
                Reply::json(202, &body)
            }
            ("GET", "/auth") => Reply::redirect(302, "https://bnpl.example/consent/lt-9"),
            ("GET", "/loan-transactions/lt-9") => Reply::json(
                200,
                &json!({
                    "customer": "https://bnpl.example/customers/c-1",
                    "products": [{ "productCode": "P-1", "netAmount": 120.5 }],
                    "totalAmount": amount,
                    "paymentSchedule": [
                        { "paymentDate": "2027-01-03", "amount": amount, "lastPayment": true }
                    ],
                }),
            ),
            ("PATCH", "/loan-transactions/lt-9/status") => Reply::status(204),
            _ => Reply::status(404),
        }
    })
}

const NEW_CUSTOMER: &str = r#"customer={"firstName":"Ada","lastName":"Lovelace","dateOfBirth":"1815-12-10T00:00:00Z","postalCode":"W1"}"#;
const ENROLLED_CUSTOMER: &str = r#"customer={"uri":"https://bnpl.example/customers/c-7"}"#;

#[test]
fn bnpl_takes_every_branch_of_apply_for_loan_at_checkout() {
    let base = Bnpl {
        existing_customer_not_eligible: false,
        qualifying_products: true,
        eligibility_check_required: false,
        customer_eligible: true,
        authorization_required: false,
    };
    let all_steps = [
        "checkLoanCanBeProvided",
        "getCustomerTermsAndConditions",
        "createCustomer",
        "initiateBnplTransaction",
        "authenticateCustomerAndAuthorizeLoan",
        "retrieveFinalizedPaymentPlan",
        "updateOrderStatus",
    ];
    let cases: [(&str, Bnpl, &str, &[&str]); 6] = [
        (
            "an existing customer who is not eligible: `end`",
            Bnpl {
                existing_customer_not_eligible: true,
                qualifying_products: false,
                ..base
            },
            ENROLLED_CUSTOMER,
            &["checkLoanCanBeProvided"],
        ),
        (
            "no qualifying products: `end`",
            Bnpl {
                qualifying_products: false,
                ..base
            },
            ENROLLED_CUSTOMER,
            &["checkLoanCanBeProvided"],
        ),
        (
            "no eligibility check, no authorization: straight to the payment plan",
            base,
            ENROLLED_CUSTOMER,
            &[
                "checkLoanCanBeProvided",
                "getCustomerTermsAndConditions",
                "initiateBnplTransaction",
                "retrieveFinalizedPaymentPlan",
                "updateOrderStatus",
            ],
        ),
        (
            "no eligibility check, the customer authorizes the loan",
            Bnpl {
                authorization_required: true,
                ..base
            },
            ENROLLED_CUSTOMER,
            &[
                "checkLoanCanBeProvided",
                "getCustomerTermsAndConditions",
                "initiateBnplTransaction",
                "authenticateCustomerAndAuthorizeLoan",
                "retrieveFinalizedPaymentPlan",
                "updateOrderStatus",
            ],
        ),
        (
            "an eligibility check the new customer fails: `end`",
            Bnpl {
                eligibility_check_required: true,
                customer_eligible: false,
                ..base
            },
            NEW_CUSTOMER,
            &[
                "checkLoanCanBeProvided",
                "getCustomerTermsAndConditions",
                "createCustomer",
            ],
        ),
        (
            "an eligibility check the new customer passes, then authorization",
            Bnpl {
                eligibility_check_required: true,
                authorization_required: true,
                ..base
            },
            NEW_CUSTOMER,
            &all_steps[..],
        ),
    ];
    for (what, answers, customer, ran) in cases {
        let server = bnpl_server(answers);
        let (out, report) = run_bnpl(&server, customer);
        assert_eq!(out.code, 0, "{what}:\n{}\n{}", out.stdout, out.stderr);
        let mut expected = vec!["ApplyForLoanAtCheckout: passed".to_owned()];
        expected.extend(ran.iter().map(|s| format!("  {s} passed")));
        expected.extend(
            all_steps
                .iter()
                .filter(|s| !ran.contains(s))
                .map(|s| format!("  {s} skipped")),
        );
        assert_eq!(outline(&report), expected, "{what}");
        assert_eq!(server.requests().len(), ran.len(), "{what}");
        let wf = "ApplyForLoanAtCheckout";
        if ran.contains(&"initiateBnplTransaction") {
            let loan = body_json(&server.only("/bnpl/v1/loan-transactions"));
            // Only the customer that exists on this path is sent.
            let customer = if customer == NEW_CUSTOMER {
                json!({ "newCustomer": "https://bnpl.example/customers/c-1" })
            } else {
                json!({ "enrolledCustomer": "https://bnpl.example/customers/c-7" })
            };
            let mut expected = json!({
                "products": ["P-1"],
                "totalAmount": { "currency": "EUR", "amount": 120.5 },
            });
            for (k, v) in customer.as_object().into_iter().flatten() {
                expected[k] = v.clone();
            }
            assert_eq!(loan, expected, "{what}");
        }
        if ran.contains(&"authenticateCustomerAndAuthorizeLoan") {
            assert_eq!(
                server.only("/bnpl/v1/auth").query.as_deref(),
                Some(format!("AuthorizationToken={TOKEN}").as_str()),
                "{what}"
            );
            assert_eq!(
                captured(
                    &report,
                    wf,
                    "authenticateCustomerAndAuthorizeLoan",
                    "redirectUrl"
                ),
                json!("https://bnpl.example/consent/lt-9")
            );
        }
        if ran.contains(&"updateOrderStatus") {
            let update = server.only("/bnpl/v1/loan-transactions/lt-9/status");
            assert_eq!(update.method, "PATCH");
            assert_eq!(body_json(&update), json!({ "status": "Completed" }));
            assert_eq!(
                captured(
                    &report,
                    wf,
                    "retrieveFinalizedPaymentPlan",
                    "finalizedPaymentPlan"
                )["paymentSchedule"][0]["lastPayment"],
                json!(true)
            );
        }
    }
}

fn run_bnpl(server: &Server, customer: &str) -> (Output, Value) {
    let base = format!("BnplApi={}/bnpl/v1", server.url);
    let source = format!("BnplApi={PUBLISHED}/bnpl-openapi.yaml");
    let doc = format!("{FIXED}/bnpl-arazzo.yaml");
    run(
        server,
        &[
            &doc,
            "--server",
            &base,
            "--source",
            &source,
            "--var",
            customer,
            "--var",
            r#"products=[{"productCode":"P-1","purchaseAmount":{"currency":"EUR","amount":120.5},"netAmount":120.5}]"#,
        ],
    )
}
