//! An in-memory PingOne emulator: the management and auth APIs the refresh-token workflow
//! uses, served by one axum server on 127.0.0.1.
//!
//! Management calls live under `/v1/environments/{envID}/…`, auth calls under `/{envID}/…`.
//! The environment is seeded with one worker application whose credentials are in [`Info`].

// "PingOne" is a product name in prose, not an identifier to put in backticks.
#![allow(clippy::doc_markdown)]
// Handlers fail with a finished HTTP response that goes straight back to axum; boxing it
// would only add an allocation on the error path.
#![allow(clippy::result_large_err)]

mod assertion;
mod auth;
mod clock;
mod error;
mod http;
mod ids;
mod jwt;
mod management;
mod password;
mod state;
mod token;
mod validate;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use clock::Clock;

use state::Shared;

/// Configures an emulated environment.
#[derive(Clone, Debug)]
pub struct Options {
    /// Makes every id, secret, code and token reproducible; `None` uses OS randomness.
    pub seed: Option<u64>,
    /// Decides when tokens, flows, codes and sessions expire.
    pub clock: Clock,
    /// Counts the reads of a new application's secret that answer 404 before it "exists",
    /// emulating PingOne's documented eventual consistency.
    pub secret_not_ready_reads: u32,
    /// Replaces the built-in TEST-ONLY client key handed out as [`Info::client_private_key`]:
    /// a private JWK as JSON text (RSA, EC or OKP); its public half becomes
    /// [`Info::client_jwks`].
    pub client_key: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seed: None,
            clock: Clock::system(),
            secret_not_ready_reads: 1,
            client_key: None,
        }
    }
}

/// Identifies the emulated environment and the worker credentials for using it.
#[derive(Clone, Debug)]
pub struct Info {
    /// Names the environment in every path (`envID`).
    pub env_id: String,
    /// Locates the management API, e.g. `http://127.0.0.1:8080/v1`.
    pub api_base: String,
    /// Locates the auth API, e.g. `http://127.0.0.1:8080`.
    pub auth_base: String,
    /// Identifies the seeded worker application (client credentials).
    pub worker_client_id: String,
    /// Authenticates the seeded worker application.
    pub worker_client_secret: String,
    /// A TEST-ONLY private key (an RSA JWK, for RS256) for trying `PRIVATE_KEY_JWT` client
    /// authentication. It ships in apiflow's source, so it protects nothing: never register
    /// its public half with a real PingOne application.
    pub client_private_key: String,
    /// The public half of [`Info::client_private_key`], as a JWKS to register on an
    /// application (`jwks`).
    pub client_jwks: String,
}

/// The TEST-ONLY client key pair behind [`Info::client_private_key`].
const TEST_ONLY_CLIENT_KEY: &str = include_str!("test_only_client_key.jwk.json");

/// Returns the JWKS text that publishes the public half of a private JWK.
fn public_jwks(private_jwk: &str) -> String {
    let jwk: serde_json::Value = serde_json::from_str(private_jwk).unwrap_or_default();
    let mut public = serde_json::Map::new();
    for name in ["kty", "kid", "use", "alg", "crv", "n", "e", "x", "y"] {
        if let Some(value) = jwk.get(name) {
            public.insert(name.to_owned(), value.clone());
        }
    }
    serde_json::json!({ "keys": [public] }).to_string()
}

impl Info {
    /// Returns the values a workflow needs as named inputs.
    pub fn inputs(&self) -> Vec<(&'static str, String)> {
        vec![
            ("env_id", self.env_id.clone()),
            ("worker_client_id", self.worker_client_id.clone()),
            ("worker_client_secret", self.worker_client_secret.clone()),
            ("api_base", self.api_base.clone()),
            ("auth_base", self.auth_base.clone()),
            ("client_private_key", self.client_private_key.clone()),
            ("client_jwks", self.client_jwks.clone()),
        ]
    }
}

/// Builds the emulator's routes without serving them; `base` (e.g. `http://127.0.0.1:8080`)
/// is the origin reported in [`Info`] and used for links when a request has no `Host`.
pub fn router(options: Options, base: &str) -> (Router, Info) {
    let base = base.trim_end_matches('/').to_owned();
    let client_key = options
        .client_key
        .as_deref()
        .unwrap_or(TEST_ONLY_CLIENT_KEY)
        .trim()
        .to_owned();
    let (shared, worker_client_secret) = Shared::new(
        options.seed,
        options.clock,
        options.secret_not_ready_reads,
        base.clone(),
    );
    let info = Info {
        env_id: shared.env_id.clone(),
        api_base: format!("{base}/v1"),
        auth_base: base,
        worker_client_id: shared.worker_client_id.clone(),
        worker_client_secret,
        client_jwks: public_jwks(&client_key),
        client_private_key: client_key,
    };
    let shared = Arc::new(shared);
    let router = Router::new()
        .merge(management::routes())
        .merge(auth::routes())
        .merge(token::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            http::correlate,
        ))
        .with_state(shared);
    (router, info)
}

async fn not_found(ctx: http::Ctx) -> axum::response::Response {
    error::not_found(&ctx)
}

/// Serves an emulated environment until shut down or dropped.
pub struct Emulator {
    info: Info,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Starts serving on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(port: u16, options: Options) -> std::io::Result<Emulator> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        let addr = listener.local_addr()?;
        let (router, info) = router(options, &format!("http://{addr}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                // A dropped sender also means stop.
                let _ = stopped.await;
            });
            // Accept errors are retried inside axum; an error here ends the emulator, and
            // callers notice through failed requests.
            let _ = serve.await;
        });
        Ok(Emulator {
            info,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Returns the environment and worker credentials.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Returns the bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for in-flight requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
