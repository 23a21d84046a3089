//! Parsing the URL of each request.
//!
//! The steps of a workflow nearly always call one server, and parsing the scheme, host and port
//! of each URL again (the host through IDNA) is half of what parsing it costs. The parser keeps
//! the last URL whose text started with its own origin (`http://host:port`, as the URL writes
//! it); a URL whose text starts with that same origin and goes on with an absolute path is
//! parsed relative to it, which gives the same URL without parsing the host again.

use url::{ParseError, Position, Url};

/// Parses URLs, reusing the origin of the last one.
#[derive(Debug, Default)]
pub struct UrlParser {
    /// The origin's text and a URL on it.
    last: Option<(String, Url)>,
}

thread_local! {
    /// The origin the last parser on this thread kept, and a URL on it: a new run (the next
    /// iteration of a load run) reuses it before it has an origin of its own.
    static SEED: std::cell::RefCell<Option<(String, Url)>> = const { std::cell::RefCell::new(None) };
}

impl UrlParser {
    /// Parses `text` as `Url::parse` does.
    pub fn parse(&mut self, text: &str) -> Result<Url, ParseError> {
        if let Some(url) = reuse(self.last.as_ref(), text) {
            return url;
        }
        if self.last.is_none()
            && let Some(url) = SEED.with_borrow(|seed| reuse(seed.as_ref(), text))
        {
            return url;
        }
        let url = Url::parse(text)?;
        let origin = &url[..Position::BeforePath];
        let reusable = matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && text.strip_prefix(origin).is_some_and(is_absolute_path);
        if reusable {
            let kept = (origin.to_owned(), url.clone());
            SEED.set(Some(kept.clone()));
            self.last = Some(kept);
        }
        Ok(url)
    }
}

/// Parses `text` relative to a URL on its origin, when it is that origin and an absolute path.
fn reuse(last: Option<&(String, Url)>, text: &str) -> Option<Result<Url, ParseError>> {
    let (origin, base) = last?;
    let path = text.strip_prefix(origin.as_str())?;
    is_absolute_path(path).then(|| base.join(path))
}

/// Tells whether `path` is read the same after an origin and relative to a URL on it: an
/// absolute path, not `//` or `/\` (which would start another authority in a relative
/// reference), and without the tabs and line breaks the parser removes before reading it.
fn is_absolute_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !bytes.iter().any(|b| matches!(b, b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn both(
        parser: &mut UrlParser,
        text: &str,
    ) -> (Result<String, ParseError>, Result<String, ParseError>) {
        let reused = parser.parse(text).map(String::from);
        let fresh = Url::parse(text).map(String::from);
        (reused, fresh)
    }

    #[test]
    fn a_url_on_the_same_origin_is_parsed_relative_to_the_last() {
        let mut parser = UrlParser::default();
        parser.parse("http://127.0.0.1:8080/token").unwrap();
        assert!(parser.last.is_some());
        let url = parser.parse("http://127.0.0.1:8080/items/7?x=1#f").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/items/7?x=1#f");
    }

    #[test]
    fn a_new_parser_starts_from_the_origin_the_last_one_on_its_thread_kept() {
        let mut first = UrlParser::default();
        first.parse("http://127.0.0.1:9/token").unwrap();
        let seeded = SEED.with_borrow(|seed| seed.as_ref().map(|(origin, _)| origin.clone()));
        assert_eq!(seeded.as_deref(), Some("http://127.0.0.1:9"));
        let mut next = UrlParser::default();
        let url = next.parse("http://127.0.0.1:9/items/1?x=%20").unwrap();
        assert_eq!(url, Url::parse("http://127.0.0.1:9/items/1?x=%20").unwrap());
        // Reused from the thread's origin, not made its own.
        assert!(next.last.is_none());
    }

    #[test]
    fn only_an_origin_written_as_the_url_writes_it_is_kept() {
        let mut parser = UrlParser::default();
        parser.parse("HTTP://Example.COM:80/a").unwrap();
        assert!(parser.last.is_none());
        parser.parse("http://user:pw@example.com/a").unwrap();
        assert!(parser.last.is_none());
        parser.parse("http://example.com").unwrap();
        assert!(parser.last.is_none());
    }

    #[test]
    fn paths_that_would_start_another_authority_are_parsed_whole() {
        let mut parser = UrlParser::default();
        parser.parse("http://a.test/").unwrap();
        for text in [
            "http://a.test//b.test/x",
            "http://a.test/\\b.test/x",
            "http://a.test/\t/b.test/x",
            "http://a.test/\n/b.test",
            "http://a.test:99/x",
            "http://a.test.evil/x",
        ] {
            let (reused, fresh) = both(&mut parser, text);
            assert_eq!(reused, fresh, "{text:?}");
        }
        assert_eq!(
            parser.parse("http://a.test//b.test/x").unwrap().host_str(),
            Some("a.test")
        );
    }

    proptest! {
        #[test]
        fn reusing_the_origin_gives_what_a_fresh_parse_gives(
            origin in prop::sample::select(vec![
                "http://127.0.0.1:8080",
                "https://api.example.com",
                "http://[::1]:3000",
                "https://xn--bcher-kva.example",
            ]),
            first in "(/[a-z]{0,3}){0,2}",
            rest in r"[/\\a-z0-9.%?#@:; \t\n\x00é~-]{0,16}",
        ) {
            let mut parser = UrlParser::default();
            parser.parse(&format!("{origin}/{first}")).unwrap();
            let text = format!("{origin}{rest}");
            let (reused, fresh) = both(&mut parser, &text);
            prop_assert_eq!(reused, fresh);
        }
    }
}
