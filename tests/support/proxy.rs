//! Tiny in-process proxies that record what they were asked: an HTTP proxy, plain or over TLS
//! (absolute-form requests forwarded, `CONNECT` tunnels), and a SOCKS5 server (RFC 1928, with
//! RFC 1929 user/password authentication when the client offers it).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// What a proxy was asked, one entry per connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Asked {
    /// The HTTP proxy's request line (`GET http://host:port/path HTTP/1.1`,
    /// `CONNECT host:port HTTP/1.1`), or the SOCKS5 target (`host:port`).
    pub target: String,
    /// `Proxy-Authorization`, or SOCKS5's `user:password`.
    pub credentials: Option<String>,
}

/// Serves one connection, noting what it was asked.
type Handler =
    fn(TcpStream, Arc<Mutex<Vec<Asked>>>) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// A running proxy: its port and what it was asked.
pub struct Proxy {
    pub port: u16,
    asked: Arc<Mutex<Vec<Asked>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Proxy {
    /// Returns what the proxy was asked, in order.
    pub fn asked(&self) -> Vec<Asked> {
        self.asked.lock().expect("not poisoned").clone()
    }

    /// Starts an HTTP proxy.
    pub fn http() -> Proxy {
        Proxy::start(|stream, asked| Box::pin(http_connection(stream, asked)))
    }

    /// Starts an HTTP proxy reached over TLS, with the test certificate for `127.0.0.1`.
    pub fn https() -> Proxy {
        Proxy::start(|stream, asked| {
            Box::pin(async move {
                if let Ok(tls) = tls_acceptor().accept(stream).await {
                    http_connection(tls, asked).await;
                }
            })
        })
    }

    /// Starts a SOCKS5 proxy.
    pub fn socks5() -> Proxy {
        Proxy::start(|stream, asked| Box::pin(socks5_connection(stream, asked)))
    }

    fn start(handle: Handler) -> Proxy {
        let asked: Arc<Mutex<Vec<Asked>>> = Arc::default();
        let log = Arc::clone(&asked);
        let (addr, stop) = super::spawn_server(move |listener: TcpListener| async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(handle(stream, Arc::clone(&log)));
            }
        });
        Proxy {
            port: addr.port(),
            asked,
            _stop: stop,
        }
    }
}

/// The TLS side of [`Proxy::https`].
fn tls_acceptor() -> tokio_rustls::TlsAcceptor {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let data = |name: &str| format!("{}/tests/data/tls/{name}", super::ROOT);
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(data("server.pem"))
        .expect("cert file")
        .collect::<Result<_, _>>()
        .expect("certs");
    let key = PrivateKeyDer::from_pem_file(data("server.key")).expect("key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Reads a request head, up to and including the blank line.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}

async fn http_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut client: S,
    asked: Arc<Mutex<Vec<Asked>>>,
) {
    let Some(head) = read_head(&mut client).await else {
        return;
    };
    let mut lines = head.split("\r\n");
    let line = lines.next().unwrap_or_default().to_owned();
    let credentials = lines
        .clone()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
        })
        .map(|(_, value)| value.trim().to_owned());
    asked.lock().expect("not poisoned").push(Asked {
        target: line.clone(),
        credentials,
    });
    let mut words = line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method == "CONNECT" {
        let Ok(mut server) = TcpStream::connect(target).await else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
            return;
        };
        let _ = client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        return;
    }
    // An absolute-form request: forwarded in origin form, without the proxy's own header.
    let Ok(url) = url::Url::parse(target) else {
        return;
    };
    let address = format!(
        "{}:{}",
        url.host_str().unwrap_or_default(),
        url.port_or_known_default().unwrap_or(80)
    );
    let Ok(mut server) = TcpStream::connect(address).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
    for header in lines.filter(|l| !l.is_empty()) {
        if !header.to_ascii_lowercase().starts_with("proxy-") {
            forwarded.push_str(header);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("\r\n");
    if server.write_all(forwarded.as_bytes()).await.is_ok() {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    }
}

async fn socks5_connection(mut client: TcpStream, asked: Arc<Mutex<Vec<Asked>>>) {
    let _ = socks5(&mut client, &asked).await;
}

async fn socks5(client: &mut TcpStream, asked: &Mutex<Vec<Asked>>) -> std::io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await?;
    let mut credentials = None;
    if methods.contains(&2) {
        client.write_all(&[5, 2]).await?;
        let mut version_and_length = [0u8; 2];
        client.read_exact(&mut version_and_length).await?;
        let mut user = vec![0u8; usize::from(version_and_length[1])];
        client.read_exact(&mut user).await?;
        let mut length = [0u8; 1];
        client.read_exact(&mut length).await?;
        let mut password = vec![0u8; usize::from(length[0])];
        client.read_exact(&mut password).await?;
        credentials = Some(format!(
            "{}:{}",
            String::from_utf8_lossy(&user),
            String::from_utf8_lossy(&password)
        ));
        client.write_all(&[1, 0]).await?;
    } else {
        client.write_all(&[5, 0]).await?;
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        3 => {
            let mut length = [0u8; 1];
            client.read_exact(&mut length).await?;
            let mut name = vec![0u8; usize::from(length[0])];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).into_owned()
        }
        _ => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    asked.lock().expect("not poisoned").push(Asked {
        target: target.clone(),
        credentials,
    });
    let mut server = TcpStream::connect(target).await?;
    client.write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).await?;
    tokio::io::copy_bidirectional(client, &mut server).await?;
    Ok(())
}
