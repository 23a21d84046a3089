//! HTTP: one client per run, redirects followed hop by hop here, cookies in our own jar.
//!
//! Plain `http://` without a proxy goes over hyper directly ([`plain`]); everything else
//! (TLS, proxies) through reqwest. [`ClientOptions::stack`] picks one of the two for plain
//! `http://`, so that tests can send the same requests through both and compare them.

pub mod body;
pub mod cookie_file;
pub(crate) mod digest;
pub(crate) mod hash;
pub mod identity;
mod jar;
mod plain;
pub mod proxy;
pub(crate) mod sigv4;
pub mod timing;
pub mod tls;
pub mod urls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderName, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use url::Url;

use self::identity::Identity;
pub use self::jar::Jar;

/// Default cap on a response body.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;
/// Default number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: u32 = 10;

/// How the client is built.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Skip certificate verification.
    pub insecure: bool,
    /// Extra trusted CA certificates, PEM.
    pub ca_pem: Option<Vec<u8>>,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Largest body read.
    pub max_body: usize,
    /// Which stack sends plain `http://` requests: for tests and diagnosis.
    pub stack: Stack,
    /// The client certificate presented to servers that ask for one, unless a request brings
    /// its own.
    pub identity: Option<Arc<Identity>>,
    /// The command line's proxy settings, which beat the environment's.
    pub proxy: proxy::ProxyOptions,
}

/// The HTTP stack that sends plain `http://` requests; `https://` always goes through reqwest.
///
/// Only tests and diagnosis choose one: the two send the same bytes (the `plain` module lists
/// the differences there are; `tests/it/http_stacks.rs` is the test that compares them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Stack {
    /// hyper directly where no proxy may apply (Linux and other Unix systems without a proxy
    /// variable set, and no `--proxy`), reqwest otherwise.
    #[default]
    Auto,
    /// reqwest for everything, as on macOS and Windows or behind a proxy.
    Reqwest,
    /// hyper directly for every plain `http://` request, ignoring any proxy setting.
    Plain,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            insecure: false,
            ca_pem: None,
            connect_timeout: Duration::from_secs(10),
            max_body: DEFAULT_MAX_BODY,
            stack: Stack::Auto,
            identity: None,
            proxy: proxy::ProxyOptions::default(),
        }
    }
}

/// A request ready to send.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The method.
    pub method: Method,
    /// The full URL, query included.
    pub url: Url,
    /// Headers, without cookies (the jar adds them).
    pub headers: HeaderMap,
    /// The body.
    pub body: Option<body::Body>,
    /// Time allowed for the whole exchange, body included.
    pub timeout: Duration,
    /// How it travels: its client certificate and HTTP version, when the step chose them.
    pub transport: Transport,
}

/// How one request travels, when it differs from the client's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transport {
    /// The client certificates to present, chosen by host, before the client's own.
    pub certs: Option<Arc<ClientCerts>>,
    /// The HTTP version required, instead of the one negotiated.
    pub version: Option<HttpVersion>,
}

/// Client certificates chosen by host: the first rule whose host is the request's (or that
/// names no host) wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCerts(pub Vec<(Option<String>, Arc<Identity>)>);

impl ClientCerts {
    /// Returns the certificate for a host, if a rule gives one.
    pub fn for_host(&self, host: &str) -> Option<&Arc<Identity>> {
        self.0
            .iter()
            .find(|(name, _)| name.as_deref().is_none_or(|n| n.eq_ignore_ascii_case(host)))
            .map(|(_, identity)| identity)
    }
}

/// An HTTP version a step can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/2 only: by ALPN over TLS, with prior knowledge (h2c) over plain `http://`.
    Http2,
}

impl HttpVersion {
    /// Returns the version as the format writes it: `1.1` or `2`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http1 => "1.1",
            HttpVersion::Http2 => "2",
        }
    }
}

/// A response, fully read.
#[derive(Clone, Debug)]
pub struct Incoming {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes (decompressed), shared with captures and reports without copying.
    pub body: std::sync::Arc<Vec<u8>>,
    /// How long the exchange took.
    pub elapsed: Duration,
    /// How long each phase of it took, as far as the stack that sent it can tell.
    pub timings: timing::Timings,
    /// The HTTP version the response came in.
    pub version: reqwest::Version,
    /// The address it came from (through a proxy, the proxy's), when the stack tells.
    pub remote: Option<std::net::SocketAddr>,
}

/// One request and its response; a followed redirect makes several.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// What was sent, cookies included.
    pub request: Outgoing,
    /// What came back.
    pub response: Incoming,
}

/// Why a request could not be completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// No answer in time.
    Timeout(Duration),
    /// Could not connect.
    Connect(String),
    /// The body was larger than allowed.
    BodyTooLarge(usize),
    /// More redirects than allowed.
    TooManyRedirects(u32),
    /// A redirect without a usable `Location`.
    BadRedirect(String),
    /// Anything else on the wire.
    Other(String),
    /// Ctrl-C was pressed while the request was waiting.
    Interrupted,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Timeout(limit) => write!(
                f,
                "no response within {}",
                crate::duration::format_duration(*limit)
            ),
            SendError::Connect(why) => write!(f, "could not connect: {why}"),
            SendError::BodyTooLarge(limit) => write!(
                f,
                "the response body is larger than {limit} bytes (raise it with `--max-body`)"
            ),
            SendError::TooManyRedirects(limit) => write!(f, "more than {limit} redirects"),
            SendError::BadRedirect(why) => write!(f, "bad redirect: {why}"),
            SendError::Other(why) => f.write_str(why),
            SendError::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// The HTTP client: built once, shared by every step.
#[derive(Clone, Debug)]
pub struct Client {
    /// reqwest, for `https://` and proxied requests: built on first use when plain `http://`
    /// goes over [`plain::Plain`], since a run against a local API never needs TLS; shared by
    /// clones either way.
    inner: Arc<OnceLock<Result<reqwest::Client, String>>>,
    /// reqwest clients for other client certificates and HTTP versions, one per pair, shared
    /// by clones.
    others: Arc<Mutex<HashMap<TransportKey, reqwest::Client>>>,
    options: ClientOptions,
    plain: Option<Arc<plain::Plain>>,
    max_body: usize,
}

/// What tells reqwest clients apart: the client certificate's hash and the HTTP version.
type TransportKey = (Option<[u8; 32]>, Option<HttpVersion>);

static PROVIDER: Once = Once::new();

/// Builds reqwest's client: no automatic redirects or cookies, gzip and brotli, rustls,
/// presenting `identity` and held to `version` when they are given.
fn build_reqwest(
    options: &ClientOptions,
    identity: Option<&Identity>,
    version: Option<HttpVersion>,
) -> Result<reqwest::Client, String> {
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let mut tls = crate::http::tls::client_config_for(
        options.ca_pem.as_deref(),
        options.insecure,
        identity,
        version,
    )?;
    timing::Sessions::install(&mut tls);
    let builder = match version {
        None => reqwest::Client::builder(),
        Some(HttpVersion::Http1) => reqwest::Client::builder().http1_only(),
        Some(HttpVersion::Http2) => reqwest::Client::builder().http2_prior_knowledge(),
    };
    let builder = proxy::configure(builder, &options.proxy, &|name| std::env::var(name).ok())?;
    builder
        .tls_backend_preconfigured(tls)
        .dns_resolver(timing::Resolver)
        .connector_layer(timing::ConnectLayer)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .user_agent(USER_AGENT)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {}", describe(&e)))
}

const USER_AGENT: &str = concat!("apiflow/", env!("CARGO_PKG_VERSION"));

impl Client {
    /// Builds the client: no automatic redirects or cookies, gzip and brotli, rustls.
    ///
    /// reqwest is built here when every request will go through it, or when the options
    /// configure TLS, so that a mistake in them is reported before anything is sent.
    pub fn new(options: &ClientOptions) -> Result<Client, String> {
        let plain = match options.stack {
            Stack::Auto if proxy::forces_reqwest(&options.proxy) => None,
            Stack::Auto => plain::Plain::new(options.connect_timeout, USER_AGENT),
            Stack::Reqwest => None,
            Stack::Plain => Some(plain::Plain::unproxied(options.connect_timeout, USER_AGENT)),
        }
        .map(Arc::new);
        let inner = OnceLock::new();
        if plain.is_none()
            || options.insecure
            || options.ca_pem.is_some()
            || options.identity.is_some()
        {
            let _ = inner.set(Ok(build_reqwest(
                options,
                options.identity.as_deref(),
                None,
            )?));
        }
        Ok(Client {
            inner: Arc::new(inner),
            others: Arc::default(),
            options: options.clone(),
            plain,
            max_body: options.max_body,
        })
    }

    /// Returns a client with the same options and connections of its own, for another thread's
    /// runtime: a connection is driven by a task of the runtime that opened it, so a load run's
    /// threads each keep their own rather than waking one another for every request.
    #[must_use]
    pub fn with_own_connections(&self) -> Client {
        let inner = OnceLock::new();
        // Built now, as `new` did, rather than inside the first request's time.
        if self.inner.get().is_some() {
            let _ = inner.set(build_reqwest(
                &self.options,
                self.options.identity.as_deref(),
                None,
            ));
        }
        Client {
            inner: Arc::new(inner),
            others: Arc::default(),
            options: self.options.clone(),
            plain: self.plain.as_ref().map(|plain| Arc::new(plain.fresh())),
            max_body: self.max_body,
        }
    }

    /// Keeps at least `count` unused plain-HTTP connections open (by default, at most 256 over
    /// all hosts): one per virtual user of a load run, which would otherwise open new ones.
    pub fn keep_idle(&self, count: usize) {
        if let Some(plain) = &self.plain {
            plain.keep_idle(count);
        }
    }

    /// Returns reqwest's client, building it on first use.
    fn reqwest(&self) -> Result<&reqwest::Client, SendError> {
        self.inner
            .get_or_init(|| build_reqwest(&self.options, self.options.identity.as_deref(), None))
            .as_ref()
            .map_err(|error| SendError::Other(error.clone()))
    }

    /// Returns the reqwest client for a request's transport: the shared one when the request
    /// asks for nothing of its own, otherwise one per client certificate and version, built on
    /// first use and kept.
    fn reqwest_for(&self, request: &Outgoing) -> Result<reqwest::Client, SendError> {
        let transport = &request.transport;
        // Each hop of a redirect chooses its certificate by its own host.
        let own = transport
            .certs
            .as_deref()
            .zip(request.url.host_str())
            .and_then(|(certs, host)| {
                certs.for_host(host.trim_start_matches('[').trim_end_matches(']'))
            });
        if own.is_none() && transport.version.is_none() {
            return self.reqwest().cloned();
        }
        let identity = own.map(Arc::as_ref).or(self.options.identity.as_deref());
        let key = (identity.map(Identity::id), transport.version);
        let mut others = self
            .others
            .lock()
            .map_err(|_| SendError::Other("the HTTP client's cache is poisoned".into()))?;
        if let Some(client) = others.get(&key) {
            return Ok(client.clone());
        }
        let client =
            build_reqwest(&self.options, identity, transport.version).map_err(SendError::Other)?;
        others.insert(key, client.clone());
        Ok(client)
    }

    /// Sends a request, following redirects when asked, and returns every hop.
    ///
    /// Sensitive headers are dropped when a redirect leaves the origin, and each hop gets the
    /// cookies the jar holds for its own URL.
    pub async fn send(
        &self,
        // Named for the loop, not moved into it: an async fn's moved argument keeps its room
        // in the future.
        mut next: Outgoing,
        jar: &Jar,
        follow: bool,
        max_redirects: u32,
        stop_at: Option<&str>,
    ) -> Result<Vec<Exchange>, (Vec<Exchange>, SendError)> {
        let started = Instant::now();
        let total = next.timeout;
        // Room for one: most requests are not redirected, and a list grown by a push would make
        // room for four exchanges of over 500 bytes, an allocation past the allocator's fast
        // path.
        let mut hops: Vec<Exchange> = Vec::with_capacity(1);
        loop {
            let remaining = total.saturating_sub(started.elapsed());
            // The jar's cookies go on the request as sent; a redirect drops them again.
            if let Some(cookie) = jar.header_for(&next.url)
                && let Ok(value) = HeaderValue::from_str(&cookie)
            {
                next.headers.insert(COOKIE, value);
            }
            let response = match self.once(&next, remaining, total).await {
                Ok(response) => response,
                Err(error) => return Err((hops, error)),
            };
            jar.store(&next.url, &response.headers);
            let status = response.status;
            let location =
                (follow && status.is_redirection() && status != StatusCode::NOT_MODIFIED)
                    .then(|| {
                        response
                            .headers
                            .get(LOCATION)?
                            .to_str()
                            .ok()
                            .map(str::to_owned)
                    })
                    .flatten();
            // Only a request followed further is copied: the last one is kept as sent.
            let Some(location) = location else {
                hops.push(Exchange {
                    request: next,
                    response,
                });
                return Ok(hops);
            };
            hops.push(Exchange {
                request: next.clone(),
                response,
            });
            let target = match next.url.join(&location) {
                Ok(url) => url,
                Err(e) => {
                    return Err((
                        hops,
                        SendError::BadRedirect(format!("`Location` is not a URL: {e}")),
                    ));
                }
            };
            if stop_at.is_some_and(|prefix| target.as_str().starts_with(prefix)) {
                return Ok(hops);
            }
            if hops.len() > max_redirects as usize {
                return Err((hops, SendError::TooManyRedirects(max_redirects)));
            }
            next = redirect(next, status, target);
        }
    }

    async fn once(
        &self,
        request: &Outgoing,
        remaining: Duration,
        total: Duration,
    ) -> Result<Incoming, SendError> {
        let started = Instant::now();
        // Only HTTP/1.1 goes over the plain stack; a client certificate needs TLS, so it never
        // applies there.
        let plain = self.plain.as_deref().filter(|_| {
            request.url.scheme() == "http" && request.transport.version != Some(HttpVersion::Http2)
        });
        let work = async {
            match plain {
                Some(plain) => plain.send(request, self.max_body, started).await,
                None => self.through_reqwest(request, started).await,
            }
        };
        match tokio::time::timeout(remaining, work).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout(total)),
        }
    }

    async fn through_reqwest(
        &self,
        request: &Outgoing,
        started: Instant,
    ) -> Result<Incoming, SendError> {
        let client = self.reqwest_for(request)?;
        let send = || {
            let mut builder = client
                .request(request.method.clone(), request.url.clone())
                .headers(request.headers.clone());
            // Bytes go as they are; a body with files is streamed, its files opened anew on
            // each attempt.
            match &request.body {
                Some(body::Body::Bytes(bytes)) => builder = builder.body(bytes.clone()),
                Some(body) => builder = builder.body(reqwest::Body::wrap(body.stream())),
                None => {}
            }
            builder.send()
        };
        // reqwest sends a request again only when a kept-alive connection hands it back unsent;
        // one that a connection closed under as it went out gets the plain path's treatment:
        // sent once more when its method is idempotent (RFC 9112, 9.3.1), reported in words
        // otherwise. reqwest does not tell whether the connection was kept alive, so a new one
        // is treated the same.
        let mut marks = timing::Marks::start(started);
        marks.sent = Instant::now();
        let (outcome, connecting) = timing::observed(send()).await;
        marks.connecting = connecting;
        // HTTP/2 with prior knowledge sends its preface blind: a server that speaks only
        // HTTP/1.1 answers it with an error or by closing the connection.
        let h2c =
            request.transport.version == Some(HttpVersion::Http2) && request.url.scheme() == "http";
        let mut response = match outcome {
            Ok(response) => response,
            Err(error) if h2c && !error.is_connect() && !error.is_timeout() => {
                return Err(SendError::Other(format!(
                    "the server did not answer in HTTP/2: `http_version: \"2\"` over `http://` \
                     starts the connection in HTTP/2 (prior knowledge), which this server does \
                     not speak ({})",
                    describe(&error)
                )));
            }
            Err(error) if closed_under(&error) && is_idempotent(&request.method) => {
                marks.sent = Instant::now();
                let (outcome, connecting) = timing::observed(send()).await;
                marks.connecting = connecting;
                outcome.map_err(|e| classify(&e))?
            }
            Err(error) if closed_under(&error) => {
                return Err(closed_before_answering(&request.method));
            }
            Err(error) => return Err(classify(&error)),
        };
        marks.head = Instant::now();
        let status = response.status();
        let version = response.version();
        let remote = response.remote_addr();
        let headers = std::mem::take(response.headers_mut());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
            if body.len() + chunk.len() > self.max_body {
                return Err(SendError::BodyTooLarge(self.max_body));
            }
            body.extend_from_slice(&chunk);
        }
        let timings = marks.timings(Instant::now());
        Ok(Incoming {
            status,
            headers,
            body: std::sync::Arc::new(body),
            elapsed: timings.total,
            timings,
            version,
            remote,
        })
    }
}

/// The user and password written in a URL (`http://user:password@host/`), percent-decoded, as
/// reqwest reads them to send Basic auth: `None` when there are none or the user is not UTF-8;
/// a password that is not UTF-8 is left out, as if none were written.
pub(crate) fn url_credentials(url: &Url) -> Option<(String, Option<String>)> {
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .ok()
            .map(std::borrow::Cow::into_owned)
    };
    let user = decode(url.username())?;
    let password = url.password().and_then(decode);
    (!user.is_empty() || password.is_some()).then_some((user, password))
}

/// The credential of Basic auth: base64 of `user:password`.
pub(crate) fn basic_credential(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Builds the next hop: 303 (and 301/302 after a POST) become a GET without body; 307 and 308
/// keep the method and body. Credentials stay on the origin they were meant for.
fn redirect(previous: Outgoing, status: StatusCode, target: Url) -> Outgoing {
    let mut next = previous;
    let to_get = status == StatusCode::SEE_OTHER
        || (matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
            && next.method == Method::POST);
    if to_get {
        if next.method != Method::HEAD {
            next.method = Method::GET;
        }
        next.body = None;
        next.headers.remove(reqwest::header::CONTENT_TYPE);
        next.headers.remove(reqwest::header::CONTENT_LENGTH);
    }
    if next.url.origin() != target.origin() {
        for name in [
            AUTHORIZATION,
            COOKIE,
            HeaderName::from_static("proxy-authorization"),
        ] {
            next.headers.remove(name);
        }
    }
    next.headers.remove(COOKIE);
    next.url = target;
    next
}

/// Tells whether a request with this method may be sent twice with the effect of once.
fn is_idempotent(method: &Method) -> bool {
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(method)
}

/// Tells whether the connection closed (or was reset) before any response came.
fn is_closed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_incomplete_message)
        {
            return true;
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            );
        }
        cause = current.source();
    }
    false
}

/// Tells whether reqwest's request failed because an open connection closed under it: not
/// while connecting, where a closed connection is a TLS or proxy failure with its own cause.
fn closed_under(error: &reqwest::Error) -> bool {
    !error.is_connect() && is_closed(error)
}

/// The failure of a request that is not sent again after its connection closed under it.
fn closed_before_answering(method: &Method) -> SendError {
    SendError::Other(format!(
        "the server closed the connection before answering (a {method} is not sent again: \
         repeating it may not be safe)"
    ))
}

fn classify(error: &reqwest::Error) -> SendError {
    if error.is_timeout() {
        return SendError::Other("timed out".into());
    }
    if let Some(tls) = tls_cause(error) {
        return SendError::Connect(tls);
    }
    if error.is_connect() {
        // The innermost cause is the one people can act on: "Connection refused (os error 111)".
        let text = describe(error);
        let last = text.rsplit(": ").next().unwrap_or(&text);
        return SendError::Connect(lower_first(last));
    }
    SendError::Other(describe(error))
}

/// Explains a TLS failure in words, with what to do about it.
fn tls_cause(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    use rustls::CertificateError as C;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = current {
        // An `io::Error` hides what it wraps from `source()`, sometimes twice; look inside.
        let mut inner: Option<&(dyn std::error::Error + 'static)> = Some(cause);
        while let Some(io) = inner.and_then(|e| e.downcast_ref::<std::io::Error>()) {
            inner = io
                .get_ref()
                .map(|e| e as &(dyn std::error::Error + 'static));
        }
        let wrapped = inner.and_then(|e| e.downcast_ref::<rustls::Error>());
        if let Some(tls) = cause.downcast_ref::<rustls::Error>().or(wrapped) {
            let text = match tls {
                rustls::Error::InvalidCertificate(C::UnknownIssuer) => {
                    "TLS: the server's certificate is signed by an authority this machine does not trust (for a private CA, pass `--cacert FILE`)".to_owned()
                }
                rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
                    "TLS: the server's certificate is not valid for this host name".to_owned()
                }
                rustls::Error::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
                    "TLS: the server's certificate has expired".to_owned()
                }
                rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
                    "TLS: the server's certificate is not valid yet".to_owned()
                }
                rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)
                | rustls::Error::NoApplicationProtocol => {
                    "TLS: the server offers none of the HTTP versions `http_version` allows".to_owned()
                }
                rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired) => {
                    "TLS: the server requires a client certificate (give one with `--cert FILE --key FILE` or `tls:`)".to_owned()
                }
                rustls::Error::AlertReceived(
                    alert @ (rustls::AlertDescription::BadCertificate
                    | rustls::AlertDescription::UnknownCA
                    | rustls::AlertDescription::CertificateUnknown
                    | rustls::AlertDescription::UnsupportedCertificate
                    | rustls::AlertDescription::CertificateExpired
                    | rustls::AlertDescription::CertificateRevoked
                    | rustls::AlertDescription::AccessDenied),
                ) => format!(
                    "TLS: the server refused the client certificate (alert `{alert:?}`): is it signed by an authority the server trusts, and still valid?"
                ),
                other => format!("TLS: {other}"),
            };
            return Some(text);
        }
        current = cause.source();
    }
    None
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// Describes an error by what it says and then its causes, for errors that hold no URL.
fn explain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        current = cause.source();
    }
    text
}

/// Describes an error by its innermost causes, without the URL (which may hold secrets).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut causes = Vec::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(cause) = current {
        let text = cause.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        current = cause.source();
    }
    if causes.is_empty() {
        let text = error.to_string();
        // reqwest puts the URL in brackets at the end; drop it.
        return text.split(" for url (").next().unwrap_or(&text).to_owned();
    }
    causes.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_url_are_read_as_reqwest_reads_them() {
        let read = |url: &str| url_credentials(&Url::parse(url).expect("a URL"));
        let owned = |user: &str, password: Option<&str>| {
            Some((user.to_owned(), password.map(str::to_owned)))
        };
        assert_eq!(read("http://h/"), None);
        assert_eq!(read("http://ann:p%40ss@h/"), owned("ann", Some("p@ss")));
        assert_eq!(read("http://ann@h/"), owned("ann", None));
        assert_eq!(read("http://:pw@h/"), owned("", Some("pw")));
        // A password that does not decode is left out; a user that does not decode, everything.
        assert_eq!(read("http://ann:%FF@h/"), owned("ann", None));
        assert_eq!(read("http://%FF:pw@h/"), None);
        assert_eq!(read("http://:%FF@h/"), None);
    }
}
