//! The benchmark target: a small "token chain" HTTP API on 127.0.0.1 for measuring per-step
//! cost (see `benches/README.md`). It follows the API of the project's shared benchmark
//! description, so numbers compare with the reference client and other runners.
//!
//! `cargo run --release --example bench_target -- [--port-file FILE]` prints
//! `LISTENING 127.0.0.1:<port>`.
//!
//!   POST /token      form `grant_type=client_credentials|password|refresh_token`
//!   GET  /items/{id} `Authorization: Bearer <token>`; exactly 2048 bytes of JSON whose
//!                    `links.next.id` is `(id * 7 + 3) mod 1000003`
//!   POST /echo       JSON body echoed
//!   GET  /health     `{"status":"ok"}`
//!   GET  /stats      counters, including `items_chain_ok` (the request followed the chain)

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

const ITEM_LEN: usize = 2048;

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    token: AtomicU64,
    items: AtomicU64,
    items_chain_ok: AtomicU64,
    items_chain_broken: AtomicU64,
    unauthorized: AtomicU64,
    bad_request: AtomicU64,
    echo: AtomicU64,
    health: AtomicU64,
}

#[derive(Default)]
struct Shared {
    counters: Counters,
    issued: AtomicU64,
    /// token number → the last item id fetched with it
    chains: Mutex<HashMap<u64, u64>>,
}

type App = std::sync::Arc<Shared>;

fn next_id(id: u64) -> u64 {
    (id * 7 + 3) % 1_000_003
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn oauth_error(app: &App, status: StatusCode, code: &str) -> Response {
    if status == StatusCode::UNAUTHORIZED {
        app.counters.unauthorized.fetch_add(1, Relaxed);
    } else {
        app.counters.bad_request.fetch_add(1, Relaxed);
    }
    json(status, format!("{{\"error\":\"{code}\"}}"))
}

async fn token(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    app.counters.requests.fetch_add(1, Relaxed);
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return oauth_error(&app, StatusCode::BAD_REQUEST, "invalid_request");
    }
    let fields: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let valid = match fields.get("grant_type").map(String::as_str) {
        Some("client_credentials" | "password") => true,
        Some("refresh_token") => fields
            .get("refresh_token")
            .and_then(|t| t.strip_prefix("rt_"))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n < app.issued.load(Relaxed)),
        _ => false,
    };
    if !valid {
        return oauth_error(&app, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    app.counters.token.fetch_add(1, Relaxed);
    let n = app.issued.fetch_add(1, Relaxed);
    json(
        StatusCode::OK,
        format!(
            "{{\"access_token\":\"at_{n}\",\"refresh_token\":\"rt_{n}\",\"token_type\":\"Bearer\",\"expires_in\":3600}}"
        ),
    )
}

fn item_body(id: u64) -> String {
    let next = next_id(id);
    let mut body = String::with_capacity(ITEM_LEN);
    let _ = write!(
        body,
        "{{\"id\":{id},\"type\":\"item\",\"name\":\"item-{id:07}\",\"status\":\"active\",\
\"owner\":{{\"id\":{},\"email\":\"owner-{}@example.test\"}},\
\"links\":{{\"self\":\"/items/{id}\",\"next\":{{\"id\":{next},\"href\":\"/items/{next}\"}}}},\
\"attributes\":{{\"size\":{},\"ratio\":0.{:04},\"flags\":[true,false,{}]}},\"tags\":[",
        id % 97,
        id % 97,
        id % 13 + 1,
        id % 10_000,
        id.is_multiple_of(2)
    );
    for i in 0..16u64 {
        let _ = write!(
            body,
            "{}\"tag-{}\"",
            if i == 0 { "" } else { "," },
            (id + i * 31) % 1000
        );
    }
    body.push_str("],\"history\":[");
    for i in 0..8u64 {
        let _ = write!(
            body,
            "{}{{\"seq\":{i},\"actor\":\"user-{:03}\",\"note\":\"step {i} of item {id}\"}}",
            if i == 0 { "" } else { "," },
            (id * 3 + i) % 1000
        );
    }
    body.push_str("],\"description\":\"");
    let tail = "\"}";
    while body.len() + tail.len() < ITEM_LEN {
        body.push_str(["lorem ", "ipsum ", "dolor "][body.len() % 3]);
    }
    body.truncate(ITEM_LEN - tail.len());
    body.push_str(tail);
    body
}

async fn items(State(app): State<App>, Path(id): Path<u64>, headers: HeaderMap) -> Response {
    app.counters.requests.fetch_add(1, Relaxed);
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer at_"))
        .and_then(|n| n.parse::<u64>().ok())
        .filter(|n| *n < app.issued.load(Relaxed));
    let Some(token) = token else {
        return oauth_error(&app, StatusCode::UNAUTHORIZED, "invalid_token");
    };
    app.counters.items.fetch_add(1, Relaxed);
    let followed = {
        let mut chains = app
            .chains
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let followed = chains
            .get(&token)
            .is_none_or(|previous| next_id(*previous) == id);
        chains.insert(token, id);
        followed
    };
    let counter = if followed {
        &app.counters.items_chain_ok
    } else {
        &app.counters.items_chain_broken
    };
    counter.fetch_add(1, Relaxed);
    json(StatusCode::OK, item_body(id))
}

async fn echo(State(app): State<App>, body: Bytes) -> Response {
    app.counters.requests.fetch_add(1, Relaxed);
    app.counters.echo.fetch_add(1, Relaxed);
    if serde_json::from_slice::<serde_json::Value>(&body).is_err() {
        return oauth_error(&app, StatusCode::BAD_REQUEST, "invalid_json");
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

async fn health(State(app): State<App>) -> Response {
    app.counters.requests.fetch_add(1, Relaxed);
    app.counters.health.fetch_add(1, Relaxed);
    json(StatusCode::OK, "{\"status\":\"ok\"}".to_owned())
}

async fn stats(State(app): State<App>) -> Response {
    let c = &app.counters;
    json(
        StatusCode::OK,
        serde_json::json!({
            "requests": c.requests.load(Relaxed),
            "token": c.token.load(Relaxed),
            "items": c.items.load(Relaxed),
            "items_chain_ok": c.items_chain_ok.load(Relaxed),
            "items_chain_broken": c.items_chain_broken.load(Relaxed),
            "unauthorized": c.unauthorized.load(Relaxed),
            "bad_request": c.bad_request.load(Relaxed),
            "echo": c.echo.load(Relaxed),
            "health": c.health.load(Relaxed),
        })
        .to_string(),
    )
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port_file = args
        .iter()
        .position(|a| a == "--port-file")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let app: App = std::sync::Arc::default();
        let router = Router::new()
            .route("/token", post(token))
            .route("/items/{id}", get(items))
            .route("/echo", post(echo))
            .route("/health", get(health))
            .route("/stats", get(stats))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        println!("LISTENING {addr}");
        if let Some(file) = port_file {
            std::fs::write(file, addr.port().to_string())?;
        }
        axum::serve(listener, router).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_exactly_2048_bytes_of_json_with_the_next_id() {
        for id in [1, 10, 73, 999_999] {
            let body = item_body(id);
            assert_eq!(body.len(), ITEM_LEN);
            let json: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(json["links"]["next"]["id"], next_id(id));
        }
    }
}
