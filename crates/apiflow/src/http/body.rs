//! Request bodies: bytes held in memory, or a file or a `multipart/form-data` form whose files
//! are read as they go out, so that a large upload never sits in memory whole.
//!
//! A body is cheap to clone and is sent by making a fresh [`Stream`] from it, which opens its
//! files again: a redirect (307, 308) or a request sent once more after its connection closed
//! resends the same bytes. The length is known before sending (a file's size is read when the
//! request is built), so the request carries a `Content-Length` rather than chunks.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

/// How much of a file is read at a time.
const CHUNK: usize = 64 * 1024;

/// What a request sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Bytes held in memory: JSON, a form, a rendered template.
    Bytes(Bytes),
    /// A file's bytes as they are.
    File(FileRef),
    /// A `multipart/form-data` form.
    Multipart(Multipart),
}

/// A file to send, with the size it had when the request was built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// Where the file is read from.
    pub path: PathBuf,
    /// The path as the workflow wrote it, for reports.
    pub shown: String,
    /// Its size in bytes: exactly this many are sent.
    pub len: u64,
}

impl FileRef {
    /// Reads a file's size to send it later; the error is the system's, in words.
    pub fn new(path: PathBuf, shown: String) -> io::Result<FileRef> {
        let len = std::fs::metadata(&path)?.len();
        Ok(FileRef { path, shown, len })
    }
}

/// A `multipart/form-data` body (RFC 7578): its parts in order, between a boundary chosen at
/// random for each request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Multipart {
    boundary: String,
    parts: Vec<Part>,
}

/// One part of a multipart form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The field name; several parts may share one.
    pub name: String,
    /// The file name sent in `Content-Disposition`, for a file.
    pub filename: Option<String>,
    /// The part's `Content-Type`, for a file.
    pub content_type: Option<String>,
    /// What the part holds.
    pub content: Content,
}

/// What a multipart part holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Content {
    /// Text, sent as UTF-8.
    Text(String),
    /// A file's bytes.
    File(FileRef),
}

/// One stretch of a body: bytes, or a whole file.
#[derive(Clone, Debug)]
enum Piece {
    Bytes(Bytes),
    File(FileRef),
}

impl Body {
    /// Returns the number of bytes the body sends.
    pub fn len(&self) -> u64 {
        match self {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File(file) => file.len,
            Body::Multipart(form) => form.pieces().iter().map(Piece::len).sum(),
        }
    }

    /// Tells whether the body sends nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the bytes of a body held in memory.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Bytes(bytes) => Some(bytes),
            Body::File(_) | Body::Multipart(_) => None,
        }
    }

    /// Returns the body as reports show it: the bytes themselves, or, in place of each file's
    /// contents, a line naming the file and its size.
    pub fn shown(&self) -> std::borrow::Cow<'_, [u8]> {
        let mut out = Vec::new();
        let pieces = match self {
            Body::Bytes(bytes) => return std::borrow::Cow::Borrowed(bytes),
            Body::File(file) => vec![Piece::File(file.clone())],
            Body::Multipart(form) => form.pieces(),
        };
        for piece in pieces {
            match piece {
                Piece::Bytes(bytes) => out.extend_from_slice(&bytes),
                Piece::File(file) => {
                    out.extend_from_slice(
                        format!("<{} bytes from file `{}`>", file.len, file.shown).as_bytes(),
                    );
                }
            }
        }
        std::borrow::Cow::Owned(out)
    }

    /// Returns a stream that sends the body, reading its files from the start.
    pub(crate) fn stream(&self) -> Stream {
        let pieces = match self {
            Body::Bytes(bytes) => vec![Piece::Bytes(bytes.clone())],
            Body::File(file) => vec![Piece::File(file.clone())],
            Body::Multipart(form) => form.pieces(),
        };
        Stream::new(pieces)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Bytes(Bytes::from(bytes))
    }
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(bytes) => bytes.len() as u64,
            Piece::File(file) => file.len,
        }
    }
}

impl Multipart {
    /// Makes a form of these parts with a new random boundary.
    pub fn new(parts: Vec<Part>) -> Multipart {
        let mut random = [0u8; 16];
        // Without randomness (never seen on supported systems) the boundary is still valid; a
        // part that holds it would end the form early, which is what randomness guards against.
        let _ = getrandom::fill(&mut random);
        let mut boundary = String::from("------apiflow-");
        for byte in random {
            let _ = write!(boundary, "{byte:02x}");
        }
        Multipart { boundary, parts }
    }

    /// Returns the boundary between parts.
    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// Returns the parts in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Returns the `Content-Type` header value that names the boundary.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    /// Lays the form out as the bytes around each part and the part's content.
    fn pieces(&self) -> Vec<Piece> {
        let mut pieces = Vec::with_capacity(self.parts.len() * 2 + 1);
        for part in &self.parts {
            let mut head = format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{}\"",
                self.boundary,
                escape(&part.name)
            );
            if let Some(filename) = &part.filename {
                let _ = write!(head, "; filename=\"{}\"", escape(filename));
            }
            head.push_str("\r\n");
            if let Some(content_type) = &part.content_type {
                let _ = write!(head, "Content-Type: {content_type}\r\n");
            }
            head.push_str("\r\n");
            match &part.content {
                Content::Text(text) => {
                    head.push_str(text);
                    head.push_str("\r\n");
                    pieces.push(Piece::Bytes(Bytes::from(head)));
                }
                Content::File(file) => {
                    pieces.push(Piece::Bytes(Bytes::from(head)));
                    pieces.push(Piece::File(file.clone()));
                    pieces.push(Piece::Bytes(Bytes::from_static(b"\r\n")));
                }
            }
        }
        pieces.push(Piece::Bytes(Bytes::from(format!(
            "--{}--\r\n",
            self.boundary
        ))));
        // Adjacent bytes go out as one frame.
        let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match (merged.last_mut(), piece) {
                (Some(Piece::Bytes(last)), Piece::Bytes(bytes)) => {
                    let mut joined = BytesMut::from(&last[..]);
                    joined.extend_from_slice(&bytes);
                    *last = joined.freeze();
                }
                (_, piece) => merged.push(piece),
            }
        }
        merged
    }
}

/// Guesses a file's media type from its extension; `application/octet-stream` when unknown.
pub fn guess_content_type(path: &str) -> &'static str {
    let extension = std::path::Path::new(path)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "txt" | "text" | "log" => "text/plain",
        "htm" | "html" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "md" => "text/markdown",
        "js" | "mjs" => "text/javascript",
        "json" => "application/json",
        "xml" => "application/xml",
        "yaml" | "yml" => "application/yaml",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "wasm" => "application/wasm",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "ico" => "image/vnd.microsoft.icon",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        _ => "application/octet-stream",
    }
}

/// Escapes a name or file name inside a quoted `Content-Disposition` parameter as browsers do
/// (the HTML standard's multipart/form-data encoding): `"`, CR and LF percent-encoded.
fn escape(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A body on its way out: nothing, or its pieces in order, the file being read, and how many
/// bytes are left.
///
/// One pointer wide: hyper's channel to each connection holds requests in blocks of 32, two
/// blocks per connection, so every byte here is 64 bytes of every open connection, used or not.
pub(crate) struct Stream(Option<Box<Sending>>);

/// What a non-empty [`Stream`] has left to send.
struct Sending {
    pieces: VecDeque<Piece>,
    reading: Option<Reading>,
    remaining: u64,
}

/// The file a [`Stream`] is reading.
struct Reading {
    file: tokio::fs::File,
    shown: String,
    left: u64,
    buffer: Vec<u8>,
}

impl Stream {
    /// Returns a stream that sends nothing.
    pub(crate) fn empty() -> Stream {
        Stream(None)
    }

    fn new(pieces: Vec<Piece>) -> Stream {
        let remaining = pieces.iter().map(Piece::len).sum();
        if remaining == 0 {
            return Stream::empty();
        }
        Stream(Some(Box::new(Sending {
            pieces: pieces.into_iter().filter(|p| p.len() > 0).collect(),
            reading: None,
            remaining,
        })))
    }
}

impl http_body::Body for Stream {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let Some(this) = self.0.as_deref_mut() else {
            return Poll::Ready(None);
        };
        loop {
            if let Some(reading) = &mut this.reading {
                if reading.left == 0 {
                    this.reading = None;
                    continue;
                }
                let want = usize::try_from(reading.left).unwrap_or(CHUNK).min(CHUNK);
                reading.buffer.resize(want, 0);
                let mut buf = ReadBuf::new(&mut reading.buffer);
                match Pin::new(&mut reading.file).poll_read(cx, &mut buf) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Err(error)) => {
                        let shown = reading.shown.clone();
                        this.reading = None;
                        return Poll::Ready(Some(Err(io::Error::new(
                            error.kind(),
                            format!("cannot read `{shown}`: {error}"),
                        ))));
                    }
                    Poll::Ready(Ok(())) => {
                        let read = buf.filled().len();
                        if read == 0 {
                            let shown = reading.shown.clone();
                            this.reading = None;
                            return Poll::Ready(Some(Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!("`{shown}` became shorter while it was being sent"),
                            ))));
                        }
                        let chunk = Bytes::copy_from_slice(&buf.filled()[..read]);
                        reading.left -= read as u64;
                        this.remaining -= read as u64;
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                }
            }
            match this.pieces.pop_front() {
                None => return Poll::Ready(None),
                Some(Piece::Bytes(bytes)) => {
                    this.remaining -= bytes.len() as u64;
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                Some(Piece::File(file)) => match std::fs::File::open(&file.path) {
                    Ok(opened) => {
                        this.reading = Some(Reading {
                            file: tokio::fs::File::from_std(opened),
                            shown: file.shown,
                            left: file.len,
                            buffer: Vec::new(),
                        });
                    }
                    Err(error) => {
                        return Poll::Ready(Some(Err(io::Error::new(
                            error.kind(),
                            format!("cannot open `{}`: {error}", file.shown),
                        ))));
                    }
                },
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.as_ref().is_none_or(|p| p.remaining == 0)
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.as_ref().map_or(0, |p| p.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use http_body_util::BodyExt;

    #[test]
    fn a_stream_is_one_pointer_wide() {
        // Each open connection holds 64 of them in hyper's channel, whether used or not.
        assert_eq!(std::mem::size_of::<Stream>(), std::mem::size_of::<usize>());
    }

    fn collect(body: &Body) -> io::Result<Vec<u8>> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let collected = body.stream().collect().await?;
            Ok(collected.to_bytes().to_vec())
        })
    }

    #[test]
    fn a_multipart_form_is_laid_out_as_rfc_7578_says() {
        let dir = std::env::temp_dir().join(format!("apiflow-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        std::fs::write(&path, b"file\r\nbytes").unwrap();
        let file = FileRef::new(path, "a.txt".into()).unwrap();
        let mut form = Multipart::new(vec![
            Part {
                name: "say \"hi\"".into(),
                filename: None,
                content_type: None,
                content: Content::Text("hello".into()),
            },
            Part {
                name: "upload".into(),
                filename: Some("a.txt".into()),
                content_type: Some("text/plain".into()),
                content: Content::File(file),
            },
        ]);
        form.boundary = "XyZ".into();
        let body = Body::Multipart(form);
        let expected = "--XyZ\r\nContent-Disposition: form-data; name=\"say %22hi%22\"\r\n\r\n\
            hello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"upload\"; \
            filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\nbytes\r\n--XyZ--\r\n";
        assert_eq!(
            String::from_utf8(collect(&body).unwrap()).unwrap(),
            expected
        );
        assert_eq!(body.len(), expected.len() as u64);
        assert_eq!(
            body.stream().size_hint().exact(),
            Some(expected.len() as u64)
        );
        let shown = String::from_utf8(body.shown().into_owned()).unwrap();
        assert!(
            shown.contains("\r\n<11 bytes from file `a.txt`>\r\n--XyZ--"),
            "{shown}"
        );
        // Sent again, the file is read again.
        assert_eq!(collect(&body).unwrap().len(), expected.len());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_that_shrinks_or_vanishes_is_an_error_not_a_short_body() {
        let dir = std::env::temp_dir().join(format!("apiflow-shrink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("b.bin");
        std::fs::write(&path, vec![7u8; 200_000]).unwrap();
        let body = Body::File(FileRef::new(path.clone(), "b.bin".into()).unwrap());
        assert_eq!(collect(&body).unwrap(), vec![7u8; 200_000]);
        std::fs::write(&path, b"short").unwrap();
        let error = collect(&body).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`b.bin` became shorter while it was being sent"
        );
        std::fs::remove_file(&path).unwrap();
        let error = collect(&body).unwrap_err();
        assert!(
            error.to_string().starts_with("cannot open `b.bin`: "),
            "{error}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bytes_and_empty_bodies_stream_as_they_are() {
        let body = Body::from(b"abc".to_vec());
        assert_eq!(collect(&body).unwrap(), b"abc");
        let empty = Body::from(Vec::new());
        assert!(empty.stream().is_end_stream());
        assert_eq!(empty.shown().as_ref(), b"");
    }
}
