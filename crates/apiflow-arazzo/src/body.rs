//! A response body as runtime expressions read it: the bytes received, parsed as JSON only as
//! far as each read needs.
//!
//! A step that reads `$response.body#/links/next/id` needs one number of a body that may hold
//! kilobytes. Parsing the whole of it into a `serde_json::Value` (a map per object, a `String`
//! per key and value) costs more than the rest of such a step. A pointer read keeps only the
//! values on its path ([`Pick`], which accepts and rejects exactly what `serde_json` does); a
//! read of the whole body, or an OpenAPI schema check, parses it once and later reads use that.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use apiflow::query::pick::{Part, Pick};
use serde_json::Value;

/// Pointers with more segments that could be an array index than this read the whole body:
/// each such segment doubles the paths to keep.
const MAX_AMBIGUOUS_SEGMENTS: usize = 3;

/// Pointer reads of one body that each parse only their path; the next parses it whole, for
/// every later read: a step reading many values of a large body scans it a bounded number of
/// times.
const PRUNED_READS: u32 = 4;

/// How many pointers each thread keeps what to parse for: the steps of a document read the same
/// few pointers again and again (`/id`, `/access_token`, `/links/next/id`).
const KEPT_PICKS: usize = 16;

/// A pointer and what [`pick_of`] made of it.
type Kept = (Box<str>, Option<Rc<Pick>>);

thread_local! {
    /// The pointers read last on this thread and their picks, oldest first.
    static PICKS: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// A response body as received.
#[derive(Debug)]
pub struct Received {
    bytes: Arc<Vec<u8>>,
    /// The whole body parsed, once something read it whole; the parser's message when it is
    /// not JSON.
    whole: OnceLock<Result<Value, String>>,
    /// Pointer reads that parsed only their path.
    pruned: AtomicU32,
}

impl Clone for Received {
    fn clone(&self) -> Received {
        Received {
            bytes: Arc::clone(&self.bytes),
            whole: self.whole.clone(),
            pruned: AtomicU32::new(self.pruned.load(Ordering::Relaxed)),
        }
    }
}

impl Received {
    /// Wraps the bytes of a response body, parsing nothing yet.
    pub fn new(bytes: Arc<Vec<u8>>) -> Received {
        Received {
            bytes,
            whole: OnceLock::new(),
            pruned: AtomicU32::new(0),
        }
    }

    /// Returns the body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Returns the whole body parsed as JSON, or the parser's message when it is not JSON.
    /// Parsed once; later reads of any kind use it.
    pub fn whole(&self) -> Result<&Value, &str> {
        self.whole
            .get_or_init(|| serde_json::from_slice(&self.bytes).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(String::as_str)
    }

    /// Follows the RFC 6901 `pointer` into the body: the value there, or what the body holds
    /// instead (in words that follow "the body"); `None` when the body is not JSON.
    ///
    /// Only the values on the pointer's path are parsed, for the first few reads. A miss is
    /// told from the whole body, since a pruned one cannot say what stands where the pointer
    /// leads.
    pub fn follow(&self, pointer: &str) -> Option<Result<Cow<'_, Value>, String>> {
        if self.whole.get().is_none()
            && self.pruned.fetch_add(1, Ordering::Relaxed) < PRUNED_READS
            && let Some(pick) = kept_pick(pointer)
        {
            let mut pruned = pick.parse(&self.bytes).ok()?;
            if let Ok(value) = crate::expr::pointer_mut(&mut pruned, pointer) {
                return Some(Ok(Cow::Owned(std::mem::take(value))));
            }
        }
        let whole = self.whole().ok()?;
        Some(crate::expr::follow(whole, pointer).map(Cow::Borrowed))
    }

    /// Returns the string values of the top-level `access_token`, `refresh_token` and
    /// `id_token` members of a JSON object body, the fields of an OAuth token response
    /// (RFC 6749 §5.1, OpenID Connect) that are secrets whatever a step reads of them.
    pub fn token_fields(&self) -> Vec<String> {
        // Each name ends in `_token`, unless written with escapes: a body with neither is
        // skipped in one pass, without parsing.
        static TOKEN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"_token"));
        if TOKEN.find(&self.bytes).is_none() && memchr::memchr(b'\\', &self.bytes).is_none() {
            return Vec::new();
        }
        let fields = match self.whole.get() {
            Some(done) => done.as_ref().ok().map(Cow::Borrowed),
            None => TOKEN_FIELDS.parse(&self.bytes).ok().map(Cow::Owned),
        };
        let Some(serde_json::Value::Object(fields)) = fields.as_deref() else {
            return Vec::new();
        };
        TOKEN_NAMES
            .iter()
            .filter_map(|name| fields.get(*name)?.as_str().map(str::to_owned))
            .collect()
    }
}

/// The members [`Received::token_fields`] reads.
const TOKEN_NAMES: [&str; 3] = ["access_token", "refresh_token", "id_token"];

/// What [`Received::token_fields`] keeps of a body.
static TOKEN_FIELDS: LazyLock<Pick> = LazyLock::new(|| {
    let mut pick = Pick::default();
    for name in TOKEN_NAMES {
        pick.add(&[Part::Name(name.to_owned())]);
    }
    pick
});

/// Returns [`pick_of`] `pointer`, made once for the last [`KEPT_PICKS`] pointers read on this
/// thread.
fn kept_pick(pointer: &str) -> Option<Rc<Pick>> {
    PICKS.with_borrow_mut(|kept| {
        if let Some((_, pick)) = kept.iter().find(|(text, _)| **text == *pointer) {
            return pick.clone();
        }
        let pick = pick_of(pointer).map(Rc::new);
        if kept.len() == KEPT_PICKS {
            kept.remove(0);
        }
        kept.push((pointer.into(), pick.clone()));
        pick
    })
}

/// Returns what to keep of a body for reading `pointer`: a segment that could be an array index
/// is kept both as a member name and as an index, since the pointer reads either. `None` when
/// the whole body is read (or the pointer is malformed, which the reader reports).
fn pick_of(pointer: &str) -> Option<Pick> {
    let tokens = pointer.strip_prefix('/')?;
    let mut paths: Vec<Vec<Part>> = vec![Vec::new()];
    let mut ambiguous = 0;
    for raw in tokens.split('/') {
        let name = crate::load::unescape(raw).into_owned();
        match crate::expr::array_index(&name) {
            Some(index) => {
                ambiguous += 1;
                if ambiguous > MAX_AMBIGUOUS_SEGMENTS {
                    return None;
                }
                let as_index: Vec<Vec<Part>> = paths
                    .iter()
                    .map(|path| {
                        let mut path = path.clone();
                        path.push(Part::Index(index));
                        path
                    })
                    .collect();
                for path in &mut paths {
                    path.push(Part::Name(name.clone()));
                }
                paths.extend(as_index);
            }
            None => {
                for path in &mut paths {
                    path.push(Part::Name(name.clone()));
                }
            }
        }
    }
    let mut pick = Pick::default();
    for path in &paths {
        pick.add(path);
    }
    Some(pick)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn received(text: &str) -> Received {
        Received::new(Arc::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn a_pointer_reads_what_the_whole_body_holds() {
        let text =
            r#"{"a":{"b":[10,{"c":"x"},[1]],"0":"zero"},"list":[{"id":1},{"id":2}],"s":"t"}"#;
        let whole: Value = serde_json::from_str(text).unwrap();
        for pointer in [
            "",
            "/a",
            "/a/b",
            "/a/b/1/c",
            "/a/b/2/0",
            "/a/0",
            "/list/1/id",
            "/list/5",
            "/list/1/x",
            "/s/0",
            "/a/b/01",
            "/a/b/-",
            "/missing",
            "/a/b/0/0/0/0",
            "a",
        ] {
            let body = received(text);
            let read = body.follow(pointer).expect("JSON");
            assert_eq!(
                read.map(Cow::into_owned),
                crate::expr::follow(&whole, pointer).cloned(),
                "pointer {pointer:?}"
            );
        }
    }

    #[test]
    fn a_body_read_at_many_pointers_is_parsed_whole_after_a_few() {
        let body = received(r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6}"#);
        for (read, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
            assert!(matches!(
                body.follow(&format!("/{name}")),
                Some(Ok(Cow::Owned(_)))
            ));
            assert!(
                body.whole.get().is_none(),
                "parsed whole after {} reads",
                read + 1
            );
        }
        assert_eq!(body.follow("/e"), Some(Ok(Cow::Borrowed(&json!(5)))));
        assert!(body.whole.get().is_some());
        assert!(matches!(body.follow("/f"), Some(Ok(Cow::Borrowed(_)))));
    }

    #[test]
    fn a_body_that_is_not_json_reads_as_nothing_at_a_pointer() {
        let body = received("<ok/>");
        assert!(body.follow("/a").is_none());
        assert!(body.whole().is_err());
        assert_eq!(body.text(), "<ok/>");
    }

    #[test]
    fn a_parsed_body_serves_later_reads() {
        let body = received(r#"{"a":1,"b":2}"#);
        assert_eq!(body.whole(), Ok(&json!({"a": 1, "b": 2})));
        assert!(matches!(body.follow("/a"), Some(Ok(Cow::Borrowed(_)))));
    }

    #[test]
    fn token_fields_are_read_from_token_responses_only() {
        let tokens = |text: &str| received(text).token_fields();
        assert_eq!(
            tokens(r#"{"access_token":"at","scope":"x","id_token":"it","n":1}"#),
            ["at", "it"]
        );
        // Escapes spell the same names.
        assert_eq!(tokens(r#"{"refresh\u005ftoken":"rt"}"#), ["rt"]);
        assert!(tokens(r#"{"items":[{"access_token":"nested"}],"token":"t"}"#).is_empty());
        assert!(tokens(r#"{"access_token":7}"#).is_empty());
        assert!(tokens("access_token=at&id_token=it").is_empty());
        assert!(tokens(r#"{"id":1}"#).is_empty());
    }

    #[test]
    fn a_pointer_read_from_a_pruned_body_finds_what_following_it_finds() {
        let text = r#"{"a":{"b":[10,{"c~/":"x"}],"0":"zero"},"":1}"#;
        let whole: Value = serde_json::from_str(text).unwrap();
        for pointer in [
            "",
            "/a",
            "/a/b",
            "/a/b/1/c~0~1",
            "/a/0",
            "/a/b/01",
            "/a/b/2",
            "/a/b/-",
            "/",
            "a",
            "/a/b/0/x",
            "/x",
        ] {
            let body = received(text);
            let read = body.follow(pointer).and_then(Result::ok);
            let found = crate::expr::follow(&whole, pointer).ok();
            assert_eq!(read, found.map(Cow::Borrowed), "pointer {pointer:?}");
            // What is found is taken from the pruned body, not read again from the whole one.
            if found.is_some() && !pointer.is_empty() {
                assert!(matches!(read, Some(Cow::Owned(_))), "pointer {pointer:?}");
            }
        }
    }

    #[test]
    fn a_kept_pick_is_the_pick_of_its_pointer() {
        for round in 0..2 {
            for index in 0..KEPT_PICKS + 2 {
                let pointer = format!("/items/{index}/id");
                assert_eq!(
                    kept_pick(&pointer).as_deref(),
                    pick_of(&pointer).as_ref(),
                    "round {round}"
                );
            }
        }
        assert!(kept_pick("/0/1/2/3").is_none());
        assert!(kept_pick("/0/1/2/3").is_none());
        PICKS.with_borrow(|kept| assert_eq!(kept.len(), KEPT_PICKS));
    }

    #[test]
    fn many_index_like_segments_read_the_whole_body() {
        assert!(pick_of("/0/1/2").is_some());
        assert!(pick_of("/0/1/2/3").is_none());
        assert!(pick_of("no-slash").is_none());
    }
}
