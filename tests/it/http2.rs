//! HTTP versions: what is negotiated without `http_version`, and `"1.1"` and `"2"` over TLS
//! (ALPN) and plain `http://` (HTTP/2 with prior knowledge), against in-process hyper servers
//! that record the version each request came with.

use crate::support;

use std::sync::{Arc, Mutex};

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The versions a server saw, in order.
type Seen = Arc<Mutex<Vec<hyper::Version>>>;

struct VersionServer {
    port: u16,
    seen: Seen,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl VersionServer {
    fn seen(&self) -> Vec<hyper::Version> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// Which protocols a server speaks.
#[derive(Clone, Copy)]
enum Speaks {
    /// Plain HTTP/2 only (h2c with prior knowledge).
    H2c,
    /// Plain HTTP/1.1 only.
    Http1,
    /// TLS, with these ALPN protocols; HTTP/2 when `h2` is chosen, HTTP/1.1 otherwise.
    Tls(&'static [&'static [u8]]),
}

fn serve(speaks: Speaks) -> VersionServer {
    let acceptor = match speaks {
        Speaks::Tls(alpn) => Some(acceptor(alpn)),
        Speaks::H2c | Speaks::Http1 => None,
    };
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let (addr, stop) = support::spawn_server(move |listener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<_>| {
                    log.lock().expect("not poisoned").push(request.version());
                    async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new("ok".to_owned()))
                    }
                });
                match acceptor {
                    None => {
                        let io = TokioIo::new(stream);
                        if matches!(speaks, Speaks::H2c) {
                            let _ = http2::Builder::new(TokioExecutor::new())
                                .serve_connection(io, service)
                                .await;
                        } else {
                            let _ = http1::Builder::new().serve_connection(io, service).await;
                        }
                    }
                    Some(acceptor) => {
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                        let io = TokioIo::new(tls);
                        if h2 {
                            let _ = http2::Builder::new(TokioExecutor::new())
                                .serve_connection(io, service)
                                .await;
                        } else {
                            let _ = http1::Builder::new().serve_connection(io, service).await;
                        }
                    }
                }
            });
        }
    });
    VersionServer {
        port: addr.port(),
        seen,
        _stop: stop,
    }
}

fn acceptor(alpn: &[&[u8]]) -> tokio_rustls::TlsAcceptor {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = |name: &str| format!("{}/tests/data/tls/{name}", support::ROOT);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("server.pem"))
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(data("server.key")).expect("key");
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Runs a one-step workflow against `url` with `http_version` (when given) and returns the
/// exit code and stdout.
fn run(url: &str, version: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    run_in(dir.path(), url, version, &[])
}

/// Runs as [`run`] does, in `dir`, with more arguments.
fn run_in(dir: &std::path::Path, url: &str, version: Option<&str>, args: &[&str]) -> (i32, String) {
    let version = version.map_or_else(String::new, |v| format!("      http_version: \"{v}\"\n"));
    let workflow = format!(
        "name: versions\nsteps:\n  - name: get\n    request:\n      url: \"{url}\"\n{version}    expect: {{ status: 200 }}\n"
    );
    std::fs::write(dir.join("flow.yaml"), workflow).expect("written");
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .args(["run", "flow.yaml", "--cacert"])
        .arg(format!("{}/tests/data/tls/ca.pem", support::ROOT))
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

const BOTH: &[&[u8]] = &[b"h2", b"http/1.1"];

#[test]
fn over_tls_http2_is_negotiated_unless_a_version_is_required() {
    for (version, expected) in [
        (None, hyper::Version::HTTP_2),
        (Some("2"), hyper::Version::HTTP_2),
        (Some("1.1"), hyper::Version::HTTP_11),
    ] {
        let server = serve(Speaks::Tls(BOTH));
        let (code, stdout) = run(&format!("https://localhost:{}/", server.port), version);
        assert_eq!(code, 0, "{version:?}: {stdout}");
        assert_eq!(server.seen(), vec![expected], "{version:?}");
    }
}

#[test]
fn plain_http_is_http1_and_http2_with_prior_knowledge_when_asked() {
    let server = serve(Speaks::Http1);
    let (code, stdout) = run(&format!("http://127.0.0.1:{}/", server.port), None);
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(server.seen(), vec![hyper::Version::HTTP_11]);

    let server = serve(Speaks::H2c);
    let (code, stdout) = run(&format!("http://127.0.0.1:{}/", server.port), Some("2"));
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(server.seen(), vec![hyper::Version::HTTP_2]);
}

#[test]
fn http2_with_prior_knowledge_against_an_http1_server_fails_in_words() {
    let server = serve(Speaks::Http1);
    let (code, stdout) = run(&format!("http://127.0.0.1:{}/", server.port), Some("2"));
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("the server did not answer in HTTP/2: `http_version: \"2\"` over `http://` starts the connection in HTTP/2 (prior knowledge), which this server does not speak"),
        "{stdout}"
    );
    assert!(server.seen().is_empty());
}

#[test]
fn http2_over_tls_against_a_server_without_it_fails_in_words() {
    let server = serve(Speaks::Tls(&[b"http/1.1"]));
    let (code, stdout) = run(&format!("https://localhost:{}/", server.port), Some("2"));
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("TLS: the server offers none of the HTTP versions `http_version` allows"),
        "{stdout}"
    );
}

#[test]
fn the_har_report_holds_the_version_each_exchange_used() {
    let dir = tempfile::tempdir().expect("a temp dir");
    for (speaks, version, expected) in [
        (Speaks::H2c, Some("2"), "HTTP/2"),
        (Speaks::Http1, None, "HTTP/1.1"),
    ] {
        let server = serve(speaks);
        let url = format!("http://127.0.0.1:{}/", server.port);
        let (code, stdout) = run_in(dir.path(), &url, version, &["--report", "har=run.har"]);
        assert_eq!(code, 0, "{stdout}");
        let har: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("run.har")).expect("a HAR"),
        )
        .expect("JSON");
        let entry = &har["log"]["entries"][0];
        assert_eq!(entry["response"]["httpVersion"], expected);
        assert_eq!(entry["request"]["httpVersion"], expected);
    }
}
