//! Shared by the integration tests: an in-process HTTP server that records every request, and
//! helpers to load, run and normalise fixture workflows.

// Each test file uses a different part of this module.
#![allow(dead_code, unreachable_pub)]

pub mod bin;
pub mod oidc_provider;
pub mod proxy;
pub mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use apiflow::check::inputs::InputSources;
use apiflow::report::event::RunReport;
use apiflow::report::terminal::Terminal;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, Response, StatusCode};

/// The repository's root, where `tests/fixtures` and `workflows` live.
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// One request as the server received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Upper-case method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, when there is one.
    pub query: Option<String>,
    /// Headers in the order received, lower-case names.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
    /// The body's bytes as they came (a multipart form's files may not be text).
    pub bytes: Vec<u8>,
    /// How many requests to the same path came before this one.
    pub nth: usize,
}

impl Recorded {
    /// Returns the first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the server answers.
#[derive(Clone, Debug)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// An empty answer with a status.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// A JSON answer.
    pub fn json(status: u16, value: &serde_json::Value) -> Reply {
        Reply::status(status)
            .header("content-type", "application/json")
            .body(&value.to_string())
    }

    /// A plain-text answer.
    pub fn text(status: u16, text: &str) -> Reply {
        Reply::status(status)
            .header("content-type", "text/plain")
            .body(text)
    }

    /// A redirect.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).header("location", location)
    }

    /// Adds a header (repeatable).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn body(mut self, body: &str) -> Reply {
        body.clone_into(&mut self.body);
        self
    }

    fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = StatusCode::from_u16(self.status).expect("a valid status");
        for (name, value) in self.headers {
            response.headers_mut().append(
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                HeaderValue::from_str(&value).expect("a header value"),
            );
        }
        response
    }
}

type Handler = Arc<dyn Fn(&Recorded) -> Reply + Send + Sync>;

/// A server on 127.0.0.1, on a port of its own, with its own runtime thread so that async
/// engine tests and blocking CLI tests can both use it. It stops when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port it listens on.
    pub port: u16,
    requests: Arc<Mutex<Vec<Recorded>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Server {
    /// Starts a server that records each request and answers it with `handler`.
    pub fn start(handler: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Server {
        let handler: Handler = Arc::new(handler);
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let log = Arc::clone(&requests);
        let (addr, stop) = spawn_server(move |listener| async move {
            let app = axum::Router::new().fallback(move |request: Request<Body>| {
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                async move { answer(request, &handler, &log).await }
            });
            let _ = axum::serve(listener, app).await;
        });
        Server {
            url: format!("http://127.0.0.1:{}", addr.port()),
            port: addr.port(),
            requests,
            stop: Some(stop),
        }
    }

    /// Returns every request received so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().expect("not poisoned").clone()
    }

    /// Returns the one request received to a path; panics unless there is exactly one.
    pub fn only(&self, path: &str) -> Recorded {
        let matching: Vec<Recorded> = self
            .requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect();
        assert_eq!(matching.len(), 1, "requests to {path}: {matching:#?}");
        matching.into_iter().next().expect("one")
    }
}

/// Runs `serve` on a listener bound to a free port of 127.0.0.1, on a thread and runtime of its
/// own, until it returns or the returned sender is used or dropped.
pub fn spawn_server<F, Fut>(serve: F) -> (SocketAddr, tokio::sync::oneshot::Sender<()>)
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free port");
            addr_tx
                .send(listener.local_addr().expect("an address"))
                .expect("the test is waiting");
            tokio::select! {
                () = serve(listener) => {}
                _ = stop_rx => {}
            }
        });
    });
    let addr = addr_rx.recv().expect("the server started");
    (addr, stop_tx)
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn answer(
    request: Request<Body>,
    handler: &Handler,
    log: &Mutex<Vec<Recorded>>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    // Large enough for the upload tests' files.
    let bytes = axum::body::to_bytes(body, 64 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let recorded = {
        let mut log = log.lock().expect("not poisoned");
        let nth = log.iter().filter(|r| r.path == path).count();
        let recorded = Recorded {
            method: parts.method.as_str().to_owned(),
            path,
            query: parts.uri.query().map(str::to_owned),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
            nth,
        };
        log.push(recorded.clone());
        recorded
    };
    handler(&recorded).into_response()
}

/// Returns a port on 127.0.0.1 that nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

/// Reads a fixture under `tests/fixtures/`.
pub fn fixture_text(name: &str) -> String {
    let path = format!("{ROOT}/tests/fixtures/{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The name diagnostics show for a fixture.
pub fn fixture_name(name: &str) -> String {
    format!("tests/fixtures/{name}")
}

/// Validates a fixture; `Err` holds every diagnostic, rendered without colour.
pub fn check(name: &str) -> Result<apiflow::Plan, String> {
    let source = apiflow::Source::new(fixture_name(name), fixture_text(name));
    apiflow::check_source(&source).map_err(|diagnostics| render(&diagnostics))
}

/// The load tests' workflow: a token, then an item, against [`token_and_read_server`].
pub const TOKEN_AND_READ: &str = "name: token and read
inputs:
  base_url: ~
steps:
  - name: get a token
    request: { method: POST, url: \"{{ base_url }}/token\" }
    expect: { status: 200 }
  - name: read
    request: { url: \"{{ base_url }}/item\" }
    expect: { status: 200 }
";

/// Answers [`TOKEN_AND_READ`]: `/item` fails every `fail_every`-th time (never with 0, always
/// with 1).
pub fn token_and_read_server(fail_every: usize) -> Server {
    let counter = std::sync::atomic::AtomicUsize::new(0);
    Server::start(move |request| match request.path.as_str() {
        "/token" => Reply::status(200),
        "/item" => {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            if fail_every > 0 && n.is_multiple_of(fail_every) {
                Reply::status(500)
            } else {
                Reply::status(200)
            }
        }
        _ => Reply::status(404),
    })
}

/// Sets a `session` cookie named after whoever logs in, and tells `/whoami` which cookie came
/// back and how many logins there have been.
pub fn cookie_server() -> Server {
    let logins = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Server::start(move |request: &Recorded| {
        if let Some(who) = request.path.strip_prefix("/login/") {
            logins.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return Reply::json(200, &serde_json::json!({ "hello": who }))
                .header("set-cookie", &format!("session={who}; Path=/"));
        }
        match request.path.as_str() {
            "/whoami" => Reply::json(
                200,
                &serde_json::json!({ "cookie": request.header("cookie"), "logins": logins.load(std::sync::atomic::Ordering::SeqCst) }),
            ),
            _ => Reply::status(500),
        }
    })
}

/// Returns the problems of an invalid workflow file (tests run from the root), rendered the way
/// the command line prints them.
pub fn problems(path: &str) -> String {
    match apiflow::check_file(std::path::Path::new(path)) {
        Ok(_) => panic!("{path} is valid"),
        Err(diagnostics) => render(&diagnostics),
    }
}

/// Renders diagnostics the way the command line prints them.
pub fn render(diagnostics: &[apiflow::Diagnostic]) -> String {
    apiflow::Diagnostic::render_all(diagnostics, false)
}

/// Validates a fixture that must be valid.
pub fn plan(name: &str) -> apiflow::Plan {
    check(name).unwrap_or_else(|text| panic!("{name} is invalid:\n{text}"))
}

/// A finished run: the report and what the terminal reporter printed.
pub struct Run {
    /// The run report.
    pub report: RunReport,
    /// The terminal output, durations printed as `<t>`.
    pub output: String,
}

impl Run {
    /// Returns a step's report by name.
    pub fn step(&self, name: &str) -> &apiflow::report::event::StepReport {
        self.report
            .steps
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no step `{name}`"))
    }

    /// Returns a value a step captured.
    pub fn capture(&self, step: &str, name: &str) -> serde_json::Value {
        self.step(step)
            .captures
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("step `{step}` captured no `{name}`"))
            .value
            .clone()
    }
}

/// Runs a fixture with `--var`-style inputs.
pub async fn run(name: &str, vars: &[(&str, &str)], verbose: bool) -> Run {
    let plan = plan(name);
    let sources = InputSources {
        vars: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..InputSources::default()
    };
    let inputs = apiflow::check::inputs::resolve(&plan, &sources, &|_| None)
        .unwrap_or_else(|d| panic!("inputs of {name}:\n{}", render(&d)));
    run_plan(&plan, inputs, verbose).await
}

/// Runs a validated plan with resolved inputs.
pub async fn run_plan(
    plan: &apiflow::Plan,
    inputs: apiflow::template::scope::Variables,
    verbose: bool,
) -> Run {
    let client = apiflow::http::Client::new(&apiflow::http::ClientOptions::default())
        .expect("an HTTP client");
    let mut reporter = Terminal::new(Vec::<u8>::new(), false, verbose).stable();
    let report = apiflow::runner::run(
        plan,
        &client,
        inputs,
        &apiflow::runner::Settings::default(),
        &mut reporter,
    )
    .await
    .unwrap_or_else(|d| panic!("the run could not start:\n{}", render(&d)));
    let output = String::from_utf8(reporter.into_inner()).expect("UTF-8 output");
    Run { report, output }
}

/// Makes output comparable: each server's port becomes a placeholder and `date:` headers a
/// fixed text.
pub fn normalize(text: &str, ports: &[(u16, &str)]) -> String {
    let mut out = text.to_owned();
    for (port, placeholder) in ports {
        out = out.replace(
            &format!("127.0.0.1:{port}"),
            &format!("127.0.0.1:{placeholder}"),
        );
    }
    let date = regex::Regex::new(r"(?m)^(\s*< date: ).*$").expect("a regex");
    let out = date.replace_all(&out, "${1}<date>");
    unboundary(&out)
}

/// Replaces the random boundary of multipart forms with a fixed one.
pub fn unboundary(text: &str) -> String {
    let boundary = regex::Regex::new(r"------apiflow-[0-9a-f]{32}").expect("a regex");
    boundary
        .replace_all(text, "------apiflow-<boundary>")
        .into_owned()
}

/// Replaces the random boundary of multipart forms with a fixed one of the same length, in
/// bytes that may not be text.
pub fn unboundary_bytes(bytes: &[u8]) -> Vec<u8> {
    let boundary = regex::bytes::Regex::new(r"------apiflow-[0-9a-f]{32}").expect("a regex");
    boundary
        .replace_all(
            bytes,
            &b"------apiflow-00000000000000000000000000000000"[..],
        )
        .into_owned()
}
