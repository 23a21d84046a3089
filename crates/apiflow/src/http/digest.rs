//! HTTP Digest (RFC 7616): reading the challenges of `WWW-Authenticate` and answering one.
//!
//! Reading is lenient, as a client must be with servers written over thirty years: several
//! challenges in one header and across headers, quoted strings with `\` escapes, parameters
//! in any case and order, empty list elements; a challenge apiflow cannot answer (an unknown
//! algorithm or `qop`, no nonce) is passed over, not an error.

use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};

use super::hash::{md5_hex, sha256_hex, sha512_256_hex};

/// One challenge of a `WWW-Authenticate` header: its scheme and parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The scheme as written (`Digest`, `Basic`, …).
    pub(crate) scheme: String,
    /// Parameters, names in lower case, values unquoted; a `token68` is one with an empty name.
    pub(crate) params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads every challenge of every `WWW-Authenticate` header, in order.
pub(crate) fn challenges(headers: &HeaderMap) -> Vec<Challenge> {
    let mut out = Vec::new();
    for value in headers.get_all(WWW_AUTHENTICATE) {
        parse(&String::from_utf8_lossy(value.as_bytes()), &mut out);
    }
    out
}

/// Reads the challenges of one header value (RFC 9110, section 11.6.1):
/// `scheme [ token68 / #( name = ( token / quoted-string ) ) ]`, comma-separated.
fn parse(text: &str, out: &mut Vec<Challenge>) {
    let mut reader = Reader {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    loop {
        reader.skip(|b| b == b',' || is_space(b));
        if reader.done() {
            return;
        }
        let scheme = reader.token();
        if scheme.is_empty() {
            // Not a token: skip to the next comma and try again there.
            reader.skip(|b| b != b',');
            continue;
        }
        let mut challenge = Challenge {
            scheme: scheme.to_owned(),
            params: Vec::new(),
        };
        reader.skip(is_space);
        // Parameters until a token that is not followed by `=`, which starts the next challenge.
        loop {
            reader.skip(|b| b == b',' || is_space(b));
            let start = reader.at;
            let name = reader.token();
            if name.is_empty() {
                if reader.done() {
                    break;
                }
                // Junk where a parameter should be: skip it.
                reader.skip(|b| b != b',');
                continue;
            }
            reader.skip(is_space);
            if reader.peek() != Some(b'=') {
                reader.at = start;
                break;
            }
            reader.at += 1;
            reader.skip(is_space);
            let value = match reader.peek() {
                Some(b'"') => reader.quoted(),
                // `token68=` or `token68==`: the padding of a token68, not a parameter.
                Some(b'=' | b',') | None if challenge.params.is_empty() => {
                    reader.skip(|b| b == b'=');
                    challenge.params.push((
                        String::new(),
                        reader.text[start..reader.at].trim_end().to_owned(),
                    ));
                    continue;
                }
                _ => reader.token().to_owned(),
            };
            challenge.params.push((name.to_ascii_lowercase(), value));
        }
        out.push(challenge);
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// A `tchar` of RFC 9110, and the characters a `token68` may hold besides.
fn is_token(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&byte)
}

struct Reader<'t> {
    bytes: &'t [u8],
    text: &'t str,
    at: usize,
}

impl<'t> Reader<'t> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip(&mut self, while_: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&while_) {
            self.at += 1;
        }
    }

    /// Reads a token; its bytes are ASCII, so the slice is on character boundaries.
    fn token(&mut self) -> &'t str {
        let start = self.at;
        self.skip(is_token);
        &self.text[start..self.at]
    }

    /// Reads a quoted string from its opening quote, undoing `\` escapes; an unclosed one
    /// runs to the end of the header.
    fn quoted(&mut self) -> String {
        self.at += 1;
        let mut value = Vec::new();
        while let Some(byte) = self.peek() {
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        value.push(next);
                        self.at += 1;
                    }
                }
                _ => value.push(byte),
            }
        }
        String::from_utf8_lossy(&value).into_owned()
    }
}

/// A hash algorithm of RFC 7616, with or without `-sess`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Algorithm {
    /// `MD5` (the default when the challenge names none).
    Md5,
    /// `SHA-256`.
    Sha256,
    /// `SHA-512-256`.
    Sha512_256,
}

impl Algorithm {
    /// Returns the algorithm's name as the header writes it.
    fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512_256 => "SHA-512-256",
        }
    }

    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => md5_hex(data.as_bytes()),
            Algorithm::Sha256 => sha256_hex(data.as_bytes()),
            Algorithm::Sha512_256 => sha512_256_hex(data.as_bytes()),
        }
    }

    fn hash_bytes(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => md5_hex(data),
            Algorithm::Sha256 => sha256_hex(data),
            Algorithm::Sha512_256 => sha512_256_hex(data),
        }
    }
}

/// What the answer protects besides the method and URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Qop {
    /// `qop=auth`.
    Auth,
    /// `qop=auth-int`: the body's hash too.
    AuthInt,
}

/// A Digest challenge apiflow can answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    pub(crate) realm: String,
    pub(crate) nonce: String,
    pub(crate) opaque: Option<String>,
    pub(crate) algorithm: Algorithm,
    /// `-sess`: the first hash covers the nonces too.
    pub(crate) session: bool,
    /// Whether the challenge named its algorithm (RFC 2069 servers name none).
    pub(crate) algorithm_named: bool,
    /// `None` when the server offered no `qop` (RFC 2069).
    pub(crate) qop: Option<Qop>,
    /// `stale=true`: the previous nonce expired, the credentials were right.
    pub(crate) stale: bool,
    /// `userhash=true`: the user name is sent hashed.
    pub(crate) userhash: bool,
}

impl DigestChallenge {
    /// Reads a Digest challenge, or `None` when it is not one apiflow can answer.
    fn read(challenge: &Challenge) -> Option<DigestChallenge> {
        if !challenge.scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let named = challenge.param("algorithm");
        let (algorithm, session) = match named.map(str::to_ascii_uppercase).as_deref() {
            None | Some("MD5") => (Algorithm::Md5, false),
            Some("MD5-SESS") => (Algorithm::Md5, true),
            Some("SHA-256") => (Algorithm::Sha256, false),
            Some("SHA-256-SESS") => (Algorithm::Sha256, true),
            Some("SHA-512-256") => (Algorithm::Sha512_256, false),
            Some("SHA-512-256-SESS") => (Algorithm::Sha512_256, true),
            Some(_) => return None,
        };
        let qop = match challenge.param("qop") {
            None => None,
            Some(list) => {
                let offered: Vec<String> = list
                    .split(',')
                    .map(|q| q.trim().to_ascii_lowercase())
                    .collect();
                if offered.iter().any(|q| q == "auth") {
                    Some(Qop::Auth)
                } else if offered.iter().any(|q| q == "auth-int") {
                    Some(Qop::AuthInt)
                } else {
                    return None;
                }
            }
        };
        let yes = |name: &str| {
            challenge
                .param(name)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        };
        Some(DigestChallenge {
            realm: challenge.param("realm").unwrap_or_default().to_owned(),
            nonce: challenge.param("nonce")?.to_owned(),
            opaque: challenge.param("opaque").map(str::to_owned),
            algorithm,
            session,
            algorithm_named: named.is_some(),
            qop,
            stale: yes("stale"),
            userhash: yes("userhash"),
        })
    }

    /// Ranks challenges: the stronger hash first, then without `-sess`, then `qop` over none.
    fn strength(&self) -> (u8, bool, bool) {
        let hash = match self.algorithm {
            Algorithm::Md5 => 0,
            Algorithm::Sha256 => 1,
            Algorithm::Sha512_256 => 2,
        };
        (hash, !self.session, self.qop.is_some())
    }
}

/// Picks the Digest challenge to answer among every challenge of a response: the strongest,
/// the first offered among equals.
pub(crate) fn pick(headers: &HeaderMap) -> Option<DigestChallenge> {
    let mut best: Option<DigestChallenge> = None;
    for challenge in challenges(headers).iter().filter_map(DigestChallenge::read) {
        if best
            .as_ref()
            .is_none_or(|b| challenge.strength() > b.strength())
        {
            best = Some(challenge);
        }
    }
    best
}

/// What an answer is computed from.
pub(crate) struct Request<'a> {
    pub(crate) username: &'a str,
    pub(crate) password: &'a str,
    pub(crate) method: &'a str,
    /// The request target: path and query, as sent.
    pub(crate) uri: &'a str,
    pub(crate) body: &'a [u8],
    /// The client nonce; random outside tests.
    pub(crate) cnonce: &'a str,
    /// How many requests this nonce has answered, this one included.
    pub(crate) nc: u32,
}

/// An answer to a challenge.
pub(crate) struct Answer {
    /// The value of the `Authorization` header.
    pub(crate) header: String,
    /// The `response` hash, which only someone with the password could compute.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests compare it with RFC 7616's examples")
    )]
    pub(crate) response: String,
}

/// Computes the `Authorization` header that answers a challenge (RFC 7616, section 3.4).
pub(crate) fn answer(challenge: &DigestChallenge, request: &Request<'_>) -> Answer {
    let alg = challenge.algorithm;
    let nc = format!("{:08x}", request.nc);
    let mut ha1 = alg.hash(&format!(
        "{}:{}:{}",
        request.username, challenge.realm, request.password
    ));
    if challenge.session {
        ha1 = alg.hash(&format!("{ha1}:{}:{}", challenge.nonce, request.cnonce));
    }
    let ha2 = match challenge.qop {
        Some(Qop::AuthInt) => alg.hash(&format!(
            "{}:{}:{}",
            request.method,
            request.uri,
            alg.hash_bytes(request.body)
        )),
        _ => alg.hash(&format!("{}:{}", request.method, request.uri)),
    };
    let response = match challenge.qop {
        Some(qop) => alg.hash(&format!(
            "{ha1}:{}:{nc}:{}:{}:{ha2}",
            challenge.nonce,
            request.cnonce,
            qop_name(qop)
        )),
        None => alg.hash(&format!("{ha1}:{}:{ha2}", challenge.nonce)),
    };
    let mut parts = Vec::with_capacity(11);
    if challenge.userhash {
        let hashed = alg.hash(&format!("{}:{}", request.username, challenge.realm));
        parts.push(format!("username={}", quote(&hashed)));
    } else if request.username.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        parts.push(format!("username={}", quote(request.username)));
    } else {
        parts.push(format!("username*=UTF-8''{}", ext_value(request.username)));
    }
    parts.push(format!("realm={}", quote(&challenge.realm)));
    parts.push(format!("uri={}", quote(request.uri)));
    if challenge.algorithm_named {
        let sess = if challenge.session { "-sess" } else { "" };
        parts.push(format!("algorithm={}{sess}", alg.name()));
    }
    parts.push(format!("nonce={}", quote(&challenge.nonce)));
    if let Some(qop) = challenge.qop {
        parts.push(format!("nc={nc}"));
        parts.push(format!("cnonce={}", quote(request.cnonce)));
        parts.push(format!("qop={}", qop_name(qop)));
    } else if challenge.session {
        parts.push(format!("cnonce={}", quote(request.cnonce)));
    }
    parts.push(format!("response={}", quote(&response)));
    if let Some(opaque) = &challenge.opaque {
        parts.push(format!("opaque={}", quote(opaque)));
    }
    if challenge.userhash {
        parts.push("userhash=true".to_owned());
    }
    Answer {
        header: format!("Digest {}", parts.join(", ")),
        response,
    }
}

fn qop_name(qop: Qop) -> &'static str {
    match qop {
        Qop::Auth => "auth",
        Qop::AuthInt => "auth-int",
    }
}

/// Writes a quoted string, escaping `"` and `\`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Percent-encodes a value for `name*=UTF-8''value` (RFC 8187): all but `attr-char`.
fn ext_value(text: &str) -> String {
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'!')
        .remove(b'#')
        .remove(b'$')
        .remove(b'&')
        .remove(b'+')
        .remove(b'-')
        .remove(b'.')
        .remove(b'^')
        .remove(b'_')
        .remove(b'`')
        .remove(b'|')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(text, ATTR).to_string()
}

/// Makes a client nonce: 16 random bytes in hex.
pub(crate) fn cnonce() -> String {
    let mut bytes = [0u8; 16];
    // Without the system's randomness the nonce is still unique enough for one exchange.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_le_bytes();
    }
    super::hash::hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(WWW_AUTHENTICATE, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    /// The two challenges of RFC 7616, section 3.9.1.
    const RFC_SHA256: &str = r#"Digest
       realm="http-auth@example.org",
       qop="auth, auth-int",
       algorithm=SHA-256,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const RFC_MD5: &str = r#"Digest
       realm="http-auth@example.org",
       qop="auth, auth-int",
       algorithm=MD5,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn mufasa(cnonce: &str) -> Request<'_> {
        Request {
            username: "Mufasa",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            body: b"",
            cnonce,
            nc: 1,
        }
    }

    fn one_line(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn the_rfc_7616_example_is_answered_with_sha_256_and_with_md5() {
        let both = headers(&[&one_line(RFC_SHA256), &one_line(RFC_MD5)]);
        let picked = pick(&both).unwrap();
        assert_eq!(picked.algorithm, Algorithm::Sha256, "the stronger one");
        let answer = answer(&picked, &mufasa(RFC_CNONCE));
        assert_eq!(
            answer.response,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        assert_eq!(
            answer.header,
            "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
             uri=\"/dir/index.html\", algorithm=SHA-256, \
             nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
             cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
             response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        );
        let md5 = pick(&headers(&[&one_line(RFC_MD5)])).unwrap();
        assert_eq!(
            super::answer(&md5, &mufasa(RFC_CNONCE)).response,
            "8ca523f5e9506fed4657c9700eebdbec"
        );
    }

    #[test]
    fn the_stronger_challenge_wins_wherever_it_is_written() {
        // MD5 first, in the same header as a Basic challenge and the SHA-256 one.
        let one = headers(&[&format!(
            "Basic realm=\"x\", {}, {}",
            one_line(RFC_MD5),
            one_line(RFC_SHA256)
        )]);
        assert_eq!(pick(&one).unwrap().algorithm, Algorithm::Sha256);
        let sess = headers(&[
            "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256-sess, qop=auth",
            "Digest realm=\"r\", nonce=\"n\", algorithm=MD5, qop=auth",
        ]);
        let picked = pick(&sess).unwrap();
        assert_eq!(
            (picked.algorithm, picked.session),
            (Algorithm::Sha256, true)
        );
        let unknown = headers(&["Digest realm=\"r\", nonce=\"n\", algorithm=SHA-1"]);
        assert_eq!(pick(&unknown), None);
        assert_eq!(pick(&headers(&["Basic realm=\"r\"", "Bearer"])), None);
        assert_eq!(pick(&headers(&["Digest realm=\"r\""])), None, "no nonce");
    }

    #[test]
    fn challenges_are_read_whatever_their_spelling() {
        let read = |text: &str| {
            let mut out = Vec::new();
            parse(text, &mut out);
            out
        };
        let params = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let all = read(
            r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Bearer abc.def==, DIGEST REALM = "a\\b" ,, Nonce="x,y""#,
        );
        assert_eq!(all.len(), 4, "{all:?}");
        assert_eq!(all[0].scheme, "Newauth");
        assert_eq!(
            all[0].params,
            params(&[
                ("realm", "apps"),
                ("type", "1"),
                ("title", "Login to \"apps\"")
            ])
        );
        assert_eq!(all[1].params, params(&[("realm", "simple")]));
        assert_eq!(all[2].params, params(&[("", "abc.def==")]));
        assert_eq!(
            all[3].params,
            params(&[("realm", "a\\b"), ("nonce", "x,y")])
        );
        // Broken headers give what can be read, and never panic.
        assert_eq!(
            read("Digest realm=\"unclosed")[0].params,
            params(&[("realm", "unclosed")])
        );
        for junk in [
            "",
            ",",
            "=",
            "\"",
            "Digest =",
            "Digest a=",
            "é",
            "Digest realm=é, nonce=1",
            "@@@ Digest nonce=1",
        ] {
            let _ = read(junk);
        }
        assert_eq!(read("Digest realm=é, nonce=1").len(), 1);
    }

    #[test]
    fn a_server_without_qop_gets_an_rfc_2069_answer() {
        let challenge = pick(&headers(&[
            r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#,
        ]))
        .unwrap();
        let answer = answer(&challenge, &mufasa("unused"));
        // H(H(A1):nonce:H(A2)) with MD5, and no `algorithm`, `qop`, `nc` or `cnonce`.
        let ha1 = md5_hex(b"Mufasa:testrealm@host.com:Circle of Life");
        let ha2 = md5_hex(b"GET:/dir/index.html");
        let expected =
            md5_hex(format!("{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:{ha2}").as_bytes());
        assert_eq!(answer.response, expected);
        assert_eq!(
            answer.header,
            format!(
                "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", uri=\"/dir/index.html\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", response=\"{expected}\""
            )
        );
    }

    #[test]
    fn sess_auth_int_userhash_and_other_user_names_follow_the_rfc() {
        let challenge = pick(&headers(&[
            r#"Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth-int", userhash=true, stale=TRUE"#,
        ]))
        .unwrap();
        assert!(challenge.stale && challenge.userhash && challenge.session);
        let mut request = mufasa("c");
        request.body = b"payload";
        let answer = answer(&challenge, &request);
        let ha1 = md5_hex(format!("{}:n:c", md5_hex(b"Mufasa:r:Circle of Life")).as_bytes());
        let ha2 = md5_hex(format!("GET:/dir/index.html:{}", md5_hex(b"payload")).as_bytes());
        let expected = md5_hex(format!("{ha1}:n:00000001:c:auth-int:{ha2}").as_bytes());
        assert_eq!(answer.response, expected);
        assert!(
            answer
                .header
                .starts_with(&format!("Digest username=\"{}\"", md5_hex(b"Mufasa:r")))
        );
        assert!(
            answer.header.ends_with(", userhash=true"),
            "{}",
            answer.header
        );
        assert!(
            answer.header.contains("algorithm=MD5-sess, "),
            "{}",
            answer.header
        );

        let plain = pick(&headers(&[
            "Digest realm=\"a \\\"b\\\"\", nonce=n, qop=auth",
        ]))
        .unwrap();
        let mut request = mufasa("c");
        request.username = "J\u{e4}s\u{f8}n Doe";
        let header = super::answer(&plain, &request).header;
        assert!(
            header.starts_with(
                "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"a \\\"b\\\"\""
            ),
            "{header}"
        );
        request.username = "a\"b";
        let header = super::answer(&plain, &request).header;
        assert!(header.starts_with("Digest username=\"a\\\"b\""), "{header}");
    }

    #[test]
    fn client_nonces_differ() {
        assert_ne!(cnonce(), cnonce());
        assert_eq!(cnonce().len(), 32);
    }
}
