//! The two HTTP stacks side by side: every case's workflow runs once through reqwest (the
//! reference) and once through the plain-`http://` path, against a raw server that keeps the
//! bytes of each request; both runs must put the same bytes on the wire and see the same
//! answers (statuses, headers, bodies once decoded, captures, checks). A deliberate difference,
//! one of those `http/plain.rs` lists, is written into its case as what it changes.

use crate::support;

use std::fmt::Write as _;
use std::io::Write as _;

use apiflow::check::inputs::InputSources;
use apiflow::http::{ClientOptions, Stack};
use apiflow::report::event::{RunReport, StepReport};
use support::wire::{Answer, Wire, WireServer};

/// One workflow, the script the server answers it with, and the inputs it gets.
struct Case {
    name: &'static str,
    /// A workflow whose inputs include `base_url`.
    yaml: &'static str,
    /// The inputs other than `base_url`, made from the server's URL.
    inputs: fn(&str) -> Vec<(&'static str, String)>,
    /// The server's answer to each request.
    script: fn(&Wire) -> Answer,
    /// A deliberate difference, documented in `http/plain.rs`: turns what reqwest sent into
    /// what the plain path sends, and fails when reqwest no longer sends what it describes.
    differs: Option<fn(&mut [Wire])>,
}

fn no_inputs(_: &str) -> Vec<(&'static str, String)> {
    Vec::new()
}

fn ok(_: &Wire) -> Answer {
    Answer::text(200, "ok")
}

const BODIES: &str = r#"
name: bodies
inputs:
  base_url:
steps:
  - name: json
    request:
      method: POST
      url: "{{ base_url }}/json"
      json: { text: "é ü \" \\ / <>", n: 1.5, list: [1, null, true], nested: { a: {} } }
  - name: json list with put
    request: { method: PUT, url: "{{ base_url }}/json", json: [1, "two"] }
  - name: json with its own content type
    request:
      method: PATCH
      url: "{{ base_url }}/json"
      headers: { Content-Type: application/merge-patch+json }
      json: { label: null }
  - name: form
    request:
      method: POST
      url: "{{ base_url }}/form"
      form: { a: "x y", b: "a&b=c/é+%", empty: "", "key with space": "1" }
  - name: text with a content type
    request:
      method: PATCH
      url: "{{ base_url }}/text"
      headers: { Content-Type: text/plain; charset=utf-8 }
      body: "line 1\nline 2\n"
  - name: text without a content type
    request: { method: POST, url: "{{ base_url }}/text", body: "raw" }
  - name: empty text
    request: { method: POST, url: "{{ base_url }}/empty", body: "" }
  - name: no body
    request: { method: POST, url: "{{ base_url }}/none" }
  - name: delete
    request: { method: DELETE, url: "{{ base_url }}/none" }
  - name: delete with a body
    request: { method: DELETE, url: "{{ base_url }}/json", json: { id: 1 } }
  - name: options
    request: { method: OPTIONS, url: "{{ base_url }}/none" }
  - name: get with a body
    request: { method: GET, url: "{{ base_url }}/text", body: "x" }
"#;

const FORM_FROM: &str = r#"
name: form from a page
inputs:
  base_url:
steps:
  - name: page
    request: { url: "{{ base_url }}/pages/login" }
  - name: submit
    request:
      form_from: { step: page, selector: "form#login", fields: { user: "ann é" } }
  - name: search
    request:
      form_from: { step: page, selector: "form#search", fields: { q: "a b" } }
"#;

fn form_page(wire: &Wire) -> Answer {
    match wire.path() {
        "/pages/login" => Answer::status(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(
                br#"<html><body>
                <form id="login" method="post" action="../session?next=%2Fhome">
                  <input type="hidden" name="csrf" value="t&amp;k">
                  <input name="user"><input type="password" name="pass" value="p w">
                </form>
                <form id="search" action="/search"><input name="q"><input name="page" value="2"></form>
                </body></html>"#,
            ),
        _ => ok(wire),
    }
}

const HEADERS: &str = r#"
name: headers
inputs:
  base_url:
defaults:
  headers: { X-Default: d, X-Dup: from-defaults, Accept: application/json }
steps:
  - name: set by the workflow
    request:
      url: "{{ base_url }}/h"
      headers:
        X-Lower: a
        X-UPPER: B
        x-dup: from-step
        X-Empty: ""
        X-Padded: "  padded  "
        X-Utf8: "é"
        X-List: "a, b,c"
  - name: the same name twice in one step
    request:
      url: "{{ base_url }}/h"
      headers: { X-Twice: first, x-twice: second, X-TWICE: third }
  - name: defaults a client would add
    request:
      url: "{{ base_url }}/h"
      headers:
        User-Agent: mine/1
        Accept: text/html
        Accept-Encoding: identity
        Host: example.test
  - name: connection close
    request:
      url: "{{ base_url }}/h"
      headers: { Connection: close }
  - name: after the close
    request: { url: "{{ base_url }}/h" }
"#;

const AUTH: &str = r#"
name: auth
inputs:
  base_url:
  ann_url:
  user_only_url:
  password_only_url:
  undecodable_password_url:
  undecodable_user_url:
steps:
  - name: basic
    request:
      url: "{{ base_url }}/a"
      auth: { basic: { username: "ann é", password: "s3cr3t:pa ss" } }
  - name: basic without a password
    request:
      url: "{{ base_url }}/a"
      auth: { basic: { username: ann, password: "" } }
  - name: bearer
    request: { url: "{{ base_url }}/a", auth: { bearer: tok.en-1 } }
  - name: own authorization header
    request: { url: "{{ base_url }}/a", headers: { Authorization: Custom x } }
  - name: credentials in the url
    request: { url: "{{ ann_url }}/a" }
  - name: credentials in the url and auth
    request: { url: "{{ ann_url }}/a", auth: { bearer: wins } }
  - name: a user only
    request: { url: "{{ user_only_url }}/a" }
  - name: a password only
    request: { url: "{{ password_only_url }}/a" }
  - name: a password that is not utf-8
    request: { url: "{{ undecodable_password_url }}/a" }
  - name: a user that is not utf-8
    request: { url: "{{ undecodable_user_url }}/a" }
"#;

fn auth_inputs(url: &str) -> Vec<(&'static str, String)> {
    let with = |userinfo: &str| url.replace("http://", &format!("http://{userinfo}@"));
    vec![
        ("ann_url", with("ann:p%40ss%20w")),
        ("user_only_url", with("ann")),
        ("password_only_url", with(":pw")),
        ("undecodable_password_url", with("ann:%FF")),
        ("undecodable_user_url", with("%FF:pw")),
    ]
}

/// A URL whose user is not UTF-8 (the last request of the `auth` case) is sent without
/// credentials by both stacks, but reqwest then leaves the user information in the URL, and its
/// pool, which keys connections by the URL's authority, opens a new connection for it; the
/// plain path keys them by host and port and reuses the open one.
fn undecodable_user_on_a_connection_of_its_own(wire: &mut [Wire]) {
    let [.., previous, last] = wire else {
        panic!("the `auth` case sends several requests");
    };
    assert_eq!(
        last.connection,
        previous.connection + 1,
        "reqwest no longer opens a connection for a URL whose user is not UTF-8: {last:#?}"
    );
    last.connection = previous.connection;
}

const COOKIES: &str = r#"
name: cookies
inputs:
  base_url:
steps:
  - name: log in
    request: { url: "{{ base_url }}/a/login" }
    extract:
      sid: { cookie: sid }
  - name: inside the path
    request: { url: "{{ base_url }}/a/x" }
  - name: outside the path
    request: { url: "{{ base_url }}/b" }
  - name: across redirects
    request: { url: "{{ base_url }}/hop/1", follow_redirects: true }
    extract:
      last: { cookie: hop2 }
  - name: after the redirects
    request: { url: "{{ base_url }}/hop/end" }
"#;

fn cookies(wire: &Wire) -> Answer {
    match wire.path() {
        "/a/login" => Answer::status(204)
            .header("Set-Cookie", "sid=abc123; Path=/")
            .header("set-cookie", "theme=dark; Path=/a")
            .header("Set-Cookie", "gone=x; Max-Age=0")
            .header("SET-COOKIE", "secret=1; HttpOnly; SameSite=Strict")
            .header("Set-Cookie", "stolen=1; Domain=evil.example; Path=/")
            .header("Set-Cookie", "quoted=\"a b\"; Path=/"),
        "/hop/1" => Answer::redirect(302, "2").header("Set-Cookie", "hop1=one; Path=/hop"),
        "/hop/2" => Answer::redirect(307, "/hop/end").header("Set-Cookie", "hop2=two; Path=/"),
        _ => ok(wire),
    }
}

const REDIRECTS: &str = r#"
name: redirects
inputs:
  base_url:
steps:
  - name: not followed
    request: { method: POST, url: "{{ base_url }}/r/301", json: { a: 1 } }
    expect: { status: 301 }
  - name: post 301 to a relative path
    request: { method: POST, url: "{{ base_url }}/r/301", json: { a: 1 }, follow_redirects: true }
  - name: post 302 to an absolute path
    request: { method: POST, url: "{{ base_url }}/r/302", form: { a: "1" }, follow_redirects: true }
  - name: post 303 to a query
    request: { method: POST, url: "{{ base_url }}/r/303", body: text, follow_redirects: true }
  - name: post 307 up a directory
    request: { method: POST, url: "{{ base_url }}/r/307", json: { a: 1 }, follow_redirects: true }
  - name: post 308 to an absolute url
    request: { method: POST, url: "{{ base_url }}/r/308", json: { a: 1 }, follow_redirects: true }
  - name: put 301 keeps the body
    request: { method: PUT, url: "{{ base_url }}/r/301", json: { a: 1 }, follow_redirects: true }
  - name: put 303 drops it
    request: { method: PUT, url: "{{ base_url }}/r/303", json: { a: 1 }, follow_redirects: true }
  - name: head 303 stays a head
    request: { method: HEAD, url: "{{ base_url }}/r/303", follow_redirects: true }
  - name: scheme-relative
    request: { url: "{{ base_url }}/r/scheme-relative", follow_redirects: true }
  - name: a chain with auth and headers
    request:
      url: "{{ base_url }}/r/chain/1"
      auth: { bearer: same-origin }
      headers: { X-Kept: yes }
      follow_redirects: true
  - name: to another origin
    request:
      url: "{{ base_url }}/r/cross"
      auth: { bearer: for-this-origin-only }
      headers: { X-Kept: yes }
      follow_redirects: true
  - name: stop at
    request:
      url: "{{ base_url }}/r/chain/1"
      follow_redirects: true
      stop_at: "{{ base_url }}/r/chain/3"
"#;

fn redirects(wire: &Wire) -> Answer {
    let host = wire.header("host").unwrap_or_default().to_owned();
    match wire.target() {
        "/r/301" => Answer::redirect(301, "target"),
        "/r/302" => Answer::redirect(302, "/elsewhere/302"),
        "/r/303" => Answer::redirect(303, "?from=303&x=a%20b"),
        "/r/307" => Answer::redirect(307, "../up/307"),
        "/r/308" => Answer::redirect(308, &format!("http://{host}/abs/308")),
        "/r/scheme-relative" => Answer::redirect(302, &format!("//{host}/sr")),
        // The same server under another name is another origin.
        "/r/cross" => {
            let port = host.rsplit(':').next().unwrap_or_default();
            Answer::redirect(302, &format!("http://localhost:{port}/landed"))
                .header("Set-Cookie", "here=1; Path=/")
        }
        "/r/chain/1" => Answer::redirect(302, "/r/chain/2").body(b"moved"),
        "/r/chain/2" => Answer::redirect(301, "3"),
        "/r/chain/3" => Answer::redirect(308, "/r/chain/end"),
        _ => ok(wire),
    }
}

const COMPRESSION: &str = r#"
name: compression
inputs:
  base_url:
steps:
  - name: gzip
    request: { url: "{{ base_url }}/gzip" }
    expect: { json: { "$.value": "compressed é" } }
    extract:
      length: { header: Content-Length, default: none }
      encoding: { header: Content-Encoding, default: none }
      body: { body: true }
  - name: br
    request: { url: "{{ base_url }}/br" }
    expect: { json: { "$.value": "compressed é" } }
    extract:
      encoding: { header: Content-Encoding, default: none }
  - name: deflate
    request: { url: "{{ base_url }}/deflate" }
    expect: { json: { "$.value": "compressed é" } }
  - name: gzip chunked
    request: { url: "{{ base_url }}/gzip-chunked" }
    expect: { json: { "$.value": "compressed é" } }
  - name: gzip written in capitals, which neither decodes
    request: { url: "{{ base_url }}/GZIP" }
    extract:
      length: { expr: "body | length" }
  - name: identity
    request: { url: "{{ base_url }}/identity" }
    expect: { json: { "$.value": "compressed é" } }
  - name: an encoding neither decodes
    request: { url: "{{ base_url }}/zstd" }
    extract:
      raw: { body: true }
  - name: gzip when asked for gzip only
    request: { url: "{{ base_url }}/gzip", headers: { Accept-Encoding: gzip } }
    expect: { json: { "$.value": "compressed é" } }
  - name: head of a gzip body
    request: { method: HEAD, url: "{{ base_url }}/gzip" }
    extract:
      encoding: { header: Content-Encoding, default: none }
  - name: no content with gzip
    request: { url: "{{ base_url }}/gzip-204" }
"#;

/// The JSON the compression cases decode.
const COMPRESSED: &[u8] = "{\"value\": \"compressed é\"}".as_bytes();

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("compressed");
    encoder.finish().expect("compressed")
}

/// HTTP's `deflate`: zlib's format (RFC 1950).
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("compressed");
    encoder.finish().expect("compressed")
}

/// A brotli stream (RFC 7932) of one uncompressed meta-block holding `data` (1 byte to
/// 64 KiB): valid for any decoder, and written by hand since no brotli encoder is a
/// dependency here.
fn brotli(data: &[u8]) -> Vec<u8> {
    // Bits, lowest first: WBITS 16 (`0`), ISLAST `0`, MNIBBLES 4 (`00`), MLEN - 1 in 16 bits,
    // ISUNCOMPRESSED `1`, then zeros to the byte boundary.
    let length = u32::try_from(data.len() - 1).expect("a short block");
    assert!(length < 1 << 16, "a short block");
    let header = (length << 4) | (1 << 20);
    let mut out = header.to_le_bytes()[..3].to_vec();
    out.extend_from_slice(data);
    // An empty last meta-block: ISLAST `1`, ISLASTEMPTY `1`.
    out.push(0b11);
    out
}

fn compressed(wire: &Wire) -> Answer {
    let json = |encoding: &str, body: &[u8]| {
        Answer::status(200)
            .header("Content-Type", "application/json")
            .header("Content-Encoding", encoding)
            .body(body)
    };
    match wire.path() {
        "/gzip" => json("gzip", &gzip(COMPRESSED)),
        "/br" => json("br", &brotli(COMPRESSED)),
        "/deflate" => json("deflate", &deflate(COMPRESSED)),
        "/GZIP" => json("GZIP", &gzip(COMPRESSED)),
        "/identity" => json("identity", COMPRESSED),
        "/zstd" => json("zstd", b"not really zstd"),
        "/gzip-chunked" => {
            let body = gzip(COMPRESSED);
            let (first, second) = body.split_at(body.len() / 2);
            let mut chunked = Vec::new();
            for piece in [first, second] {
                chunked.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                chunked.extend_from_slice(piece);
                chunked.extend_from_slice(b"\r\n");
            }
            chunked.extend_from_slice(b"0\r\n\r\n");
            json("gzip", &chunked).header("Transfer-Encoding", "chunked")
        }
        "/gzip-204" => Answer::status(204)
            .header("Content-Encoding", "gzip")
            .header("Content-Length", "0"),
        _ => ok(wire),
    }
}

const QUERY: &str = r#"
name: query strings
inputs:
  base_url:
steps:
  - name: appended to a query
    request:
      url: "{{ base_url }}/search?fixed=1&b=x%20y"
      query:
        q: "a b&c=d"
        u: "é/?#"
        plus: "1+1"
        pct: "100%"
        empty: ""
  - name: only the query key
    request:
      url: "{{ base_url }}/search"
      query: { "a key": "[v]" }
  - name: written in the url
    request: { url: "{{ base_url }}/pa th/é/{x}|y^?q=a b&r=\"'<>`{}|#fragment" }
  - name: an empty query
    request: { url: "{{ base_url }}/search?" }
  - name: a path with dot segments
    request: { url: "{{ base_url }}/a/./b/../c?x=/../" }
"#;

const CONNECTIONS: &str = r#"
name: connections
inputs:
  base_url:
steps:
  - name: the root, with no path
    request: { url: "{{ base_url }}" }
  - name: the server closes after answering
    request: { url: "{{ base_url }}/close" }
  - name: on a new connection
    request: { method: TRACE, url: "{{ base_url }}/c" }
  - name: a body that ends when the connection does
    request: { url: "{{ base_url }}/eof" }
    extract:
      body: { body: true }
  - name: on a new connection again
    request: { url: "{{ base_url }}/c" }
  - name: my own content length
    request:
      method: POST
      url: "{{ base_url }}/c"
      headers: { Content-Length: "3" }
      body: abc
  - name: my own chunked framing
    request:
      method: POST
      url: "{{ base_url }}/c"
      headers: { Transfer-Encoding: chunked }
      body: abc
"#;

fn connections(wire: &Wire) -> Answer {
    match wire.path() {
        "/close" => Answer::text(200, "bye")
            .header("Connection", "close")
            .close(),
        "/eof" => Answer::text(200, "until the end").until_close(),
        _ => ok(wire),
    }
}

const HEAD: &str = r#"
name: head
inputs:
  base_url:
steps:
  - name: head
    request: { method: HEAD, url: "{{ base_url }}/doc" }
    expect: { status: 200, headers: { Content-Length: "1000" } }
    extract:
      body: { body: true }
  - name: get after a head on the same connection
    request: { url: "{{ base_url }}/small" }
    expect: { status: 200 }
"#;

fn head(wire: &Wire) -> Answer {
    match wire.path() {
        "/doc" => Answer::status(200)
            .header("Content-Type", "text/plain")
            .header("Content-Length", "1000"),
        _ => ok(wire),
    }
}

const LARGE: &str = r#"
name: large
inputs:
  base_url:
  big:
steps:
  - name: a large body both ways
    request:
      method: POST
      url: "{{ base_url }}/large"
      headers: { Content-Type: application/octet-stream }
      body: "{{ big }}"
    extract:
      size: { expr: "body | length" }
  - name: a large json body
    request:
      method: PUT
      url: "{{ base_url }}/large"
      json: { big: "{{ big }}" }
"#;

/// A little over 1 MiB, in numbered lines, so that a difference shows where it is.
fn large_inputs(_: &str) -> Vec<(&'static str, String)> {
    let big = (0..21_000).fold(String::new(), |mut text, n| {
        let _ = writeln!(text, "line {n:08} of a large body");
        text
    });
    vec![("big", big)]
}

fn large(wire: &Wire) -> Answer {
    match wire.path() {
        "/large" => Answer::status(200)
            .header("Content-Type", "text/plain")
            .body(&vec![b'z'; 2 << 20]),
        _ => ok(wire),
    }
}

const UPLOADS: &str = r#"
name: uploads
inputs:
  base_url:
vars:
  who: files
  items: [1, 2, 3]
steps:
  - name: multipart
    request:
      method: POST
      url: "{{ base_url }}/multipart"
      multipart:
        - title: "a \"quoted\" {{ who }}"
        - tag: one
        - tag: two
        - upload: { file: tests/fixtures/files/upload.txt }
        - data:
            file: tests/fixtures/files/data.bin
            filename: renamed.bin
            content_type: application/x-thing
  - name: file body
    request:
      method: PUT
      url: "{{ base_url }}/file"
      body: { file: tests/fixtures/files/data.bin }
  - name: template body
    request:
      method: POST
      url: "{{ base_url }}/template"
      body: { template: tests/fixtures/files/greeting.json.j2, content_type: application/json }
  - name: upload redirected with 307
    request:
      method: POST
      url: "{{ base_url }}/temporary"
      follow_redirects: true
      multipart:
        upload: { file: tests/fixtures/files/upload.txt }
  - name: file redirected with 308
    request:
      method: PUT
      url: "{{ base_url }}/permanent"
      follow_redirects: true
      body: { file: tests/fixtures/files/upload.txt }
"#;

fn uploads(wire: &Wire) -> Answer {
    match wire.path() {
        "/temporary" => Answer::redirect(307, "/final"),
        "/permanent" => Answer::redirect(308, "/final"),
        _ => Answer::text(200, "ok"),
    }
}

const CASES: &[Case] = &[
    Case {
        name: "bodies",
        yaml: BODIES,
        inputs: no_inputs,
        script: ok,
        differs: None,
    },
    Case {
        name: "form from a page",
        yaml: FORM_FROM,
        inputs: no_inputs,
        script: form_page,
        differs: None,
    },
    Case {
        name: "headers",
        yaml: HEADERS,
        inputs: no_inputs,
        script: ok,
        differs: None,
    },
    Case {
        name: "auth",
        yaml: AUTH,
        inputs: auth_inputs,
        script: ok,
        differs: Some(undecodable_user_on_a_connection_of_its_own),
    },
    Case {
        name: "cookies",
        yaml: COOKIES,
        inputs: no_inputs,
        script: cookies,
        differs: None,
    },
    Case {
        name: "redirects",
        yaml: REDIRECTS,
        inputs: no_inputs,
        script: redirects,
        differs: None,
    },
    Case {
        name: "compression",
        yaml: COMPRESSION,
        inputs: no_inputs,
        script: compressed,
        differs: None,
    },
    Case {
        name: "query strings",
        yaml: QUERY,
        inputs: no_inputs,
        script: ok,
        differs: None,
    },
    Case {
        name: "connections",
        yaml: CONNECTIONS,
        inputs: no_inputs,
        script: connections,
        differs: None,
    },
    Case {
        name: "head",
        yaml: HEAD,
        inputs: no_inputs,
        script: head,
        differs: None,
    },
    Case {
        name: "uploads",
        yaml: UPLOADS,
        inputs: no_inputs,
        script: uploads,
        differs: None,
    },
    Case {
        name: "large",
        yaml: LARGE,
        inputs: large_inputs,
        script: large,
        differs: None,
    },
];

/// What one stack sent and what the workflow made of the answers.
struct Sent {
    /// Each request's bytes, connections numbered from 0 in the order this run opened them.
    wire: Vec<Wire>,
    /// The run as the workflow saw it.
    seen: String,
    exit: i32,
}

async fn send(case: &Case, server: &WireServer, stack: Stack) -> Sent {
    let source = apiflow::Source::new(format!("{}.yaml", case.name), case.yaml);
    let plan = apiflow::check_source(&source)
        .unwrap_or_else(|d| panic!("case `{}`:\n{}", case.name, support::render(&d)));
    let mut vars = vec![("base_url".to_owned(), server.url.clone())];
    vars.extend(
        (case.inputs)(&server.url)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value)),
    );
    let sources = InputSources {
        vars,
        ..InputSources::default()
    };
    let inputs = apiflow::check::inputs::resolve(&plan, &sources, &|_| None)
        .unwrap_or_else(|d| panic!("case `{}`:\n{}", case.name, support::render(&d)));
    let options = ClientOptions {
        stack,
        ..ClientOptions::default()
    };
    let client = apiflow::http::Client::new(&options).expect("an HTTP client");
    let report = apiflow::runner::run(
        &plan,
        &client,
        inputs,
        &apiflow::runner::Settings::default(),
        &mut apiflow::report::event::Silent,
    )
    .await
    .unwrap_or_else(|d| panic!("case `{}`:\n{}", case.name, support::render(&d)));
    let mut wire = server.take();
    let mut opened = Vec::new();
    for request in &mut wire {
        request.head = support::unboundary_bytes(&sort_cookies(&request.head));
        request.body = support::unboundary_bytes(&request.body);
        let number = opened
            .iter()
            .position(|&c| c == request.connection)
            .unwrap_or_else(|| {
                opened.push(request.connection);
                opened.len() - 1
            });
        request.connection = number;
    }
    Sent {
        wire,
        seen: support::unboundary(&seen(&report)),
        exit: report.exit_code().code(),
    }
}

/// Sorts the cookies of a request head's `cookie` line. The jar, which both stacks share, lists
/// them in the order of its hash maps, which changes from one jar to the next.
fn sort_cookies(head: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(head);
    let lines: Vec<String> = text
        .split("\r\n")
        .map(|line| match line.strip_prefix("cookie: ") {
            Some(cookies) => format!("cookie: {}", sorted(cookies)),
            None => line.to_owned(),
        })
        .collect();
    lines.join("\r\n").into_bytes()
}

fn sorted(cookies: &str) -> String {
    let mut pairs: Vec<&str> = cookies.split("; ").collect();
    pairs.sort_unstable();
    pairs.join("; ")
}

/// Writes down what a run saw: each step's outcome, failures, captures and checks, and each
/// exchange's request and response as the engine holds them.
fn seen(report: &RunReport) -> String {
    let mut out = String::new();
    for step in &report.steps {
        seen_step(&mut out, step);
    }
    out
}

fn seen_step(out: &mut String, step: &StepReport) {
    let _ = writeln!(
        out,
        "step `{}`: {:?} after {} attempt(s)",
        step.name, step.outcome, step.attempts
    );
    for failure in &step.failures {
        let _ = writeln!(out, "  failure: {}", failure.render(false));
    }
    for capture in &step.captures {
        let mut value = capture.value.to_string();
        if value.len() > 200 {
            value = format!("{} bytes of JSON", value.len());
        }
        let _ = writeln!(out, "  capture {} = {value}", capture.name);
    }
    for check in &step.checks {
        let _ = writeln!(out, "  check {}: {}", check.what, check.passed);
    }
    for exchange in &step.exchanges {
        let (request, response) = (&exchange.request, &exchange.response);
        let _ = writeln!(out, "  > {} {}", request.method, request.url);
        for (name, value) in &request.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            let value = if name == "cookie" {
                sorted(&value)
            } else {
                value.into_owned()
            };
            let _ = writeln!(out, "  > {name}: {value:?}");
        }
        let _ = writeln!(
            out,
            "  > body of {:?} bytes",
            request.body.as_ref().map(apiflow::http::body::Body::len)
        );
        let _ = writeln!(out, "  < {}", response.status);
        for (name, value) in &response.headers {
            let _ = writeln!(out, "  < {name}: {value:?}");
        }
        let body = String::from_utf8_lossy(&response.body);
        let _ = writeln!(
            out,
            "  < body of {} bytes: {:?}",
            response.body.len(),
            body.chars().take(100).collect::<String>()
        );
    }
    for child in &step.children {
        seen_step(out, child);
    }
}

#[tokio::test]
async fn both_stacks_send_the_same_bytes_and_see_the_same_answers() {
    let mut differences = Vec::new();
    for case in CASES {
        // One server for both runs, so that `Host` and absolute URLs are the same.
        let server = WireServer::start(case.script);
        let mut reference = send(case, &server, Stack::Reqwest).await;
        let plain = send(case, &server, Stack::Plain).await;
        // Every case passes, so that none can agree by failing early on both stacks.
        assert_eq!(
            reference.exit, 0,
            "case `{}` through reqwest:\n{}",
            case.name, reference.seen
        );
        assert!(
            !reference.wire.is_empty(),
            "case `{}` sent nothing",
            case.name
        );
        if let Some(differs) = case.differs {
            differs(&mut reference.wire);
        }
        let count = reference.wire.len().max(plain.wire.len());
        for n in 0..count {
            let (expected, actual) = (reference.wire.get(n), plain.wire.get(n));
            if expected != actual {
                // A long body is printed cut short: say where the two start to differ.
                let at = expected
                    .zip(actual)
                    .and_then(|(e, a)| e.body.iter().zip(&a.body).position(|(e, a)| e != a));
                let at = at.map_or_else(String::new, |at| {
                    format!(" (the bodies differ at byte {at})")
                });
                differences.push(format!(
                    "case `{}`, request {n}{at}:\n  reqwest sent {expected:#?}\n  plain sent   {actual:#?}",
                    case.name
                ));
            }
        }
        if reference.seen != plain.seen || reference.exit != plain.exit {
            differences.push(format!(
                "case `{}`: the runs saw different answers\n--- reqwest (exit {})\n{}--- plain (exit {})\n{}",
                case.name, reference.exit, reference.seen, plain.exit, plain.seen
            ));
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n\n"));
}
