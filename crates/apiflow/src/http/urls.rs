//! Parsing the URL of each request.
//!
//! The steps of a workflow nearly always call one server, and parsing the scheme, host and port
//! of each URL again (the host through IDNA) is half of what parsing it costs. The parser keeps
//! the last URL whose text started with its own origin (`http://host:port`, as the URL writes
//! it); a URL whose text starts with that same origin and goes on with an absolute path is
//! parsed relative to it, which gives the same URL without parsing the host again.
//!
//! The iterations of a load run send the same URLs again and again: each thread also keeps the
//! last few texts it parsed and their URLs, and a text it kept is not parsed again.

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

/// How many of the texts parsed last each thread keeps: the distinct URLs of a flow's steps.
const RECENT: usize = 16;

thread_local! {
    /// The last texts parsed on this thread and their URLs, the oldest replaced first.
    static PARSED: std::cell::RefCell<Recent> = const { std::cell::RefCell::new(Recent::new()) };
}

/// Texts parsed more than once and the URLs they parsed to, up to [`RECENT`] of them; and the
/// hashes of the last texts parsed once. A text is kept the second time it is parsed, so URLs
/// that differ every time (a `uuid()` in the query) cost a hash, not a copy.
struct Recent {
    entries: Vec<(u64, String, Url)>,
    /// The entry the next text kept replaces, once the list is full.
    next: usize,
    seen: [u64; RECENT],
    next_seen: usize,
}

impl Recent {
    const fn new() -> Recent {
        Recent {
            entries: Vec::new(),
            next: 0,
            seen: [0; RECENT],
            next_seen: 0,
        }
    }

    fn get(&self, hash: u64, text: &str) -> Option<Url> {
        self.entries
            .iter()
            .find(|(kept, kept_text, _)| *kept == hash && kept_text == text)
            .map(|(_, _, url)| url.clone())
    }

    /// Notes a text parsed to `url`: kept if it was seen before, its hash noted otherwise.
    fn parsed(&mut self, hash: u64, text: &str, url: &Url) {
        if !self.seen.contains(&hash) {
            self.seen[self.next_seen] = hash;
            self.next_seen = (self.next_seen + 1) % RECENT;
            return;
        }
        if self.entries.len() < RECENT {
            self.entries.push((hash, text.to_owned(), url.clone()));
            return;
        }
        let entry = &mut self.entries[self.next];
        entry.0 = hash;
        entry.1.clear();
        entry.1.push_str(text);
        entry.2.clone_from(url);
        self.next = (self.next + 1) % RECENT;
    }
}

/// Hashes a URL's text for [`Recent`].
fn hash(text: &str) -> u64 {
    use std::hash::{BuildHasher as _, BuildHasherDefault};
    BuildHasherDefault::<rustc_hash::FxHasher>::default().hash_one(text)
}

impl UrlParser {
    /// Parses `text` as `Url::parse` does.
    pub fn parse(&mut self, text: &str) -> Result<Url, ParseError> {
        let hash = hash(text);
        if let Some(url) = PARSED.with_borrow(|recent| recent.get(hash, text)) {
            return Ok(url);
        }
        let parsed = self.parse_new(text);
        if let Ok(url) = &parsed {
            PARSED.with_borrow_mut(|recent| recent.parsed(hash, text, url));
        }
        parsed
    }

    fn parse_new(&mut self, text: &str) -> Result<Url, ParseError> {
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

    /// Forgets the texts this thread parsed, for the tests that look at what a parse kept.
    fn forget_recent() {
        PARSED.set(Recent::new());
    }

    #[test]
    fn texts_parsed_again_come_from_the_recent_ones_which_stay_few() {
        forget_recent();
        let mut parser = UrlParser::default();
        let kept = |text: &str| PARSED.with_borrow(|recent| recent.get(hash(text), text));
        let texts: Vec<String> = (0..40)
            .map(|k| format!("http://127.0.0.1:8080/items/{}?q={k}", k % 20))
            .collect();
        // A flow's dozen URLs, sent every iteration: all kept from the second.
        for _ in 0..3 {
            for text in &texts[..12] {
                let (reused, fresh) = both(&mut parser, text);
                assert_eq!(reused, fresh, "{text}");
            }
        }
        assert!(texts[..12].iter().all(|text| kept(text).is_some()));
        // Then more than the list holds, each sent twice: the oldest make room.
        for text in &texts[12..] {
            for _ in 0..2 {
                let (reused, fresh) = both(&mut parser, text);
                assert_eq!(reused, fresh, "{text}");
            }
        }
        PARSED.with_borrow(|recent| assert_eq!(recent.entries.len(), RECENT));
        assert!(kept(&texts[39]).is_some());
        assert!(kept(&texts[0]).is_none());
        let again = parser.parse(&texts[39]).unwrap();
        assert_eq!(again, Url::parse(&texts[39]).unwrap());
        // A text parsed once is not kept, only noted; one that does not parse is not noted.
        parser.parse("http://127.0.0.1:8080/once").unwrap();
        assert!(kept("http://127.0.0.1:8080/once").is_none());
        parser.parse("http://127.0.0.1:8080/once").unwrap();
        assert!(kept("http://127.0.0.1:8080/once").is_some());
        assert!(parser.parse("http://[::1").is_err());
        assert!(parser.parse("http://[::1").is_err());
        assert!(kept("http://[::1").is_none());
    }

    #[test]
    fn a_url_on_the_same_origin_is_parsed_relative_to_the_last() {
        forget_recent();
        let mut parser = UrlParser::default();
        parser.parse("http://127.0.0.1:8080/token").unwrap();
        assert!(parser.last.is_some());
        let url = parser.parse("http://127.0.0.1:8080/items/7?x=1#f").unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/items/7?x=1#f");
    }

    #[test]
    fn a_new_parser_starts_from_the_origin_the_last_one_on_its_thread_kept() {
        forget_recent();
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
        forget_recent();
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
        forget_recent();
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
