//! Proxies: `--proxy` (HTTP with absolute-form requests and `CONNECT` tunnels, SOCKS5 with local
//! and remote name resolution) and `--no-proxy`, beating the environment's variables; the
//! in-process proxies record what they were asked.

use crate::support;

use base64::Engine as _;
use support::proxy::{Asked, Proxy};
use support::{Reply, Server};

const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// Runs a one-step workflow that GETs `url` with `args`, and the environment's proxy variables
/// replaced by `env`; returns the exit code and what was printed.
fn run(url: &str, args: &[&str], env: &[(&str, String)]) -> (i32, String) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let workflow = format!(
        "name: proxied\nsteps:\n  - name: get\n    request: {{ url: \"{url}\" }}\n    expect: {{ status: 200 }}\n"
    );
    std::fs::write(dir.path().join("flow.yaml"), workflow).expect("written");
    let mut command = assert_cmd::Command::cargo_bin("apiflow").expect("binary");
    command.env_remove("GITHUB_ACTIONS");
    command.current_dir(dir.path()).env_remove("NO_COLOR");
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command
        .args(["run", "flow.yaml"])
        .args(args)
        .output()
        .expect("runs");
    (
        output.status.code().expect("an exit code"),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn basic(user: &str, password: &str) -> String {
    let credential = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {credential}")
}

fn ok() -> Server {
    Server::start(|_| Reply::text(200, "ok"))
}

#[test]
fn plain_http_goes_through_an_http_proxy_with_its_credentials() {
    let (server, proxy) = (ok(), Proxy::http());
    let url = format!("http://localhost:{}/items?page=2", server.port);
    let through = format!("http://ann:s3cret@127.0.0.1:{}", proxy.port);
    let (code, out) = run(&url, &["--proxy", &through], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        proxy.asked(),
        vec![Asked {
            target: format!("GET {url} HTTP/1.1"),
            credentials: Some(basic("ann", "s3cret")),
        }]
    );
    assert_eq!(server.only("/items").query.as_deref(), Some("page=2"));
}

#[test]
fn https_goes_through_a_connect_tunnel() {
    let proxy = Proxy::http();
    let tls = crate::tls::serve();
    let through = format!("http://ann:s3cret@127.0.0.1:{}", proxy.port);
    let url = format!("https://localhost:{}/", tls.0);
    let ca = format!("{}/tests/data/tls/ca.pem", support::ROOT);
    let (code, out) = run(&url, &["--proxy", &through, "--cacert", &ca], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        proxy.asked(),
        vec![Asked {
            target: format!("CONNECT localhost:{} HTTP/1.1", tls.0),
            credentials: Some(basic("ann", "s3cret")),
        }]
    );
}

#[test]
fn socks5_resolves_names_here_and_socks5h_at_the_proxy() {
    for (scheme, host) in [("socks5", "127.0.0.1"), ("socks5h", "localhost")] {
        let (server, proxy) = (ok(), Proxy::socks5());
        let url = format!("http://localhost:{}/", server.port);
        let through = format!("{scheme}://ann:s3cret@127.0.0.1:{}", proxy.port);
        let (code, out) = run(&url, &["--proxy", &through], &[]);
        assert_eq!(code, 0, "{scheme}: {out}");
        assert_eq!(
            proxy.asked(),
            vec![Asked {
                target: format!("{host}:{}", server.port),
                credentials: Some("ann:s3cret".to_owned()),
            }],
            "{scheme}"
        );
    }
}

#[test]
fn no_proxy_hosts_are_reached_directly() {
    let (server, proxy) = (ok(), Proxy::http());
    let url = format!("http://localhost:{}/", server.port);
    let through = format!("http://127.0.0.1:{}", proxy.port);
    let (code, out) = run(
        &url,
        &["--proxy", &through, "--no-proxy", "example.com, localhost"],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(proxy.asked().is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_command_line_beats_the_environment() {
    let (server, flag, env) = (ok(), Proxy::http(), Proxy::http());
    let url = format!("http://localhost:{}/", server.port);
    let from_env = vec![
        ("HTTP_PROXY", format!("http://127.0.0.1:{}", env.port)),
        ("NO_PROXY", "localhost".to_owned()),
    ];
    // `--proxy` replaces the environment's proxy, `--no-proxy` its exceptions.
    let through = format!("http://127.0.0.1:{}", flag.port);
    let (code, out) = run(&url, &["--proxy", &through, "--no-proxy", ""], &from_env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(flag.asked().len(), 1);
    assert!(env.asked().is_empty());
    // `--no-proxy` alone keeps the environment's proxy with its own exceptions.
    let (code, out) = run(&url, &["--no-proxy", "example.com"], &from_env);
    assert_eq!(code, 0, "{out}");
    assert_eq!(env.asked().len(), 1);
    let (code, out) = run(&url, &["--no-proxy", "localhost"], &from_env[..1]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(env.asked().len(), 1);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_bad_proxy_url_is_an_invalid_command_that_hides_the_password() {
    for (proxy, says) in [
        (
            "ftp://ann:hunter2@h:21",
            "unsupported proxy scheme `ftp`: use `http`, `https`, `socks5` or `socks5h`",
        ),
        (
            "http://ann:hunter2@h:1/path",
            "the proxy URL `http://ann:••••@h:1/path` has a path or query",
        ),
        (
            "ann:hunter2@h:3128",
            "`••••@h:3128` is not a proxy URL: write it as `http://HOST:PORT`",
        ),
    ] {
        let (code, out) = run("http://localhost:1/", &["--proxy", proxy], &[]);
        assert_eq!(code, 2, "{out}");
        assert!(out.contains(says), "{out}");
        assert!(!out.contains("hunter2"), "{out}");
    }
}

#[test]
fn an_https_proxy_is_reached_over_tls() {
    let (server, proxy) = (ok(), Proxy::https());
    let url = format!("http://localhost:{}/", server.port);
    let through = format!("https://ann:s3cret@127.0.0.1:{}", proxy.port);
    let ca = format!("{}/tests/data/tls/ca.pem", support::ROOT);
    let (code, out) = run(&url, &["--proxy", &through, "--cacert", &ca], &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        proxy.asked(),
        vec![Asked {
            target: format!("GET {url} HTTP/1.1"),
            credentials: Some(basic("ann", "s3cret")),
        }]
    );
}
