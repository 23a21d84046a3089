//! TLS: certificates are verified by default, `--cacert` adds a private CA, and `--insecure`
//! skips verification with a warning. The server is an in-process TLS listener on 127.0.0.1.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn data(name: &str) -> String {
    format!("{}/tests/data/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Serves `200 ok` over TLS to every connection; returns the port.
fn serve() -> u16 {
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
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
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
    });
    port
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
    let port = serve();
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
    let port = serve();
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
    let port = serve();
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
