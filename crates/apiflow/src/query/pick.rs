//! Parses a JSON body keeping only what a step's singular paths select.
//!
//! A step that captures `$.links.next.id` from a 2 KB body needs one number of it. Building the
//! whole `serde_json::Value` (a map with a hashed index per object, a `String` per key and
//! value) and dropping it again costs more than anything else in such a step. A [`Pick`]
//! allocates only the values on its paths: it first skims the bytes with a small scanner that
//! checks them as `serde_json` would and skips what is off the paths without allocating, and
//! hands anything the scanner cannot vouch for (invalid JSON above all) to `serde_json`'s own
//! parser with a visitor that keeps the same parts. So it accepts and rejects exactly what
//! `serde_json::from_slice` does, with its errors. Querying the pruned document with those
//! paths gives what querying the whole one would.

use std::fmt;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// One part of a singular path: a member name or an array index counted from the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// `.name` or `['name']`.
    Name(String),
    /// `[2]`.
    Index(usize),
}

/// The paths a step reads, merged into one tree: what to keep of a body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pick {
    /// A path ends here: keep the whole value.
    whole: bool,
    /// Members to descend into.
    names: Vec<(String, Pick)>,
    /// Array elements to descend into.
    indices: Vec<(usize, Pick)>,
}

impl Pick {
    /// Adds a path, given as its parts from the root.
    pub fn add(&mut self, parts: &[Part]) {
        let Some((first, rest)) = parts.split_first() else {
            self.whole = true;
            return;
        };
        let child = match first {
            Part::Name(name) => child(&mut self.names, name),
            Part::Index(index) => child(&mut self.indices, index),
        };
        child.add(rest);
    }

    /// Parses `body` as JSON, with `serde_json::from_slice`'s errors, keeping only the values
    /// on the paths (members off the paths are left out, array elements off them become `null`
    /// so that indices still count right).
    pub fn parse(&self, body: &[u8]) -> serde_json::Result<Value> {
        // A pick of the whole body has nothing to skip, so skimming it first would only add a
        // pass.
        if !self.whole
            && let Some(value) = self.skim(body)
        {
            return Ok(value);
        }
        self.parse_with_serde(body)
    }

    /// Parses `body` with `serde_json`'s parser: the reference for what [`Pick::skim`] may
    /// return, and the path that produces `serde_json`'s errors.
    fn parse_with_serde(&self, body: &[u8]) -> serde_json::Result<Value> {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let value = self.deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(value)
    }

    /// Walks `body` once, checking it as strictly as `serde_json::from_slice` does, and returns
    /// what [`Pick::parse_with_serde`] returns; `None` when the body is invalid or when it is
    /// not sure (see [`Skimmer`]), so that the caller falls back to `serde_json`.
    fn skim(&self, body: &[u8]) -> Option<Value> {
        let mut skimmer = Skimmer { body, pos: 0 };
        skimmer.whitespace();
        let value = skimmer.picked(self, 0)?;
        skimmer.whitespace();
        (skimmer.pos == body.len()).then_some(value)
    }
}

/// Finds the child for `key`, adding an empty one when there is none.
fn child<'p, K: PartialEq + Clone>(children: &'p mut Vec<(K, Pick)>, key: &K) -> &'p mut Pick {
    let index = children
        .iter()
        .position(|(k, _)| k == key)
        .unwrap_or_else(|| {
            // Most paths share no part: room for one, not the four a first push reserves.
            children.reserve_exact(1);
            children.push((key.clone(), Pick::default()));
            children.len() - 1
        });
    &mut children[index].1
}

impl<'de> DeserializeSeed<'de> for &Pick {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.whole {
            Value::deserialize(deserializer)
        } else {
            deserializer.deserialize_any(self)
        }
    }
}

/// A scalar where a path goes on deeper selects nothing, so it is kept as `null`.
impl<'de> Visitor<'de> for &Pick {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_str<E>(self, _: &str) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        // Elements up to the last index a path names are kept (as `null` when off the paths).
        let kept = self.indices.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
        let mut items = Vec::with_capacity(kept.min(seq.size_hint().unwrap_or(kept)));
        for index in 0.. {
            let next = match self.indices.iter().find(|(i, _)| *i == index) {
                Some((_, pick)) => seq.next_element_seed(pick)?,
                None => seq.next_element::<Skip>()?.map(|Skip| Value::Null),
            };
            match next {
                Some(value) if index < kept => items.push(value),
                Some(_) => {}
                None => break,
            }
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut kept = Map::new();
        while let Some(member) = map.next_key_seed(Member(&self.names))? {
            match member {
                Some(index) => {
                    let (name, pick) = &self.names[index];
                    // A repeated member replaces the earlier one, as in a whole parse.
                    kept.insert(name.clone(), map.next_value_seed(pick)?);
                }
                None => {
                    map.next_value::<Skip>()?;
                }
            }
        }
        Ok(Value::Object(kept))
    }
}

/// Reads a member name and says which of `names` it is, without allocating.
struct Member<'p>(&'p [(String, Pick)]);

impl<'de> DeserializeSeed<'de> for Member<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Member<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_str<E>(self, name: &str) -> Result<Option<usize>, E> {
        Ok(self.0.iter().position(|(n, _)| n == name))
    }
}

/// Any JSON value, checked as strictly as a whole parse checks it, and dropped.
struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Skip, D::Error> {
        // Not `deserialize_ignored_any`: that skips without checking strings, numbers and
        // nesting depth, and would accept bodies a whole parse rejects.
        deserializer.deserialize_any(SkipVisitor)
    }
}

struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Skip, Skip>()?.is_some() {}
        Ok(Skip)
    }
}

/// Containers deeper than this make [`Skimmer`] give up. `serde_json` fails at 128; stopping well
/// before that leaves no doubt about where exactly it counts. Below 128, so that [`skip`] can
/// keep the kinds of the open containers in the bits of a `u128`.
const MAX_DEPTH: usize = 100;

/// Digits (before and after the point) a number without an exponent may have before
/// [`Skimmer`] gives up on it. `serde_json` fails on a number that overflows `f64` (above about
/// `1.8e308`); below `1e300` none does, whatever `serde_json` rounds.
const MAX_DIGITS: usize = 300;
/// Digits a number with an exponent may have before [`Skimmer`] gives up on it: with the
/// exponent's own limit, it stays below `1e299`.
const MAX_DIGITS_WITH_EXPONENT: usize = 200;
/// Digits an exponent may have before [`Skimmer`] gives up on its number.
const MAX_EXPONENT_DIGITS: usize = 2;

/// A cursor that checks JSON as `serde_json::from_slice` does while keeping only what a
/// [`Pick`] selects. Every method (and every function below that it calls) returns `None` both
/// for invalid JSON and for what it does not vouch for: nesting deeper than [`MAX_DEPTH`],
/// numbers with many digits or a long exponent, `\u` escapes of UTF-16 surrogates other than a
/// well-formed pair, and a member name with escapes where the pick compares names.
struct Skimmer<'b> {
    body: &'b [u8],
    pos: usize,
}

impl<'b> Skimmer<'b> {
    /// Returns the byte at the cursor.
    fn peek(&self) -> Option<u8> {
        self.body.get(self.pos).copied()
    }

    /// Moves past `byte` if it is the one at the cursor, and says whether it was.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    /// Moves past whitespace.
    fn whitespace(&mut self) {
        self.pos = whitespace_end(self.body, self.pos);
    }

    /// Reads the value at the cursor keeping what `pick` selects of it, as
    /// [`Pick::parse_with_serde`] does. `depth` counts the containers around the value.
    fn picked(&mut self, pick: &Pick, depth: usize) -> Option<Value> {
        if pick.whole {
            // serde_json builds the value from its own bytes exactly as it would in place: the
            // depth around it is already checked, and a number or string reads the same.
            let start = self.pos;
            self.skip(depth)?;
            return serde_json::from_slice(self.body.get(start..self.pos)?).ok();
        }
        match self.peek()? {
            b'{' => self.object(pick, deeper(depth)?),
            b'[' => self.array(pick, deeper(depth)?),
            // A scalar where a path goes on deeper selects nothing.
            _ => self.skip(depth).map(|()| Value::Null),
        }
    }

    /// Reads the object at the cursor keeping the members `pick` names. `depth` counts the
    /// object itself.
    fn object(&mut self, pick: &Pick, depth: usize) -> Option<Value> {
        let mut kept = Map::new();
        self.members(|skimmer, name| {
            if pick.names.is_empty() {
                return skimmer.skip(depth);
            }
            // An escaped name is not its text (`"a\u0062"` is `ab`).
            if name.contains(&b'\\') {
                return None;
            }
            match pick.names.iter().find(|(n, _)| n.as_bytes() == name) {
                Some((name, child)) => {
                    // The same `Map::insert` as the serde path: a repeated member replaces the
                    // earlier one where that one stood.
                    kept.insert(name.clone(), skimmer.picked(child, depth)?);
                    Some(())
                }
                None => skimmer.skip(depth),
            }
        })?;
        Some(Value::Object(kept))
    }

    /// Reads the array at the cursor keeping the elements up to the last index `pick` names,
    /// those off its paths as `null`. `depth` counts the array itself.
    fn array(&mut self, pick: &Pick, depth: usize) -> Option<Value> {
        let kept = pick.indices.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
        let mut items = Vec::with_capacity(kept);
        self.elements(|skimmer, index| {
            let item = match pick.indices.iter().find(|(i, _)| *i == index) {
                Some((_, child)) => skimmer.picked(child, depth)?,
                None => skimmer.skip(depth).map(|()| Value::Null)?,
            };
            if index < kept {
                items.push(item);
            }
            Some(())
        })?;
        Some(Value::Array(items))
    }

    /// Walks the object at the cursor, calling `each` with every member's name (what stands
    /// between its quotes, escapes as written) and the cursor at its value; `each` must move
    /// past the value.
    fn members(&mut self, mut each: impl FnMut(&mut Self, &'b [u8]) -> Option<()>) -> Option<()> {
        self.pos += 1;
        self.whitespace();
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let start = self.pos;
            let end = string_end(self.body, start)?;
            let name = self.body.get(start + 1..end - 1)?;
            self.pos = colon_end(self.body, end)?;
            each(self, name)?;
            self.whitespace();
            if self.eat(b'}') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
            self.whitespace();
        }
    }

    /// Walks the array at the cursor, calling `each` with every element's index and the cursor
    /// at the element; `each` must move past the element.
    fn elements(&mut self, mut each: impl FnMut(&mut Self, usize) -> Option<()>) -> Option<()> {
        self.pos += 1;
        self.whitespace();
        if self.eat(b']') {
            return Some(());
        }
        let mut index = 0;
        loop {
            each(self, index)?;
            self.whitespace();
            if self.eat(b']') {
                return Some(());
            }
            if !self.eat(b',') {
                return None;
            }
            self.whitespace();
            index += 1;
        }
    }

    /// Checks the value at the cursor and moves past it. `depth` counts the containers around
    /// it.
    fn skip(&mut self, depth: usize) -> Option<()> {
        self.pos = skip(self.body, self.pos, depth)?;
        Some(())
    }
}

/// Checks the value at `pos` and returns where it ends. `depth` counts the containers around
/// it.
///
/// Most of a body is skipped, and a call per value would cost as much as checking the value,
/// so nested containers are walked in one loop: `open` holds a bit per container opened here
/// and not yet closed, the innermost lowest, set for an object.
fn skip(body: &[u8], mut pos: usize, depth: usize) -> Option<usize> {
    let mut open: u128 = 0;
    let mut level = 0;
    loop {
        // At a value.
        match *body.get(pos)? {
            byte @ (b'{' | b'[') => {
                let object = byte == b'{';
                deeper(depth + level)?;
                pos = whitespace_end(body, pos + 1);
                if body.get(pos) == Some(if object { &b'}' } else { &b']' }) {
                    pos += 1;
                } else {
                    level += 1;
                    open = open << 1 | u128::from(object);
                    if object {
                        pos = colon_end(body, string_end(body, pos)?)?;
                    }
                    continue;
                }
            }
            b'"' => pos = string_end(body, pos)?,
            b't' => pos = literal_end(body, pos, b"true")?,
            b'f' => pos = literal_end(body, pos, b"false")?,
            b'n' => pos = literal_end(body, pos, b"null")?,
            b'-' | b'0'..=b'9' => pos = number_end(body, pos)?,
            _ => return None,
        }
        // After a value: close the containers it ends, then go on to the next value, if any.
        loop {
            if level == 0 {
                return Some(pos);
            }
            pos = whitespace_end(body, pos);
            let object = open & 1 == 1;
            match *body.get(pos)? {
                b',' => {
                    pos = whitespace_end(body, pos + 1);
                    if object {
                        pos = colon_end(body, string_end(body, pos)?)?;
                    }
                    break;
                }
                b'}' if object => {}
                b']' if !object => {}
                _ => return None,
            }
            pos += 1;
            level -= 1;
            open >>= 1;
        }
    }
}

/// Returns the depth inside a container at `depth`, or `None` beyond [`MAX_DEPTH`].
fn deeper(depth: usize) -> Option<usize> {
    (depth < MAX_DEPTH).then_some(depth + 1)
}

/// Skips JSON's whitespace from `pos` on (space, tab, line feed and carriage return, nothing
/// else) and returns where it ends.
fn whitespace_end(body: &[u8], mut pos: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = body.get(pos) {
        pos += 1;
    }
    pos
}

/// Checks the colon (with whitespace around it) after a member's name, which ends at `pos`,
/// and returns where the member's value starts.
#[inline]
fn colon_end(body: &[u8], pos: usize) -> Option<usize> {
    let pos = whitespace_end(body, pos);
    if body.get(pos) != Some(&b':') {
        return None;
    }
    Some(whitespace_end(body, pos + 1))
}

/// Checks that `word` (`true`, `false` or `null`) stands at `pos` and returns where it ends.
fn literal_end(body: &[u8], pos: usize, word: &[u8]) -> Option<usize> {
    let end = pos + word.len();
    (body.get(pos..end)? == word).then_some(end)
}

/// Checks the number at `pos` and returns where it ends: `-`? (`0` | [1-9][0-9]*)
/// (`.` [0-9]+)? ([eE] [+-]? [0-9]+)?, with few enough digits that it cannot overflow.
fn number_end(body: &[u8], mut pos: usize) -> Option<usize> {
    if body.get(pos) == Some(&b'-') {
        pos += 1;
    }
    let whole = digits(body, pos);
    // One leading `0` at most: `01` is an error, not one.
    if whole == 0 || (whole > 1 && body.get(pos) == Some(&b'0')) {
        return None;
    }
    pos += whole;
    let mut fraction = 0;
    if body.get(pos) == Some(&b'.') {
        fraction = digits(body, pos + 1);
        if fraction == 0 {
            return None;
        }
        pos += 1 + fraction;
    }
    let mut limit = MAX_DIGITS;
    if let Some(b'e' | b'E') = body.get(pos) {
        pos += 1;
        if let Some(b'+' | b'-') = body.get(pos) {
            pos += 1;
        }
        let exponent = digits(body, pos);
        if exponent == 0 || exponent > MAX_EXPONENT_DIGITS {
            return None;
        }
        pos += exponent;
        limit = MAX_DIGITS_WITH_EXPONENT;
    }
    (whole + fraction <= limit).then_some(pos)
}

/// Counts the ASCII digits starting at `pos`.
fn digits(body: &[u8], pos: usize) -> usize {
    body.get(pos..).map_or(0, |rest| {
        rest.iter().take_while(|b| b.is_ascii_digit()).count()
    })
}

/// Checks the string whose opening quote is at `pos` and returns where it ends, after its
/// closing quote.
// Inlined into the loops that skip: a call costs as much as checking a short string, and a
// body is mostly short strings.
#[inline]
fn string_end(body: &[u8], pos: usize) -> Option<usize> {
    if body.get(pos) != Some(&b'"') {
        return None;
    }
    let end = plain_end(body, pos + 1);
    // Most strings are ASCII without escapes, and end here.
    if body.get(end) == Some(&b'"') {
        return Some(end + 1);
    }
    string_rest(body, end)
}

/// Goes on with a string from `pos`, a byte [`plain_end`] stopped at, to where it ends.
#[cold]
#[inline(never)]
fn string_rest(body: &[u8], mut pos: usize) -> Option<usize> {
    loop {
        match *body.get(pos)? {
            b'"' => return Some(pos + 1),
            b'\\' => pos = escape_end(body, pos)?,
            0x80.. => pos = utf8_end(body, pos)?,
            // A control character, which JSON allows only escaped.
            _ => return None,
        }
        pos = plain_end(body, pos);
    }
}

/// Finds the first byte at or after `pos` (or the end of `body`) that string content cannot
/// pass unchecked: a quote, a backslash, a control character or a byte from 0x80 on.
#[inline]
fn plain_end(body: &[u8], mut pos: usize) -> usize {
    // Eight bytes at a time, after Mycroft's test for a zero byte (as serde_json does it): a
    // byte's high bit ends up set in `found` when the byte is from 0x80 on, the backslash,
    // below 0x20 or the quote (0x22: flipping bit 1 makes those the bytes up to 0x20), or lies
    // above one of those (through a borrow). So the lowest set bit marks the first match.
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = body.get(pos..pos + 8) {
        let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        let word = u64::from_le_bytes(bytes);
        let control_or_quote = (word ^ (ONES * 0x02)).wrapping_sub(ONES * 0x21);
        let backslash = (word ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES);
        let found = (word | control_or_quote | backslash) & HIGH;
        if found != 0 {
            return pos + (found.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    let plain = |byte: &&u8| !matches!(byte, b'"' | b'\\' | ..0x20 | 0x80..);
    pos + body
        .get(pos..)
        .map_or(0, |rest| rest.iter().take_while(plain).count())
}

/// Checks the escape whose backslash is at `pos` and returns where it ends. A `\u` escape of a
/// UTF-16 surrogate is accepted only as a high one directly followed by an escaped low one.
fn escape_end(body: &[u8], pos: usize) -> Option<usize> {
    match *body.get(pos + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(pos + 2),
        b'u' => match hex4(body, pos + 2)? {
            0xD800..=0xDBFF => {
                let low = match body.get(pos + 6..pos + 8)? {
                    b"\\u" => hex4(body, pos + 8)?,
                    _ => return None,
                };
                (0xDC00..=0xDFFF).contains(&low).then_some(pos + 12)
            }
            0xDC00..=0xDFFF => None,
            _ => Some(pos + 6),
        },
        _ => None,
    }
}

/// Reads the four hex digits (of either case) at `pos`.
fn hex4(body: &[u8], pos: usize) -> Option<u32> {
    body.get(pos..pos + 4)?.iter().try_fold(0, |unit, &digit| {
        Some(unit * 16 + char::from(digit).to_digit(16)?)
    })
}

/// Checks the run of bytes from 0x80 on that starts at `pos` and returns where it ends. The
/// run must be whole UTF-8 characters, since the ASCII byte after it cannot continue one; this
/// is the only place where a body may hold such bytes, so a skimmed body is valid UTF-8.
fn utf8_end(body: &[u8], pos: usize) -> Option<usize> {
    let rest = body.get(pos..)?;
    let run = rest.iter().take_while(|b| !b.is_ascii()).count();
    std::str::from_utf8(rest.get(..run)?).ok()?;
    Some(pos + run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::jsonpath::JsonPath;
    use proptest::strategy::Strategy as _;

    fn pick(paths: &[&str]) -> (Pick, Vec<JsonPath>) {
        let mut pick = Pick::default();
        let compiled: Vec<JsonPath> = paths.iter().map(|p| JsonPath::parse(p).unwrap()).collect();
        for path in &compiled {
            pick.add(path.singular_parts().expect("singular"));
        }
        (pick, compiled)
    }

    /// The pruned document answers every path as the whole one does.
    fn same_answers(body: &str, paths: &[&str]) {
        let (pick, compiled) = pick(paths);
        let whole: Value = serde_json::from_str(body).unwrap();
        let pruned = pick.parse(body.as_bytes()).unwrap();
        for path in &compiled {
            assert_eq!(path.query(&pruned), path.query(&whole), "{path} on {body}");
        }
    }

    #[test]
    fn keeps_only_the_values_on_the_paths() {
        let (pick, _) = pick(&["$.links.next.id", "$.items[1].name"]);
        let body = r#"{"id":1,"links":{"self":"/1","next":{"id":8,"href":"/8"}},
            "items":[{"name":"a"},{"name":"b","x":[1,2]},{"name":"c"}]}"#;
        assert_eq!(
            pick.parse(body.as_bytes()).unwrap(),
            serde_json::json!({"links":{"next":{"id":8}},"items":[null,{"name":"b"}]})
        );
    }

    #[test]
    fn answers_as_the_whole_document_does() {
        let body = r#"{"a":{"b":[10,{"c":"x\"y"},[1]]},"a\u0062":2,"n":null,"s":"t","d":1,"d":2}"#;
        same_answers(
            body,
            &[
                "$.a.b[1].c",
                "$.a.b[0]",
                "$.a.b[7]",
                "$.ab",
                "$.n",
                "$.n.deeper",
                "$.s.deeper",
                "$.s[0]",
                "$.a[0]",
                "$.missing",
                "$.d",
                "$['a']['b'][2][0]",
                "$",
            ],
        );
        same_answers("[1,[2,3]]", &["$[1][0]", "$[5]", "$.x"]);
        same_answers("\"text\"", &["$.x", "$[0]"]);
    }

    #[test]
    fn rejects_what_a_whole_parse_rejects() {
        let (pick, _) = pick(&["$.a"]);
        let deep = format!("{{\"b\":{}{}}}", "[".repeat(200), "]".repeat(200));
        for body in [
            r#"{"a":1,"b":"\ud800"}"#,
            r#"{"a":1,"b":1e400}"#,
            "{\"a\":1,\"b\":\"\u{1}\"}",
            r#"{"a":1,"b":[1,]}"#,
            r#"{"a":1} x"#,
            r#"{"a":1,"b":tru}"#,
            deep.as_str(),
        ] {
            let whole = serde_json::from_str::<Value>(body).map_err(|e| e.to_string());
            let pruned = pick.parse(body.as_bytes()).map_err(|e| e.to_string());
            assert!(whole.is_err(), "{body}");
            assert_eq!(pruned.map(|_| ()), whole.map(|_| ()), "{body}");
            assert_eq!(pick.skim(body.as_bytes()), None, "{body}");
        }
        assert!(pick.parse(b"{\"a\":1,\"b\":\"\xff\"}").is_err());
        assert_eq!(pick.skim(b"{\"a\":1,\"b\":\"\xff\"}"), None);
    }

    /// Picks to try fixed bodies with: a member, an element, both, and the whole body.
    fn some_picks() -> Vec<Pick> {
        let name = || Part::Name("a".to_owned());
        [
            vec![vec![name()]],
            vec![vec![Part::Index(0)]],
            vec![vec![name(), Part::Index(1)], vec![Part::Index(2), name()]],
            vec![vec![]],
        ]
        .iter()
        .map(|paths| pick_of(paths))
        .collect()
    }

    fn pick_of(paths: &[Vec<Part>]) -> Pick {
        let mut pick = Pick::default();
        for path in paths {
            pick.add(path);
        }
        pick
    }

    #[test]
    fn skims_nothing_a_whole_parse_rejects() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let long_integer = "9".repeat(400);
        let bodies = [
            "",
            "   ",
            "\n",
            "01",
            "-01",
            "-",
            "-a",
            "1.",
            "1.e5",
            ".5",
            "1e",
            "1e+",
            "+1",
            "0x1",
            "[1,]",
            "[,1]",
            "[1 2]",
            "[1",
            "[",
            "]",
            "[]]",
            "{}}",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a"}"#,
            "{1:2}",
            "{'a':1}",
            r#"{"a":1"#,
            r#""\x""#,
            r#""\u12""#,
            r#""\u12g4""#,
            "\"\u{1}\"",
            "\"\u{1f}\"",
            "\"a\tb\"",
            "\"\n\"",
            "[\u{1}]",
            r#""abc"#,
            r#""\"#,
            "nul",
            "nulll",
            "truex",
            "True",
            "NaN",
            "Infinity",
            "{} x",
            "[1] [2]",
            "1 2",
            "{}\u{0}",
            "\u{feff}{}",
            "\u{a0}1",
            "\u{b}1",
            "\u{c}1",
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\ud800\n""#,
            r#""\ud800\ud800""#,
            "1e400",
            "-1e400",
            &long_integer,
            &nested(128),
            &nested(129),
        ];
        for pick in some_picks() {
            for body in bodies {
                let whole = serde_json::from_str::<Value>(body).map_err(|e| e.to_string());
                assert!(whole.is_err(), "{body:?}");
                assert_eq!(pick.skim(body.as_bytes()), None, "{body:?}");
                let pruned = pick.parse(body.as_bytes()).map_err(|e| e.to_string());
                assert_eq!(pruned.map(|_| ()), whole.map(|_| ()), "{body:?}");
            }
            // Not UTF-8: cut short, overlong, a surrogate, beyond U+10FFFF, a stray continuation
            // byte; and valid UTF-8 outside a string.
            for body in [
                &b"\"\xc3\""[..],
                b"\"\xc3(\"",
                b"\"\xe2\x82\"",
                b"\"\xc0\xaf\"",
                b"\"\xed\xa0\x80\"",
                b"\"\xf4\x90\x80\x80\"",
                b"\"\x80\"",
                b"\"a\xbf\"",
                b"{\"\xff\":1}",
                b"\"\xc3\xa9\xa9\"",
                "é".as_bytes(),
                "[1,é]".as_bytes(),
                "{\"a\":1}é".as_bytes(),
                "\"\"é".as_bytes(),
            ] {
                assert!(serde_json::from_slice::<Value>(body).is_err(), "{body:?}");
                assert_eq!(pick.skim(body), None, "{body:?}");
                assert!(pick.parse(body).is_err(), "{body:?}");
            }
        }
    }

    #[test]
    fn skims_valid_bodies_or_leaves_them_to_serde() {
        let fraction = format!("0.{}1", "0".repeat(400));
        // Valid, and beyond what the skimmer vouches for: left to serde_json.
        let left = [
            "1e308",
            "1.7976931348623157e308",
            "1e-400",
            "0e999",
            &fraction,
            &"9".repeat(301),
            &format!("[{}]", "[".repeat(100) + &"]".repeat(100)),
            &"[".repeat(127)
                .chars()
                .chain("]".repeat(127).chars())
                .collect::<String>(),
        ];
        // Valid, with escaped member names: left to serde_json by a pick that compares names.
        let escaped = [r#"{"a\u0062":1,"a":2}"#, r#"{"\u0061":1,"é":2}"#];
        // Valid and within it: skimmed.
        let skimmed = [
            r#""\ud800\udc00""#,
            r#"["\uD83D\uDE00","\ud83d\ude00x",{"a":"\udbff\udfff"}]"#,
            "\"\\u00e9\\u00E9\\\"\\\\\\/\\b\\f\\n\\r\\t é😀\u{7f}\"",
            " \t\r\n{ \"a\" : [ 1 , -0 , 0.5 , -1.25e-3 , 2E+10 , 3e99 ] } \n",
            r#"{"a":1,"b":2,"a":3}"#,
            r#"{"a":{"x":1},"b":2,"a":[5,6,7]}"#,
            r#"[[1,2,3],{"a":[1,2,3]},[{"a":null}]]"#,
            r#"{"a":"\u0000\u001f\u0020\uffff"}"#,
            "[true,false,null,0,1,-1,10,1.5,1e5,1E-5,-0.0e0]",
            &"9".repeat(300),
            &format!("{}e99", "9".repeat(200)),
            &format!("-0.{}e-99", "0".repeat(199)),
            &"[".repeat(100)
                .chars()
                .chain("]".repeat(100).chars())
                .collect::<String>(),
        ];
        for pick in some_picks() {
            for body in left.iter().chain(&escaped).chain(&skimmed) {
                let expected = pick.parse_with_serde(body.as_bytes()).unwrap();
                assert_eq!(pick.parse(body.as_bytes()).unwrap(), expected, "{body}");
                let leave = left.contains(body) || escaped.contains(body) && !pick.names.is_empty();
                let skim = pick.skim(body.as_bytes());
                assert_eq!(skim, (!leave).then_some(expected), "{body}");
            }
        }
    }

    #[test]
    fn keeps_a_repeated_member_where_serde_json_does() {
        let body = br#"{"a":1,"b":{"c":2},"x":0,"a":3,"b":{"d":4}}"#;
        let pick = pick_of(&[
            vec![Part::Name("a".to_owned())],
            vec![Part::Name("b".to_owned()), Part::Name("c".to_owned())],
        ]);
        let skimmed = pick.skim(body).unwrap();
        assert_eq!(skimmed, serde_json::json!({"a": 3, "b": {}}));
        let order = |value: &Value| {
            value
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(
            order(&skimmed),
            order(&pick.parse_with_serde(body).unwrap())
        );
    }

    #[test]
    fn finds_the_end_of_plain_string_content_at_any_offset() {
        for stop in [b'"', b'\\', 0, 0x1f, 0x80, 0xc3, 0xff] {
            for start in 0..3 {
                for at in start..20 {
                    let mut body: Vec<u8> = b"\x7f ~!#[]{}aZ09^`|}"
                        .iter()
                        .copied()
                        .cycle()
                        .take(at)
                        .collect();
                    body.push(stop);
                    body.extend_from_slice("\u{7f}é a\"".as_bytes());
                    assert_eq!(plain_end(&body, start), at);
                    assert_eq!(plain_end(&body[..at], start), at);
                }
            }
        }
    }

    /// A body like the benchmark server's items: 2 KB with a link to follow.
    fn item_body() -> String {
        let history: Vec<Value> = (0..20)
            .map(|seq| {
                serde_json::json!({
                    "seq": seq, "event": "updated", "actor": format!("user-{seq:03}"),
                    "at": "2024-02-11T08:00:00Z", "done": seq % 2 == 0,
                    "score": 0.25 * f64::from(seq), "note": null,
                })
            })
            .collect();
        serde_json::to_string(&serde_json::json!({
            "id": 1, "type": "item", "name": "item-0000001", "status": "active",
            "owner": {"id": 1, "name": "owner-01", "email": "owner-01@example.test"},
            "links": {"self": "/items/1", "next": {"id": 10, "href": "/items/10"}},
            "attributes": {"weight": 1.01, "ratio": 1e-4, "flags": [true, false]},
            "history": history,
            "description": "lorem ipsum dolor sit amet, consectetur adipiscing elit \u{e9}",
        }))
        .unwrap()
    }

    #[test]
    fn skims_a_typical_item_body() {
        let body = item_body();
        assert!((1800..2600).contains(&body.len()), "{}", body.len());
        let (pick, _) = pick(&["$.links.next.id", "$.history[3].actor"]);
        let skimmed = pick.skim(body.as_bytes()).expect("the fast path");
        assert_eq!(skimmed, pick.parse_with_serde(body.as_bytes()).unwrap());
        assert_eq!(skimmed["links"]["next"]["id"], 10);
        assert_eq!(skimmed["history"][3]["actor"], "user-003");
    }

    fn document() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6..1e6f64).prop_map(Value::from),
            // Serialized with an exponent, as in `1.5e-25`.
            (any::<i32>(), -30..30i32).prop_map(|(m, e)| Value::from(f64::from(m) * 10f64.powi(e))),
            "[a-c\\\\\"]{0,3}".prop_map(Value::from),
            "[a-c\\\\\"/\u{1}\u{1f}\n\t\u{7f}é😀 ]{0,6}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-cé]", inner), 0..4)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    fn path() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let part = prop_oneof![
            "[a-c]".prop_map(|n| format!(".{n}")),
            (0..4u8).prop_map(|i| format!("[{i}]"))
        ];
        proptest::collection::vec(part, 0..4).prop_map(|parts| format!("${}", parts.concat()))
    }

    /// JSON text written by hand rather than by `serde_json`: escapes, surrogate pairs, spacing,
    /// number forms, repeated members. Also says whether a member name has an escape (which
    /// the skimmer leaves to `serde_json` when it compares names).
    fn text() -> impl proptest::strategy::Strategy<Value = (String, bool)> {
        use proptest::prelude::*;
        use proptest::sample::select;
        let piece = select(vec![
            "a",
            "b c",
            "é",
            "😀",
            "\u{7f}",
            r"\u00e9",
            r"\u00E9",
            r"\ud83d\ude00",
            r"\uD83D\uDE00",
            r#"\""#,
            r"\\",
            r"\/",
            r"\b\f\n\r\t",
            r"\u0000",
            r"\u001F",
        ]);
        let string =
            proptest::collection::vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()));
        let number = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            select(vec![
                "0",
                "-0",
                "0.5",
                "-12.250",
                "1e5",
                "1E+5",
                "2.5e-3",
                "-0.0e0",
                "1e99",
                "1e-99",
                "123456789012345678901234567890",
                "0.000000000000000000000000000001",
                "18446744073709551616",
                "-9223372036854775809",
            ])
            .prop_map(str::to_owned),
        ];
        let leaf = prop_oneof![
            select(vec!["null", "true", "false"]).prop_map(str::to_owned),
            number,
            string,
        ]
        .prop_map(|leaf| (leaf, false));
        let space = || select(vec!["", " ", "\n  ", "\t", "\r\n"]);
        let name = select(vec![
            ("a", false),
            ("b", false),
            ("c", false),
            ("ab", false),
            ("é", false),
            (r"a\u0062", true),
            (r"\u0061", true),
            (r"\u00e9", true),
        ]);
        let text = leaf.prop_recursive(4, 32, 4, move |inner| {
            prop_oneof![
                (proptest::collection::vec(inner.clone(), 0..4), space()).prop_map(|(items, s)| {
                    let escaped = items.iter().any(|(_, e)| *e);
                    let items: Vec<String> = items.into_iter().map(|(t, _)| t).collect();
                    (
                        format!("[{s}{}{s}]", items.join(&format!("{s},{s}"))),
                        escaped,
                    )
                }),
                (
                    proptest::collection::vec((name.clone(), inner), 0..5),
                    space()
                )
                    .prop_map(|(members, s)| {
                        let escaped = members.iter().any(|((_, n), (_, v))| *n || *v);
                        let members: Vec<String> = members
                            .into_iter()
                            .map(|((n, _), (v, _))| format!("\"{n}\"{s}:{s}{v}"))
                            .collect();
                        (
                            format!("{{{s}{}{s}}}", members.join(&format!("{s},{s}"))),
                            escaped,
                        )
                    }),
            ]
        });
        (space(), text, space()).prop_map(|(before, (text, escaped), after)| {
            (format!("{before}{text}{after}"), escaped)
        })
    }

    /// Random singular paths, as parts.
    fn any_paths() -> impl proptest::strategy::Strategy<Value = Vec<Vec<Part>>> {
        use proptest::prelude::*;
        let part = prop_oneof![
            proptest::sample::select(vec!["a", "b", "c", "ab", "é"])
                .prop_map(|n| Part::Name(n.to_owned())),
            (0..4usize).prop_map(Part::Index),
        ];
        proptest::collection::vec(proptest::collection::vec(part, 0..4), 1..4)
    }

    /// Replaces, inserts or deletes one byte of `body`.
    fn mutate(body: &mut Vec<u8>, at: proptest::sample::Index, edit: u8, byte: u8) {
        match edit {
            0 if !body.is_empty() => {
                let at = at.index(body.len());
                body[at] = byte;
            }
            1 if !body.is_empty() => {
                body.remove(at.index(body.len()));
            }
            _ => body.insert(at.index(body.len() + 1), byte),
        }
    }

    proptest::proptest! {
        #[test]
        fn skims_generated_documents_as_serde_json_parses_them(
            doc in document(),
            paths in any_paths(),
        ) {
            let pick = pick_of(&paths);
            let body = serde_json::to_vec(&doc).unwrap();
            let expected = pick.parse_with_serde(&body).unwrap();
            // Never left to serde_json: nothing serde_json writes from these is beyond the
            // skimmer.
            proptest::prop_assert_eq!(pick.skim(&body), Some(expected));
        }

        #[test]
        fn skims_handwritten_text_as_serde_json_parses_it(
            (text, escaped_name) in text(),
            paths in any_paths(),
        ) {
            let pick = pick_of(&paths);
            let expected = pick.parse_with_serde(text.as_bytes()).unwrap();
            match pick.skim(text.as_bytes()) {
                Some(skimmed) => proptest::prop_assert_eq!(skimmed, expected),
                None => proptest::prop_assert!(escaped_name, "left to serde_json: {}", text),
            }
        }

        #[test]
        fn skims_nothing_serde_json_rejects_in_mutated_bodies(
            body in proptest::prop_oneof![
                document().prop_map(|doc| serde_json::to_string(&doc).unwrap()),
                text().prop_map(|(text, _)| text),
            ],
            paths in any_paths(),
            at in proptest::prelude::any::<proptest::sample::Index>(),
            edit in 0..3u8,
            byte in proptest::prop_oneof![
                proptest::prelude::any::<u8>(),
                proptest::sample::select(b"\"\\{}[],:-+.0159eEuxtfn \t\n\x01\x7f\xc3\xa9".to_vec()),
            ],
        ) {
            let pick = pick_of(&paths);
            let mut body = body.into_bytes();
            mutate(&mut body, at, edit, byte);
            if let Some(skimmed) = pick.skim(&body) {
                proptest::prop_assert!(serde_json::from_slice::<Value>(&body).is_ok());
                proptest::prop_assert_eq!(Some(skimmed), pick.parse_with_serde(&body).ok());
            }
        }

        #[test]
        fn any_singular_paths_answer_as_on_the_whole_document(
            doc in document(),
            paths in proptest::collection::vec(path(), 1..4),
        ) {
            let body = serde_json::to_string(&doc).unwrap();
            let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
            same_answers(&body, &paths);
        }
    }
}
