//! `--curl`: each request as an equivalent `curl` command line.

use crate::http::Outgoing;

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
    for (name, value) in &request.headers {
        words.push("-H".into());
        words.push(quote(&format!(
            "{name}: {}",
            String::from_utf8_lossy(value.as_bytes())
        )));
    }
    if let Some(body) = &request.body {
        words.push("--data-binary".into());
        words.push(quote(&String::from_utf8_lossy(body)));
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
            body: Some(b"{\"it's\": 1}".to_vec()),
            timeout: std::time::Duration::from_secs(1),
        };
        assert_eq!(
            command(&request),
            r#"curl -X POST 'http://h/x?a=1&b=2' -H 'content-type: application/json' --data-binary '{"it'\''s": 1}'"#
        );
    }
}
