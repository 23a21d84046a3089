//! A raw HTTP/1.1 server that keeps the exact bytes of every request it reads (request line,
//! headers in order and case as sent, body as framed) and answers each with what a script
//! returns: for tests that compare what two clients put on the wire.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One request as it arrived.
#[derive(Clone, PartialEq, Eq)]
pub struct Wire {
    /// Which connection it came on, from 0, in the order the server accepted them.
    pub connection: usize,
    /// The request line and headers, up to and including the blank line.
    pub head: Vec<u8>,
    /// The body as sent: `Content-Length` bytes, or every chunk with its framing.
    pub body: Vec<u8>,
}

impl Wire {
    /// Returns the request line and header lines, without line ends.
    fn lines(&self) -> impl Iterator<Item = &str> {
        std::str::from_utf8(&self.head)
            .unwrap_or_default()
            .split("\r\n")
            .filter(|line| !line.is_empty())
    }

    /// Returns the method.
    pub fn method(&self) -> &str {
        self.lines()
            .next()
            .and_then(|line| line.split(' ').next())
            .unwrap_or_default()
    }

    /// Returns the request target: the path and the query.
    pub fn target(&self) -> &str {
        self.lines()
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .unwrap_or_default()
    }

    /// Returns the path, without the query.
    pub fn path(&self) -> &str {
        let target = self.target();
        target.split_once('?').map_or(target, |(path, _)| path)
    }

    /// Returns the first value of a header, its name compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

impl std::fmt::Debug for Wire {
    /// Prints the bytes as text, a long body cut short, so that two requests can be compared
    /// by eye.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let mut body = text(&self.body);
        if body.len() > 200 {
            let cut = (0..=200)
                .rev()
                .find(|&i| body.is_char_boundary(i))
                .unwrap_or(0);
            body = format!("{}… ({} bytes)", &body[..cut], self.body.len());
        }
        f.debug_struct("Wire")
            .field("connection", &self.connection)
            .field("head", &text(&self.head))
            .field("body", &body)
            .finish()
    }
}

/// A scripted answer; `Content-Length` is added unless the answer sets it, is chunked or ends
/// with the connection.
#[derive(Clone, Debug)]
pub struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
    unframed: bool,
}

impl Answer {
    /// An empty answer with a status.
    pub fn status(status: u16) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            close: false,
            unframed: false,
        }
    }

    /// A `text/plain` answer.
    pub fn text(status: u16, text: &str) -> Answer {
        Answer::status(status)
            .header("Content-Type", "text/plain")
            .body(text.as_bytes())
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Answer {
        Answer::status(status).header("Location", location)
    }

    /// Adds a header, written as given (repeatable).
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Answer {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the body, sent as it is.
    #[must_use]
    pub fn body(mut self, body: &[u8]) -> Answer {
        body.clone_into(&mut self.body);
        self
    }

    /// Closes the connection after this answer.
    #[must_use]
    pub fn close(mut self) -> Answer {
        self.close = true;
        self
    }

    /// Sends the body without a length, ended by closing the connection.
    #[must_use]
    pub fn until_close(mut self) -> Answer {
        self.unframed = true;
        self.close = true;
        self
    }

    /// The answer's bytes; an answer to `HEAD` has the head only.
    fn to_bytes(&self, head_only: bool) -> Vec<u8> {
        let reason = axum::http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Whatever");
        let mut out = format!("HTTP/1.1 {} {reason}\r\n", self.status).into_bytes();
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        if !self.unframed && !has("content-length") && !has("transfer-encoding") {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !head_only {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

type Script = Arc<dyn Fn(&Wire) -> Answer + Send + Sync>;

/// A keep-alive HTTP/1.1 server on 127.0.0.1, on a port of its own, that records each
/// request's bytes and answers with a script. It stops when dropped.
pub struct WireServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    received: Arc<Mutex<Vec<Wire>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl WireServer {
    /// Starts a server that answers each request with `script`.
    pub fn start(script: impl Fn(&Wire) -> Answer + Send + Sync + 'static) -> WireServer {
        let script: Script = Arc::new(script);
        let received: Arc<Mutex<Vec<Wire>>> = Arc::default();
        let log = Arc::clone(&received);
        let (addr, stop) = super::spawn_server(move |listener| async move {
            let mut connection = 0;
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(
                    stream,
                    connection,
                    Arc::clone(&script),
                    Arc::clone(&log),
                ));
                connection += 1;
            }
        });
        WireServer {
            url: format!("http://{addr}"),
            received,
            stop: Some(stop),
        }
    }

    /// Takes every request received since the last call, in the order they arrived.
    pub fn take(&self) -> Vec<Wire> {
        std::mem::take(&mut *self.received.lock().expect("not poisoned"))
    }
}

impl Drop for WireServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads requests from one connection and answers each, until either side closes it.
async fn serve(
    mut stream: TcpStream,
    connection: usize,
    script: Script,
    log: Arc<Mutex<Vec<Wire>>>,
) {
    let mut buffer = Vec::new();
    while let Some((head, body)) = read_request(&mut stream, &mut buffer).await {
        let wire = Wire {
            connection,
            head,
            body,
        };
        let answer = script(&wire);
        let bytes = answer.to_bytes(wire.method() == "HEAD");
        log.lock().expect("not poisoned").push(wire);
        if stream.write_all(&bytes).await.is_err() || answer.close {
            return;
        }
    }
}

/// Reads more bytes into `buffer`; `None` when the connection closed.
async fn fill(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<()> {
    buffer.reserve(16 * 1024);
    match stream.read_buf(buffer).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(()),
    }
}

/// Takes the first `n` bytes of `buffer`, reading until there are that many.
async fn take_bytes(stream: &mut TcpStream, buffer: &mut Vec<u8>, n: usize) -> Option<Vec<u8>> {
    while buffer.len() < n {
        fill(stream, buffer).await?;
    }
    Some(buffer.drain(..n).collect())
}

/// Takes one line, its `\r\n` included.
async fn take_line(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some(end) = buffer.windows(2).position(|w| w == b"\r\n") {
            return Some(buffer.drain(..end + 2).collect());
        }
        fill(stream, buffer).await?;
    }
}

/// Reads one request: its head, then its body as `Content-Length` or chunked framing says.
async fn read_request(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let line = take_line(stream, buffer).await?;
        head.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let header = |name: &str| {
        text.split("\r\n")
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line = take_line(stream, buffer).await?;
            let size = std::str::from_utf8(&line).ok()?.trim_end();
            let size = size.split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(size, 16).ok()?;
            body.extend_from_slice(&line);
            if size == 0 {
                // Trailers, if any, then the blank line.
                loop {
                    let trailer = take_line(stream, buffer).await?;
                    body.extend_from_slice(&trailer);
                    if trailer == b"\r\n" {
                        return Some((head, body));
                    }
                }
            }
            body.extend(take_bytes(stream, buffer, size + 2).await?);
        }
    }
    let length = header("content-length").map_or(Some(0), |n| n.parse().ok())?;
    let body = take_bytes(stream, buffer, length).await?;
    Some((head, body))
}
