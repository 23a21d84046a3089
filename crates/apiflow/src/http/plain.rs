//! Plain `http://` requests over HTTP/1.1, on hyper's connection API directly.
//!
//! reqwest's layers (its pool, its tower stack, URL re-parsing on every hop) cost about as much
//! per request as a loopback round trip. Without TLS and without a proxy none of them is
//! needed: this module keeps idle keep-alive connections per origin and sends on them itself.
//! What the server sees is what reqwest sends: the same default headers, the same
//! `Accept-Encoding` and decoding (tower-http's, which reqwest uses), hyper's framing; the
//! differential test `tests/it/http_stacks.rs` sends the same workflows through both and compares
//! the bytes. A connection that closed while idle is replaced and the request sent again, as
//! reqwest does, when hyper hands the request back unsent, and also, for idempotent methods only,
//! when the connection closed as the request went out on it.
//!
//! Where the two differ, on purpose:
//! - Connections are pooled by host and port, reqwest's by the URL's authority, user
//!   information included. A URL whose user name is not UTF-8 (sent without credentials by
//!   both, as reqwest cannot decode it) goes out on an open connection here and on a new one
//!   through reqwest; the bytes are the same.
//! - reqwest does not tell whether a connection was kept alive, so when one closes as a request
//!   went out on it, the client ([`super::Client`]) sends an idempotent request once more and
//!   reports any other as not sent again, whether the connection was kept alive or new; here a
//!   new connection that closes is reported as it is, and a request is sent again as long as
//!   the connection that failed it was a kept-alive one.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::client::conn::TrySendError;
use hyper::client::conn::http1::SendRequest;
use reqwest::header::{ACCEPT, AUTHORIZATION, HOST, HeaderValue, USER_AGENT};
use tower_http::decompression::Decompression;
use url::Url;

use super::body::Stream;
use super::timing::{Connecting, Marks};
use super::{
    Incoming, Outgoing, SendError, basic_credential, closed_before_answering, explain, is_closed,
    is_idempotent, lower_first, url_credentials,
};

type Sender = SendRequest<Stream>;
type Unsent = TrySendError<hyper::Request<Stream>>;

/// How long a connection may wait unused before it is closed (reqwest's setting here too).
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The most unused connections kept open at once, over all origins: a run that visits many
/// hosts must not run out of file descriptors.
const MAX_IDLE: usize = 256;

/// Idle connections by origin, shared by every step and iteration of a run.
#[derive(Debug)]
pub(super) struct Plain {
    idle: Mutex<Idle<(String, u16), Open>>,
    connect_timeout: Duration,
    user_agent: HeaderValue,
}

impl Plain {
    /// Returns the plain-HTTP client, or `None` when a proxy may apply to `http://` URLs (then
    /// reqwest, which knows the proxy rules, sends everything).
    pub(super) fn new(connect_timeout: Duration, user_agent: &'static str) -> Option<Plain> {
        let proxied = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        // These systems keep proxy settings outside the environment too.
        if proxied || cfg!(any(target_os = "macos", target_os = "windows")) {
            return None;
        }
        Some(Plain::unproxied(connect_timeout, user_agent))
    }

    /// Returns the plain-HTTP client whatever the proxy settings say.
    pub(super) fn unproxied(connect_timeout: Duration, user_agent: &'static str) -> Plain {
        Plain {
            idle: Mutex::new(Idle::new(IDLE_TIMEOUT, MAX_IDLE)),
            connect_timeout,
            user_agent: HeaderValue::from_static(user_agent),
        }
    }

    /// Keeps at least `count` unused connections open, rather than closing the longest-waiting
    /// one past [`MAX_IDLE`]: a load run's virtual users each come back for theirs.
    pub(super) fn keep_idle(&self, count: usize) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.limit = idle.limit.max(count);
        }
    }

    /// Returns a client with the same settings and no connection.
    pub(super) fn fresh(&self) -> Plain {
        Plain {
            idle: Mutex::new(Idle::new(IDLE_TIMEOUT, MAX_IDLE)),
            connect_timeout: self.connect_timeout,
            user_agent: self.user_agent.clone(),
        }
    }

    /// Sends one request to an `http://` URL and reads the whole response, up to `max_body`
    /// bytes once decoded.
    pub(super) async fn send(
        &self,
        request: &Outgoing,
        max_body: usize,
        started: std::time::Instant,
    ) -> Result<Incoming, SendError> {
        let host = request.url.host_str().unwrap_or_default();
        let port = request.url.port_or_known_default().unwrap_or(80);
        let origin = (host.to_owned(), port);
        let mut message = Some(self.message(request)?);
        let mut marks = Marks::start(started);
        let response = loop {
            let Some(outgoing) = message.take() else {
                return Err(SendError::Other("the request could not be sent".into()));
            };
            let (mut open, reused) = if let Some(open) = self.checkout(&origin).await {
                marks.connecting = Connecting::default();
                (open, true)
            } else {
                // Boxed, as the body below: a connection opens once in many requests, and
                // every request waiting for its answer would otherwise hold the room of both.
                let (open, connecting) = Box::pin(self.connect(&origin)).await?;
                marks.connecting = connecting;
                (open, false)
            };
            marks.sent = Instant::now();
            let mut service = Decompression::new(Send(&mut open.sender, &open.host))
                .gzip(true)
                .br(true)
                .deflate(true)
                .no_zstd();
            match tower_service::Service::call(&mut service, outgoing).await {
                Ok(response) => {
                    marks.head = Instant::now();
                    break (response, open);
                }
                // An idle connection the server closed: hyper gives the request back unsent.
                Err(mut unsent) if reused && unsent.message().is_some() => {
                    message = unsent.take_message();
                }
                // The server closed an idle connection as the request went out on it: an
                // idempotent request may be sent again on a new one (RFC 9110, 9.2.2).
                Err(unsent)
                    if reused && is_idempotent(&request.method) && is_closed(unsent.error()) =>
                {
                    message = Some(self.message(request)?);
                }
                Err(unsent) if reused && is_closed(unsent.error()) => {
                    return Err(closed_before_answering(&request.method));
                }
                Err(unsent) => return Err(SendError::Other(explain(&unsent.into_error()))),
            }
        };
        let (response, open) = response;
        let (parts, body) = response.into_parts();
        // A decompressing body has room for every decoder; boxed, it is not part of the
        // future of every request waiting for its answer.
        let mut body = Box::pin(body);
        // The decompressing body does not know its size; an identity body's is its length.
        let expected = http_body::Body::size_hint(&body).exact().or_else(|| {
            let identity = !parts.headers.contains_key(hyper::header::CONTENT_ENCODING);
            let length = parts.headers.get(hyper::header::CONTENT_LENGTH)?;
            identity
                .then(|| length.to_str().ok()?.parse::<u64>().ok())
                .flatten()
        });
        // Reserved up front up to 1 MiB: a larger length may be a lie, and the body grows anyway.
        let mut bytes = Vec::with_capacity(
            usize::try_from(expected.unwrap_or(0))
                .unwrap_or(0)
                .min(max_body)
                .min(1 << 20),
        );
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| SendError::Other(explain(e.as_ref())))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > max_body {
                    return Err(SendError::BodyTooLarge(max_body));
                }
                bytes.extend_from_slice(&data);
            }
        }
        let remote = open.peer;
        self.checkin(origin, open);
        let timings = marks.timings(Instant::now());
        Ok(Incoming {
            status: parts.status,
            headers: parts.headers,
            body: std::sync::Arc::new(bytes),
            elapsed: timings.total,
            timings,
            version: parts.version,
            remote,
        })
    }

    /// Builds the message reqwest would: the request's headers, then its defaults.
    fn message(&self, request: &Outgoing) -> Result<hyper::Request<Stream>, SendError> {
        let url = &request.url;
        let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
        // A body with files reads them from the start each time a message is made.
        let body = request
            .body
            .as_ref()
            .map_or_else(Stream::empty, super::body::Body::stream);
        let mut message = hyper::Request::new(body);
        *message.method_mut() = request.method.clone();
        *message.uri_mut() = target
            .parse()
            .map_err(|e| SendError::Other(format!("the URL cannot be sent: {e}")))?;
        let headers = message.headers_mut();
        // Credentials in the URL become Basic auth unless the request says otherwise.
        if let Some(credentials) = userinfo_basic(url) {
            headers.insert(AUTHORIZATION, credentials);
        }
        for name in request.headers.keys() {
            let mut values = request.headers.get_all(name).iter();
            if let Some(first) = values.next() {
                headers.insert(name, first.clone());
            }
            for value in values {
                headers.append(name, value.clone());
            }
        }
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        headers
            .entry(USER_AGENT)
            .or_insert_with(|| self.user_agent.clone());
        Ok(message)
    }

    /// Takes an idle connection to `origin` that is still open, once it can take a request.
    async fn checkout(&self, origin: &(String, u16)) -> Option<Open> {
        loop {
            let mut open = self.idle.lock().ok()?.take(origin, Instant::now())?;
            // Ready as soon as the connection has finished with the previous response; an
            // error when the server has closed it meanwhile.
            if open.sender.ready().await.is_ok() {
                return Some(open);
            }
        }
    }

    fn checkin(&self, origin: (String, u16), open: Open) {
        if open.sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.put(origin, open, Instant::now());
        }
    }

    /// Opens a connection, noting how long the DNS lookup and the TCP connection took.
    async fn connect(&self, (host, port): &(String, u16)) -> Result<(Open, Connecting), SendError> {
        let host_value = host_header(host, *port)?;
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let mut connecting = Connecting {
            start: Some(Instant::now()),
            ..Connecting::default()
        };
        let stream =
            match tokio::time::timeout(self.connect_timeout, open(name, *port, &mut connecting))
                .await
            {
                Err(_) => return Err(SendError::Other("timed out".into())),
                Ok(Err(error)) => return Err(SendError::Connect(lower_first(&error.to_string()))),
                Ok(Ok(stream)) => stream,
            };
        let _ = stream.set_nodelay(true);
        let peer = stream.peer_addr().ok();
        // Responses are read 4 KiB at a time, as Go's client (k6's) does: hyper's own buffer
        // starts at 8 KiB and grows, and a load run holds one per virtual user. 1,000 users
        // peak 5 to 6 MiB lower; a 1.5 MB body costs about 0.2 ms more CPU, in 370 reads.
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .read_buf_exact_size(Some(4096))
            .handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| SendError::Connect(explain(&e)))?;
        // The connection ends when the server closes it or its last sender is dropped.
        tokio::spawn(connection);
        connecting.end = Some(Instant::now());
        Ok((
            Open {
                sender,
                peer,
                host: host_value,
            },
            connecting,
        ))
    }
}

/// An open connection: where requests go in, the server's address and its `Host`.
#[derive(Debug)]
struct Open {
    sender: Sender,
    peer: Option<std::net::SocketAddr>,
    /// The `Host` of every request it carries, the same for every URL of its origin.
    host: HeaderValue,
}

/// Connects to a host as `TcpStream::connect` does (each address in turn, the last error if
/// none answers), looking the name up first unless it is an IP address, and timing the lookup.
async fn open(
    name: &str,
    port: u16,
    connecting: &mut Connecting,
) -> std::io::Result<tokio::net::TcpStream> {
    let addresses: Vec<std::net::SocketAddr> = if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        vec![std::net::SocketAddr::new(ip, port)]
    } else {
        let started = Instant::now();
        let found = tokio::net::lookup_host((name, port)).await;
        connecting.dns = Some(started.elapsed());
        found?.collect()
    };
    let mut last = None;
    for address in addresses {
        match tokio::net::TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "could not resolve to any address",
        )
    }))
}

/// Unused items by key, most recently used first out, closed (dropped) after `timeout` unused
/// or when more than `limit` wait, the longest-waiting first.
#[derive(Debug)]
struct Idle<K, T> {
    /// Hashed with `FxHash`, not `SipHash`: the keys are the origins a run calls, at most `limit` of
    /// them kept, and every request looks one up twice.
    by_key: rustc_hash::FxHashMap<K, Vec<(T, Instant)>>,
    count: usize,
    timeout: Duration,
    limit: usize,
}

impl<K: std::hash::Hash + Eq + Clone, T> Idle<K, T> {
    fn new(timeout: Duration, limit: usize) -> Idle<K, T> {
        Idle {
            by_key: rustc_hash::FxHashMap::default(),
            count: 0,
            timeout,
            limit,
        }
    }

    /// Takes the most recently used item for `key` that has not waited too long.
    fn take(&mut self, key: &K, now: Instant) -> Option<T> {
        let items = self.by_key.get_mut(key)?;
        while let Some((item, since)) = items.pop() {
            self.count -= 1;
            if now.saturating_duration_since(since) <= self.timeout {
                return Some(item);
            }
        }
        None
    }

    /// Keeps an item for later, closing the longest-waiting one when too many wait.
    fn put(&mut self, key: K, item: T, now: Instant) {
        self.by_key.entry(key).or_default().push((item, now));
        self.count += 1;
        if self.count > self.limit {
            let oldest = self
                .by_key
                .iter()
                .filter_map(|(key, items)| items.first().map(|(_, since)| (*since, key.clone())))
                .min_by_key(|(since, _)| *since);
            if let Some((_, key)) = oldest
                && let Some(items) = self.by_key.get_mut(&key)
            {
                items.remove(0);
                self.count -= 1;
            }
        }
    }
}

/// `Basic base64(user:password)` of the URL's user information, as reqwest sends it.
fn userinfo_basic(url: &Url) -> Option<HeaderValue> {
    let (user, password) = url_credentials(url)?;
    let credential = basic_credential(&user, password.as_deref().unwrap_or_default());
    let mut value = HeaderValue::from_str(&format!("Basic {credential}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// `Host: name[:port]`, the port only when it is not the scheme's default.
fn host_header(host: &str, port: u16) -> Result<HeaderValue, SendError> {
    // The URL leaves out the default port, and so does `Host`.
    let value = if port == 80 {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    HeaderValue::from_str(&value).map_err(|_| SendError::Other("the URL has a bad host".into()))
}

/// One ready connection as a tower service, for tower-http's decompression; it adds `Host`
/// last, after `Accept-Encoding`, where reqwest puts it.
struct Send<'s>(&'s mut Sender, &'s HeaderValue);

impl tower_service::Service<hyper::Request<Stream>> for Send<'_> {
    type Response = hyper::Response<hyper::body::Incoming>;
    type Error = Unsent;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Unsent>> + std::marker::Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Unsent>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: hyper::Request<Stream>) -> Self::Future {
        if !request.headers().contains_key(HOST) {
            request.headers_mut().insert(HOST, self.1.clone());
        }
        Box::pin(self.0.try_send_request(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_items_come_back_newest_first_and_not_after_the_timeout() {
        let start = Instant::now();
        let later = |secs| start + Duration::from_secs(secs);
        let mut idle = Idle::new(Duration::from_secs(30), 10);
        idle.put("a", 1, start);
        idle.put("a", 2, later(20));
        idle.put("b", 3, later(20));
        assert_eq!(idle.take(&"a", later(25)), Some(2));
        // 1 has waited 40 s: closed, not handed out.
        assert_eq!(idle.take(&"a", later(40)), None);
        assert_eq!(idle.take(&"b", later(40)), Some(3));
        assert_eq!(idle.count, 0);
    }

    #[test]
    fn host_names_the_port_only_when_it_is_not_80() {
        let host = |url: &str| {
            let url = Url::parse(url).expect("a URL");
            let port = url.port_or_known_default().expect("a port");
            host_header(url.host_str().expect("a host"), port).expect("a Host value")
        };
        assert_eq!(host("http://api.test/a"), "api.test");
        assert_eq!(host("http://api.test:80/a"), "api.test");
        assert_eq!(host("http://api.test:8080/a"), "api.test:8080");
        assert_eq!(host("http://[::1]:8080/a"), "[::1]:8080");
        assert_eq!(host("http://[::1]/a"), "[::1]");
    }

    #[test]
    fn the_longest_waiting_item_is_closed_when_too_many_wait() {
        let start = Instant::now();
        let at = |secs| start + Duration::from_secs(secs);
        let mut idle = Idle::new(Duration::from_secs(30), 2);
        idle.put("a", 1, at(1));
        idle.put("b", 2, at(2));
        idle.put("a", 3, at(3));
        assert_eq!(idle.count, 2);
        assert_eq!(idle.take(&"a", at(4)), Some(3));
        assert_eq!(idle.take(&"a", at(4)), None);
        assert_eq!(idle.take(&"b", at(4)), Some(2));
    }
}
