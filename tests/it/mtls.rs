//! Mutual TLS: client certificates from `--cert`/`--key` or `tls:` (RSA, EC, Ed25519, an
//! encrypted PKCS #8 key), per host, against an in-process TLS server that requires one and
//! records the certificate it was shown.

use crate::support;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn data(path: &str) -> String {
    format!("{}/tests/data/{path}", support::ROOT)
}

/// The certificates a server was shown, in order, as DER.
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

/// A TLS server for `localhost`/`127.0.0.1` that requires a client certificate signed by the
/// test client CA, answers `200 ok` and records each client's certificate.
struct MtlsServer {
    port: u16,
    seen: Seen,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn serve() -> MtlsServer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("tls/server.pem"))
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(data("tls/server.key")).expect("key");
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(data("mtls/client-ca.pem")).expect("client CA") {
        roots.add(ca.expect("a CA")).expect("a usable CA");
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .expect("a client verifier");
    let config = rustls::ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let seen: Seen = Arc::default();
    let log = Arc::clone(&seen);
    let (addr, stop) = support::spawn_server(move |listener| async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let shown = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec());
                if let Some(der) = shown {
                    log.lock().expect("not poisoned").push(der);
                }
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
    MtlsServer {
        port: addr.port(),
        seen,
        _stop: stop,
    }
}

impl MtlsServer {
    fn seen(&self) -> Vec<Vec<u8>> {
        self.seen.lock().expect("not poisoned").clone()
    }
}

/// The DER of a test client certificate.
fn der(name: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(data(&format!("mtls/{name}.pem")))
        .expect("a certificate")
        .to_vec()
}

/// A folder holding a workflow and copies of the test certificates it names.
fn folder(workflow: &str, files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for file in files {
        std::fs::copy(data(&format!("mtls/{file}")), dir.path().join(file)).expect("copied");
    }
    std::fs::write(dir.path().join("flow.yaml"), workflow).expect("written");
    dir
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .arg("run")
        .arg("flow.yaml")
        .arg("--cacert")
        .arg(data("tls/ca.pem"))
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code().expect("an exit code"),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn one_step(port: u16, tls: &str) -> String {
    format!(
        "name: mtls\n{tls}steps:\n  - name: get\n    request: {{ url: \"https://localhost:{port}/\" }}\n    expect: {{ status: 200 }}\n"
    )
}

#[test]
fn rsa_ec_and_ed25519_certificates_from_the_workflow_are_accepted() {
    for name in ["rsa", "ec", "ed25519"] {
        let server = serve();
        let tls = format!("defaults:\n  tls: {{ cert: {name}.pem, key: {name}.key }}\n");
        let key = format!("{name}.key");
        let pem = format!("{name}.pem");
        let dir = folder(&one_step(server.port, &tls), &[&pem, &key]);
        let (code, stdout, stderr) = run(dir.path(), &[]);
        assert_eq!(code, 0, "{name}: {stdout}{stderr}");
        assert_eq!(server.seen(), vec![der(name)], "{name}");
    }
}

#[test]
fn a_top_level_tls_is_the_certificate_of_every_request() {
    let server = serve();
    let tls = "tls: { cert: ec.pem, key: ec.key }\n";
    let dir = folder(&one_step(server.port, tls), &["ec.pem", "ec.key"]);
    let (code, stdout, stderr) = run(dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(server.seen(), vec![der("ec")]);
}

#[test]
fn a_certificate_from_the_command_line_is_accepted() {
    let server = serve();
    let dir = folder(&one_step(server.port, ""), &[]);
    let (code, stdout, stderr) = run(
        dir.path(),
        &[
            "--cert",
            &data("mtls/ec.pem"),
            "--key",
            &data("mtls/ec.key"),
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(server.seen(), vec![der("ec")]);
}

#[test]
fn without_a_certificate_the_server_refuses_in_words() {
    let server = serve();
    let dir = folder(&one_step(server.port, ""), &[]);
    let (code, stdout, _) = run(dir.path(), &[]);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("TLS: the server requires a client certificate (give one with `--cert FILE --key FILE` or `tls:`)"),
        "{stdout}"
    );
    assert!(server.seen().is_empty());
}

#[test]
fn an_untrusted_certificate_is_refused_in_words() {
    let server = serve();
    let tls = "defaults:\n  tls: { cert: untrusted.pem, key: untrusted.key }\n";
    let dir = folder(
        &one_step(server.port, tls),
        &["untrusted.pem", "untrusted.key"],
    );
    let (code, stdout, _) = run(dir.path(), &[]);
    assert_eq!(code, 3, "{stdout}");
    assert!(
        stdout.contains("TLS: the server refused the client certificate"),
        "{stdout}"
    );
}

const ENCRYPTED: &str = "inputs:\n  key_passphrase: { secret: true, env: MTLS_PASSPHRASE }\ndefaults:\n  tls:\n    cert: ec.pem\n    key: ec-encrypted.key\n    passphrase: \"{{ key_passphrase }}\"\n";

#[test]
fn an_encrypted_key_opens_with_the_right_passphrase() {
    let server = serve();
    let dir = folder(
        &one_step(server.port, ENCRYPTED),
        &["ec.pem", "ec-encrypted.key"],
    );
    let (code, stdout, stderr) = run(dir.path(), &["--var", "key_passphrase=correct horse"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(server.seen(), vec![der("ec")]);
}

#[test]
fn a_wrong_passphrase_stops_the_run_before_anything_is_sent() {
    let server = serve();
    let dir = folder(
        &one_step(server.port, ENCRYPTED),
        &["ec.pem", "ec-encrypted.key"],
    );
    let (code, stdout, stderr) = run(dir.path(), &["--var", "key_passphrase=battery staple"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(!stderr.contains("battery staple"), "{stderr}");
    insta::assert_snapshot!(stderr);
    assert!(server.seen().is_empty());
}

#[test]
fn a_wrong_passphrase_from_the_environment_is_named_by_its_flag() {
    let dir = folder(&one_step(1, ""), &[]);
    let output = assert_cmd::Command::cargo_bin("apiflow")
        .expect("binary")
        .env_remove("GITHUB_ACTIONS")
        .current_dir(dir.path())
        .env("MTLS_KEY_PASS", "battery staple")
        .args(["run", "flow.yaml", "--cert", &data("mtls/ec.pem")])
        .args(["--key", &data("mtls/ec-encrypted.key")])
        .args(["--key-passphrase-env", "MTLS_KEY_PASS"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: `--key-passphrase-env MTLS_KEY_PASS`: the passphrase does not decrypt the key\n"
    );
}

#[test]
fn a_key_of_another_certificate_is_a_located_error() {
    let tls = "defaults:\n  tls: { cert: ec.pem, key: untrusted.key }\n";
    let dir = folder(&one_step(1, tls), &["ec.pem", "untrusted.key"]);
    let (code, _, stderr) = run(dir.path(), &[]);
    assert_eq!(code, 2);
    insta::assert_snapshot!(stderr);
}

#[test]
fn each_host_gets_its_own_certificate() {
    let server = serve();
    let port = server.port;
    let workflow = format!(
        "name: hosts\ndefaults:\n  tls:\n    cert: ed25519.pem\n    key: ed25519.key\n    hosts:\n      localhost: {{ cert: rsa.pem, key: rsa.key }}\nsteps:\n  - name: by name\n    request: {{ url: \"https://localhost:{port}/\" }}\n  - name: by address\n    request: {{ url: \"https://127.0.0.1:{port}/\" }}\n  - name: its own\n    request:\n      url: \"https://localhost:{port}/\"\n      tls: {{ cert: ec.pem, key: ec.key }}\n"
    );
    let dir = folder(
        &workflow,
        &[
            "rsa.pem",
            "rsa.key",
            "ed25519.pem",
            "ed25519.key",
            "ec.pem",
            "ec.key",
        ],
    );
    let (code, stdout, stderr) = run(dir.path(), &[]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(server.seen(), vec![der("rsa"), der("ed25519"), der("ec")]);
}

#[test]
fn a_certificate_outside_the_workflows_folder_needs_file_root() {
    let server = serve();
    let tls = "defaults:\n  tls: { cert: ../ec.pem, key: ../ec.key }\n";
    let dir = folder("", &["ec.pem", "ec.key"]);
    std::fs::create_dir(dir.path().join("flows")).expect("a folder");
    std::fs::write(
        dir.path().join("flows/flow.yaml"),
        one_step(server.port, tls),
    )
    .expect("written");
    let flows = dir.path().join("flows");
    let (code, _, stderr) = run(&flows, &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: `cert: ../ec.pem` is outside the workflow's folder"),
        "{stderr}"
    );
    let root = dir.path().display().to_string();
    let (code, stdout, stderr) = run(&flows, &["--file-root", &root]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(server.seen(), vec![der("ec")]);
}
