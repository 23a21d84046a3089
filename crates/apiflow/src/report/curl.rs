//! `--curl`: each request as an equivalent `curl` command line.

use std::fmt::Write as _;

use crate::http::Outgoing;
use crate::http::body::{Body, Content};

/// Quotes a word for POSIX shells.
fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Returns a `curl` command that sends the same request (cookies included, redirects not
/// followed, as apiflow sent it).
pub fn command(request: &Outgoing) -> String {
    let mut words = vec!["curl".to_owned()];
    if request.method != reqwest::Method::GET || request.body.is_some() {
        words.push("-X".into());
        words.push(request.method.as_str().to_owned());
    }
    words.push(quote(request.url.as_str()));
    // The HTTP version the step requires; curl, like apiflow, negotiates one otherwise. Client
    // certificates are not shown: the request holds them, not the files they came from.
    match (request.transport.version, request.url.scheme()) {
        (Some(crate::http::HttpVersion::Http1), _) => words.push("--http1.1".into()),
        (Some(crate::http::HttpVersion::Http2), "http") => {
            words.push("--http2-prior-knowledge".into());
        }
        (Some(crate::http::HttpVersion::Http2), _) => words.push("--http2".into()),
        (None, _) => {}
    }
    let multipart = matches!(request.body, Some(Body::Multipart(_)));
    for (name, value) in &request.headers {
        // curl writes a multipart form with a boundary of its own, and says so itself.
        if multipart && name == reqwest::header::CONTENT_TYPE {
            continue;
        }
        words.push("-H".into());
        words.push(quote(&format!(
            "{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        )));
    }
    match &request.body {
        Some(Body::Bytes(bytes)) => {
            words.push("--data-binary".into());
            words.push(quote(&String::from_utf8_lossy(bytes)));
        }
        Some(Body::File(file)) => {
            words.push("--data-binary".into());
            words.push(quote(&format!("@{}", file.path.display())));
        }
        Some(Body::Multipart(form)) => {
            for part in form.parts() {
                match &part.content {
                    Content::Text(text) => {
                        words.push("--form-string".into());
                        words.push(quote(&format!("{}={text}", part.name)));
                    }
                    Content::File(file) => {
                        let mut word = format!("{}=@\"{}\"", part.name, file.path.display());
                        if let Some(filename) = &part.filename {
                            let _ = write!(word, ";filename=\"{filename}\"");
                        }
                        if let Some(content_type) = &part.content_type {
                            let _ = write!(word, ";type={content_type}");
                        }
                        words.push("-F".into());
                        words.push(quote(&word));
                    }
                }
            }
        }
        None => {}
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn quotes_what_the_shell_would_split() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let request = Outgoing {
            method: reqwest::Method::POST,
            url: url::Url::parse("http://h/x?a=1&b=2").unwrap(),
            headers,
            body: Some(b"{\"it's\": 1}".to_vec().into()),
            timeout: std::time::Duration::from_secs(1),
            transport: crate::http::Transport::default(),
        };
        assert_eq!(
            command(&request),
            r#"curl -X POST 'http://h/x?a=1&b=2' -H 'content-type: application/json' --data-binary '{"it'\''s": 1}'"#
        );
    }

    #[test]
    fn a_required_http_version_is_passed_on() {
        use crate::http::HttpVersion::{Http1, Http2};
        let get = |url: &str, version| Outgoing {
            method: reqwest::Method::GET,
            url: url::Url::parse(url).unwrap(),
            headers: HeaderMap::new(),
            body: None,
            timeout: std::time::Duration::from_secs(1),
            transport: crate::http::Transport {
                certs: None,
                version,
            },
        };
        assert_eq!(command(&get("http://h/", None)), "curl http://h/");
        assert_eq!(
            command(&get("https://h/", Some(Http1))),
            "curl https://h/ --http1.1"
        );
        assert_eq!(
            command(&get("https://h/", Some(Http2))),
            "curl https://h/ --http2"
        );
        assert_eq!(
            command(&get("http://h/", Some(Http2))),
            "curl http://h/ --http2-prior-knowledge"
        );
    }

    #[test]
    fn files_are_read_by_curl_not_inlined() {
        use crate::http::body::{Body, Content, FileRef, Multipart, Part};
        let file = FileRef {
            path: "/data/my file.csv".into(),
            shown: "my file.csv".into(),
            len: 3,
        };
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/csv"));
        let mut request = Outgoing {
            method: reqwest::Method::PUT,
            url: url::Url::parse("http://h/x").unwrap(),
            headers,
            body: Some(Body::File(file.clone())),
            timeout: std::time::Duration::from_secs(1),
            transport: crate::http::Transport::default(),
        };
        assert_eq!(
            command(&request),
            "curl -X PUT http://h/x -H 'content-type: text/csv' --data-binary '@/data/my file.csv'"
        );
        let form = Multipart::new(vec![
            Part {
                name: "note".into(),
                filename: None,
                content_type: None,
                content: Content::Text("@not a file".into()),
            },
            Part {
                name: "rows".into(),
                filename: Some("rows.csv".into()),
                content_type: Some("text/csv".into()),
                content: Content::File(file),
            },
        ]);
        request.headers.insert(
            "content-type",
            HeaderValue::from_str(&form.content_type()).unwrap(),
        );
        request.method = reqwest::Method::POST;
        request.body = Some(Body::Multipart(form));
        // curl draws its own boundary: the header that names ours is left out.
        assert_eq!(
            command(&request),
            "curl -X POST http://h/x --form-string 'note=@not a file' \
             -F 'rows=@\"/data/my file.csv\";filename=\"rows.csv\";type=text/csv'"
        );
    }
}
