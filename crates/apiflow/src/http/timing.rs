//! Timings of one exchange: the phases each HTTP stack can measure, and the hooks that measure
//! them on reqwest's connections.
//!
//! The plain stack ([`super::plain`]) opens its own connections and notes each phase itself.
//! reqwest opens them inside `send()`, so three hooks note what happens there: a DNS resolver
//! (the lookup), a connector layer (the whole connection: lookup, TCP, proxy, TLS) and a TLS
//! session store, which rustls asks for a ticket when it starts a handshake, right after TCP
//! connected. They write into a task-local slot that [`observed`] opens around one request,
//! so nothing is allocated per request and concurrent runs do not see each other's marks.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use rustls::client::ClientSessionStore;

/// How long each phase of one exchange took.
///
/// A phase is `None` when it did not happen: a kept-alive connection is not looked up,
/// connected or secured again, a host written as an IP address is not looked up, and plain
/// `http://` has no TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// When the exchange started, by the system's clock.
    pub started_at: SystemTime,
    /// Looking the host up in DNS.
    pub dns: Option<Duration>,
    /// Opening the TCP connection (through a proxy: to the proxy, and the tunnel), TLS excluded.
    pub connect: Option<Duration>,
    /// The TLS handshake.
    pub tls: Option<Duration>,
    /// From sending the request, on a connection ready for it, to the response's head.
    pub ttfb: Duration,
    /// Reading the response body.
    pub transfer: Duration,
    /// The whole exchange, from asking for a connection to the end of the body.
    pub total: Duration,
}

impl Default for Timings {
    fn default() -> Timings {
        Timings {
            started_at: SystemTime::UNIX_EPOCH,
            dns: None,
            connect: None,
            tls: None,
            ttfb: Duration::ZERO,
            transfer: Duration::ZERO,
            total: Duration::ZERO,
        }
    }
}

impl Timings {
    /// Returns the time in no measured phase: waiting for an idle connection to be ready,
    /// building the request, a request sent again after a kept-alive connection closed.
    pub fn blocked(&self) -> Duration {
        let phases = [self.dns, self.connect, self.tls]
            .into_iter()
            .flatten()
            .sum::<Duration>()
            + self.ttfb
            + self.transfer;
        self.total.saturating_sub(phases)
    }
}

/// Returns a duration in milliseconds, rounded to the microsecond, as the reports write it.
pub fn millis(duration: Duration) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let micros = duration.as_micros().min(u128::from(u64::MAX)) as f64;
    micros / 1000.0
}

/// When a new connection's phases started and ended.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Connecting {
    /// When the connection was asked for.
    pub(super) start: Option<Instant>,
    /// How long the DNS lookup took, when there was one.
    pub(super) dns: Option<Duration>,
    /// When the TLS handshake started, when there was one.
    pub(super) tls_start: Option<Instant>,
    /// When the connection was ready.
    pub(super) end: Option<Instant>,
}

/// The instants one exchange passed through, turned into [`Timings`] at the end.
#[derive(Clone, Copy, Debug)]
pub(super) struct Marks {
    /// When the exchange started.
    pub(super) started: Instant,
    /// The same moment by the system's clock.
    pub(super) started_at: SystemTime,
    /// The new connection it opened, if it opened one.
    pub(super) connecting: Connecting,
    /// When the request was handed to the connection.
    pub(super) sent: Instant,
    /// When the response's head had come.
    pub(super) head: Instant,
}

impl Marks {
    /// Starts the marks of an exchange that starts now.
    pub(super) fn start(started: Instant) -> Marks {
        Marks {
            started,
            started_at: SystemTime::now(),
            connecting: Connecting::default(),
            sent: started,
            head: started,
        }
    }

    /// Returns the timings of an exchange whose body was read by `done`.
    pub(super) fn timings(&self, done: Instant) -> Timings {
        let c = &self.connecting;
        let (connect, tls) = match (c.start, c.end) {
            (Some(start), Some(end)) => {
                let tcp_end = c.tls_start.unwrap_or(end);
                let connect = tcp_end
                    .saturating_duration_since(start)
                    .saturating_sub(c.dns.unwrap_or_default());
                (
                    Some(connect),
                    c.tls_start.map(|t| end.saturating_duration_since(t)),
                )
            }
            _ => (None, None),
        };
        // With reqwest the connection opens inside `send()`: waiting starts once it is ready.
        let waiting_from = c.end.map_or(self.sent, |end| end.max(self.sent));
        Timings {
            started_at: self.started_at,
            dns: c.dns.filter(|_| connect.is_some()),
            connect,
            tls,
            ttfb: self.head.saturating_duration_since(waiting_from),
            transfer: done.saturating_duration_since(self.head),
            total: done.saturating_duration_since(self.started),
        }
    }
}

tokio::task_local! {
    /// The connection being opened for the request in flight on this task, if any.
    static CONNECTING: Cell<Connecting>;
}

/// Runs one reqwest request, returning what the hooks noted about a connection it opened.
pub(super) async fn observed<F: Future>(work: F) -> (F::Output, Connecting) {
    CONNECTING
        .scope(Cell::new(Connecting::default()), async {
            let output = work.await;
            (output, CONNECTING.with(Cell::get))
        })
        .await
}

/// Changes the marks of the connection being opened, when a request is in flight on this task
/// (a connection reqwest finishes in the background, for its pool, has no one to tell).
fn note(change: impl FnOnce(&mut Connecting)) {
    let _ = CONNECTING.try_with(|cell| {
        let mut marks = cell.get();
        change(&mut marks);
        cell.set(marks);
    });
}

/// Resolves host names as reqwest does by default (the system's resolver, off the runtime's
/// threads), timing the lookup.
#[derive(Clone, Copy, Debug)]
pub(super) struct Resolver;

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let started = Instant::now();
            let found = tokio::net::lookup_host((name.as_str(), 0)).await;
            note(|marks| marks.dns = Some(started.elapsed()));
            let addresses: reqwest::dns::Addrs = Box::new(found?.collect::<Vec<_>>().into_iter());
            Ok(addresses)
        })
    }
}

/// Wraps reqwest's connector to note when a connection starts and is ready.
#[derive(Clone, Copy, Debug)]
pub(super) struct ConnectLayer;

impl<S> tower_layer::Layer<S> for ConnectLayer {
    type Service = Connector<S>;

    fn layer(&self, inner: S) -> Connector<S> {
        Connector(inner)
    }
}

/// reqwest's connector, timed by [`ConnectLayer`].
#[derive(Clone, Debug)]
pub(super) struct Connector<S>(S);

impl<S, R> tower_service::Service<R> for Connector<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    // Boxed once per new connection, not per request.
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let connecting = self.0.call(request);
        Box::pin(async move {
            note(|marks| {
                *marks = Connecting {
                    start: Some(Instant::now()),
                    ..Connecting::default()
                };
            });
            let connected = connecting.await;
            note(|marks| marks.end = Some(Instant::now()));
            connected
        })
    }
}

/// rustls's session store, noting when a handshake starts: rustls looks for a ticket to resume
/// with as it builds its first message, just after the TCP connection opened.
#[derive(Debug)]
pub(super) struct Sessions(Arc<dyn ClientSessionStore>);

impl Sessions {
    /// Puts the store into a TLS configuration: rustls's default one (256 sessions in memory,
    /// TLS 1.2 resumed by session id or ticket), observed.
    pub(super) fn install(config: &mut rustls::ClientConfig) {
        let store = Arc::new(rustls::client::ClientSessionMemoryCache::new(256));
        config.resumption = rustls::client::Resumption::store(Arc::new(Sessions(store)));
    }
}

type Name<'a> = rustls::pki_types::ServerName<'a>;

impl ClientSessionStore for Sessions {
    fn set_kx_hint(&self, server_name: Name<'static>, group: rustls::NamedGroup) {
        self.0.set_kx_hint(server_name, group);
    }

    fn kx_hint(&self, server_name: &Name<'_>) -> Option<rustls::NamedGroup> {
        self.0.kx_hint(server_name)
    }

    fn set_tls12_session(
        &self,
        server_name: Name<'static>,
        value: rustls::client::Tls12ClientSessionValue,
    ) {
        self.0.set_tls12_session(server_name, value);
    }

    fn tls12_session(
        &self,
        server_name: &Name<'_>,
    ) -> Option<rustls::client::Tls12ClientSessionValue> {
        self.0.tls12_session(server_name)
    }

    fn remove_tls12_session(&self, server_name: &Name<'static>) {
        self.0.remove_tls12_session(server_name);
    }

    fn insert_tls13_ticket(
        &self,
        server_name: Name<'static>,
        value: rustls::client::Tls13ClientSessionValue,
    ) {
        self.0.insert_tls13_ticket(server_name, value);
    }

    fn take_tls13_ticket(
        &self,
        server_name: &Name<'static>,
    ) -> Option<rustls::client::Tls13ClientSessionValue> {
        note(|marks| {
            marks.tls_start.get_or_insert_with(Instant::now);
        });
        self.0.take_tls13_ticket(server_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_new_tls_connection_is_split_into_its_phases() {
        let t0 = Instant::now();
        let mut marks = Marks::start(t0);
        marks.connecting = Connecting {
            start: Some(t0 + ms(1)),
            dns: Some(ms(2)),
            tls_start: Some(t0 + ms(6)),
            end: Some(t0 + ms(10)),
        };
        // reqwest: the request is handed over before the connection opens.
        marks.sent = t0 + ms(1);
        marks.head = t0 + ms(15);
        let timings = marks.timings(t0 + ms(18));
        assert_eq!(timings.dns, Some(ms(2)));
        assert_eq!(timings.connect, Some(ms(3)));
        assert_eq!(timings.tls, Some(ms(4)));
        assert_eq!(timings.ttfb, ms(5));
        assert_eq!(timings.transfer, ms(3));
        assert_eq!(timings.total, ms(18));
        assert_eq!(timings.blocked(), ms(1));
    }

    #[test]
    fn a_reused_connection_has_no_connection_phases() {
        let t0 = Instant::now();
        let mut marks = Marks::start(t0);
        marks.sent = t0 + ms(1);
        marks.head = t0 + ms(4);
        let timings = marks.timings(t0 + ms(5));
        assert_eq!(
            (timings.dns, timings.connect, timings.tls),
            (None, None, None)
        );
        assert_eq!(timings.ttfb, ms(3));
        assert_eq!(timings.transfer, ms(1));
        assert_eq!(timings.blocked(), ms(1));
    }

    #[test]
    fn milliseconds_keep_microseconds() {
        assert!((millis(Duration::from_micros(1_234_567)) - 1234.567).abs() < 1e-9);
        assert!(millis(Duration::ZERO).abs() < f64::EPSILON);
    }
}
