//! TLS: certificates are verified by default, `--cacert` adds a private CA, and `--insecure`
//! skips verification with a warning. The server is an in-process TLS listener on 127.0.0.1.

use crate::support;

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn data(name: &str) -> String {
    format!("{}/tests/data/tls/{name}", crate::support::ROOT)
}

/// Serves `200 ok` over TLS to every connection until the returned sender is dropped; returns
/// the port and that sender.
pub(crate) fn serve() -> (u16, tokio::sync::oneshot::Sender<()>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("server.pem"))
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(data("server.key")).expect("key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let (addr, stop) = support::spawn_server(move |listener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut buffer = vec![0; 4096];
                let _ = tls.read(&mut buffer).await;
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr.port(), stop)
}

fn workflow(port: u16) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new()
        .suffix(".yaml")
        .tempfile()
        .expect("temp file");
    std::fs::write(
        file.path(),
        format!("name: tls\nsteps:\n  - name: get\n    request: {{ url: \"https://localhost:{port}/\" }}\n    expect: {{ status: 200, checks: [\"body == 'ok'\"] }}\n"),
    )
    .expect("write");
    file
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unknown_authority_is_refused_with_a_hint() {
    let (port, _server) = serve();
    let file = workflow(port);
    let (code, stdout, _) = run(&["run", &file.path().display().to_string()]);
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        stdout.contains("could not connect: TLS: the server's certificate is signed by an authority this machine does not trust (for a private CA, pass `--cacert FILE`)"),
        "{stdout}"
    );
}

#[test]
fn a_private_ca_is_trusted_with_cacert() {
    let (port, _server) = serve();
    let file = workflow(port);
    let (code, stdout, stderr) = run(&[
        "run",
        &file.path().display().to_string(),
        "--cacert",
        &data("ca.pem"),
    ]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn insecure_skips_verification_and_says_so() {
    let (port, _server) = serve();
    let file = workflow(port);
    let (code, stdout, stderr) = run(&["run", &file.path().display().to_string(), "--insecure"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert_eq!(
        stderr,
        "warning: `--insecure`: TLS certificates are not verified; anyone on the network path can read and change this traffic\n"
    );
}

#[test]
fn a_cacert_file_without_certificates_is_an_invalid_command() {
    let file = workflow(1);
    let empty = tempfile::NamedTempFile::new().expect("temp");
    let (code, _, stderr) = run(&[
        "run",
        &file.path().display().to_string(),
        "--cacert",
        &empty.path().display().to_string(),
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(stderr, "error: the CA file holds no PEM certificate\n");
}

#[tokio::test]
async fn a_new_tls_connection_reports_its_lookup_connect_and_handshake() {
    let (port, _server) = serve();
    let options = apiflow::http::ClientOptions {
        ca_pem: Some(std::fs::read(data("ca.pem")).expect("the CA file")),
        ..apiflow::http::ClientOptions::default()
    };
    let client = apiflow::http::Client::new(&options).expect("an HTTP client");
    let request = apiflow::http::Outgoing {
        method: reqwest::Method::GET,
        url: format!("https://localhost:{port}/").parse().expect("a URL"),
        headers: reqwest::header::HeaderMap::new(),
        body: None,
        timeout: std::time::Duration::from_secs(10),
        transport: apiflow::http::Transport::default(),
    };
    let hops = client
        .send(request, &apiflow::http::Jar::default(), true, 10, None)
        .await
        .unwrap_or_else(|(_, e)| panic!("{e}"));
    let timings = hops[0].response.timings;
    assert!(
        timings.dns.is_some() && timings.connect.is_some() && timings.tls.is_some(),
        "{timings:?}"
    );
    let phases = [timings.dns, timings.connect, timings.tls]
        .into_iter()
        .flatten()
        .sum::<std::time::Duration>()
        + timings.ttfb
        + timings.transfer;
    assert!(phases <= timings.total, "{timings:?}");
}
