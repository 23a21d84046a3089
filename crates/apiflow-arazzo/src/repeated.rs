//! Binding parses the texts a document repeats once.

use std::hash::BuildHasher as _;

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

/// What a document's texts parse to, for the texts it repeats: the steps of a document test
/// the same conditions (`$statusCode == 200`), send the same token
/// (`$steps.login.outputs.token`) and read the same members (`$response.body#/id`) again and
/// again. A text is kept the second time it is parsed, so a
/// text written once costs a hash, not a copy.
pub(crate) struct Repeated<T> {
    kept: FxHashMap<Box<str>, T>,
    seen: FxHashSet<u64>,
}

impl<T> Default for Repeated<T> {
    fn default() -> Repeated<T> {
        Repeated {
            kept: FxHashMap::default(),
            seen: FxHashSet::default(),
        }
    }
}

impl<T: Clone> Repeated<T> {
    /// Returns what `parse` makes of `text`, parsing it again only if it was not kept.
    pub(crate) fn parse<E>(
        &mut self,
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(parsed) = self.kept.get(text) {
            return Ok(parsed.clone());
        }
        let parsed = parse(text)?;
        if !self.seen.insert(FxBuildHasher.hash_one(text)) {
            self.kept.insert(text.into(), parsed.clone());
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_kept_the_second_time_it_is_parsed() {
        let mut repeated: Repeated<crate::expr::Expression> = Repeated::default();
        let parses = std::cell::Cell::new(0);
        let parse = |text: &str| {
            parses.set(parses.get() + 1);
            crate::expr::parse(text)
        };
        for _ in 0..3 {
            assert_eq!(
                repeated.parse("$response.body#/id", parse),
                crate::expr::parse("$response.body#/id")
            );
        }
        assert_eq!(parses.get(), 2, "parsed until kept");
        assert_eq!(
            repeated.parse("$steps.a.outputs.b", parse),
            crate::expr::parse("$steps.a.outputs.b")
        );
        assert_eq!(repeated.kept.len(), 1, "a text written once is not kept");
        for _ in 0..2 {
            assert_eq!(
                repeated.parse("$nope", parse),
                crate::expr::parse("$nope"),
                "a text that does not parse is told every time"
            );
        }
        assert_eq!(repeated.kept.len(), 1);
    }
}
