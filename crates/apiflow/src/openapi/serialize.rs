//! Parameter values written as OpenAPI's `style` and `explode` say (OpenAPI 3.2, "Style
//! Values" and "Style Examples"; RFC 6570 expansions), percent-encoded as RFC 3986 and RFC
//! 6570 require.
//!
//! In order: the value is sorted into undefined (`null`, `""`, an empty list or object), a
//! plain value, a list of plain values or an object of plain values; the style and `explode`
//! pick the delimiters; names and values are percent-encoded unless they go to a header or a
//! `cookie`-style cookie, which are sent as given.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::{Location, Parameter, Style};

/// A parameter written out, ready for where it goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Serialized {
    /// The encoded text that replaces `{name}` in the path (with the style's prefix).
    Path(String),
    /// Encoded `name=value` pieces of the query string, in order, to join with `&`.
    Query(Vec<String>),
    /// The whole query string, encoded, without the leading `?`.
    Querystring(String),
    /// The header's value, as given (OpenAPI forbids percent-encoding headers).
    Header(String),
    /// `name=value` pieces of the `Cookie` header, in order, to join with `; `.
    Cookie(Vec<String>),
}

/// The characters RFC 6570's simple expansion leaves as they are: RFC 3986's unreserved.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// RFC 3986's reserved characters, which `allowReserved` leaves as they are, but for those a
/// query gives meaning to (`#` ends it, `&` and `+` split and mean a space in a form).
const RESERVED_KEPT: &[u8] = b":/?[]@!$'()*,;=";

/// A value as the styles see it.
enum Shape {
    Undefined,
    Plain(String),
    List(Vec<String>),
    Object(Vec<(String, String)>),
}

/// Writes a parameter's value as its `style`, `explode` and `in` say, or says why it cannot be
/// (a style OpenAPI does not define for that value or place, a nested value).
pub fn serialize(param: &Parameter, value: &Value) -> Result<Serialized, String> {
    let name = &param.name;
    if let Some(media) = &param.content_type {
        return Ok(with_content(param, media, value));
    }
    if param.location == Location::Querystring {
        return Ok(Serialized::Querystring(querystring(value)));
    }
    let allowed = match param.style {
        Style::Matrix | Style::Label => param.location == Location::Path,
        Style::Simple => matches!(param.location, Location::Path | Location::Header),
        Style::Form => matches!(param.location, Location::Query | Location::Cookie),
        Style::SpaceDelimited | Style::PipeDelimited | Style::DeepObject => {
            param.location == Location::Query
        }
        Style::Cookie => param.location == Location::Cookie,
    };
    if !allowed {
        return Err(format!(
            "parameter `{name}`: OpenAPI defines no `style: {}` for `in: {}`",
            style_name(param.style),
            location_name(param.location)
        ));
    }
    let shape = shape(name, value)?;
    // Headers and `style: cookie` are sent as given; the rest is percent-encoded.
    let raw = param.location == Location::Header || param.style == Style::Cookie;
    let encode = |text: &str| {
        if raw {
            text.to_owned()
        } else {
            encode(text, param.allow_reserved)
        }
    };
    // The name is written by every style but `simple` and `label`.
    let key = if matches!(param.style, Style::Simple | Style::Label) {
        String::new()
    } else {
        encode(name)
    };
    let explode = param.explode;
    let join = |items: &[String], with: &str| {
        items
            .iter()
            .map(|item| encode(item))
            .collect::<Vec<_>>()
            .join(with)
    };
    let pairs = |entries: &[(String, String)], inner: &str, outer: &str| {
        entries
            .iter()
            .map(|(k, v)| format!("{}{inner}{}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join(outer)
    };
    let flat = |entries: &[(String, String)], with: &str| {
        entries
            .iter()
            .flat_map(|(k, v)| [encode(k), encode(v)])
            .collect::<Vec<_>>()
            .join(with)
    };
    let n_a = |what: &str| {
        Err(format!(
            "parameter `{name}`: `style: {}`{} does not serialise {what}",
            style_name(param.style),
            if explode { " with `explode: true`" } else { "" }
        ))
    };
    let text = match (param.style, &shape) {
        (Style::Matrix, Shape::Undefined) => format!(";{key}"),
        (Style::Matrix, Shape::Plain(v)) if v.is_empty() => format!(";{key}"),
        (Style::Matrix, Shape::Plain(v)) => format!(";{key}={}", encode(v)),
        (Style::Matrix, Shape::List(items)) if explode => items
            .iter()
            .map(|item| matrix_pair(&key, &encode(item)))
            .collect(),
        (Style::Matrix, Shape::List(items)) => format!(";{key}={}", join(items, ",")),
        (Style::Matrix, Shape::Object(entries)) if explode => entries
            .iter()
            .map(|(k, v)| matrix_pair(&encode(k), &encode(v)))
            .collect(),
        (Style::Matrix, Shape::Object(entries)) => format!(";{key}={}", flat(entries, ",")),

        (Style::Label, Shape::Undefined) => ".".to_owned(),
        (Style::Label, Shape::Plain(v)) => format!(".{}", encode(v)),
        (Style::Label, Shape::List(items)) if explode => format!(".{}", join(items, ".")),
        (Style::Label, Shape::List(items)) => format!(".{}", join(items, ",")),
        (Style::Label, Shape::Object(entries)) if explode => {
            format!(".{}", pairs(entries, "=", "."))
        }
        (Style::Label, Shape::Object(entries)) => format!(".{}", flat(entries, ",")),

        (Style::Simple, Shape::Undefined) => String::new(),
        (Style::Simple, Shape::Plain(v)) => encode(v),
        (Style::Simple, Shape::List(items)) => join(items, ","),
        (Style::Simple, Shape::Object(entries)) if explode => pairs(entries, "=", ","),
        (Style::Simple, Shape::Object(entries)) => flat(entries, ","),

        (Style::Form | Style::Cookie, shape) => {
            let pieces = form(&key, shape, explode, &encode);
            return Ok(if param.location == Location::Cookie {
                Serialized::Cookie(pieces)
            } else {
                Serialized::Query(pieces)
            });
        }

        (Style::SpaceDelimited | Style::PipeDelimited, _) if explode => {
            return n_a("any value");
        }
        (Style::SpaceDelimited | Style::PipeDelimited, Shape::Undefined | Shape::Plain(_)) => {
            return n_a("a plain value, only a list or an object");
        }
        (Style::SpaceDelimited | Style::PipeDelimited, Shape::List(items)) => {
            let with = delimiter(param.style);
            return Ok(Serialized::Query(vec![format!(
                "{key}={}",
                join(items, with)
            )]));
        }
        (Style::SpaceDelimited | Style::PipeDelimited, Shape::Object(entries)) => {
            let with = delimiter(param.style);
            return Ok(Serialized::Query(vec![format!(
                "{key}={}",
                flat(entries, with)
            )]));
        }

        (Style::DeepObject, Shape::Object(entries)) => {
            let pieces = entries
                .iter()
                .map(|(k, v)| format!("{}={}", encode(&format!("{name}[{k}]")), encode(v)))
                .collect();
            return Ok(Serialized::Query(pieces));
        }
        (Style::DeepObject, _) => return n_a("anything but an object"),
    };
    Ok(match param.location {
        Location::Header => Serialized::Header(text),
        _ => Serialized::Path(text),
    })
}

/// `;name=value`, or `;name` for an empty value (RFC 6570's path-style parameters).
fn matrix_pair(key: &str, value: &str) -> String {
    if value.is_empty() {
        format!(";{key}")
    } else {
        format!(";{key}={value}")
    }
}

/// The pieces of `form` and `cookie` styles.
fn form(key: &str, shape: &Shape, explode: bool, encode: &dyn Fn(&str) -> String) -> Vec<String> {
    match shape {
        Shape::Undefined => vec![format!("{key}=")],
        Shape::Plain(v) => vec![format!("{key}={}", encode(v))],
        Shape::List(items) if explode => items
            .iter()
            .map(|item| format!("{key}={}", encode(item)))
            .collect(),
        Shape::List(items) => {
            let values: Vec<String> = items.iter().map(|item| encode(item)).collect();
            vec![format!("{key}={}", values.join(","))]
        }
        Shape::Object(entries) if explode => entries
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect(),
        Shape::Object(entries) => {
            let values: Vec<String> = entries
                .iter()
                .flat_map(|(k, v)| [encode(k), encode(v)])
                .collect();
            vec![format!("{key}={}", values.join(","))]
        }
    }
}

/// The encoded delimiter of `spaceDelimited` and `pipeDelimited`.
fn delimiter(style: Style) -> &'static str {
    if style == Style::SpaceDelimited {
        "%20"
    } else {
        "%7C"
    }
}

/// Sorts a value into the shapes the styles know.
fn shape(name: &str, value: &Value) -> Result<Shape, String> {
    let plain = |value: &Value, inside: &str| match value {
        Value::Null => Ok(String::new()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(_) | Value::Object(_) => Err(format!(
            "parameter `{name}`: {inside} holds a list or an object; OpenAPI's styles write only \
             plain values inside lists and objects (describe it with `content` instead)"
        )),
    };
    Ok(match value {
        Value::Null => Shape::Undefined,
        Value::Array(items) if items.is_empty() => Shape::Undefined,
        Value::Object(map) if map.is_empty() => Shape::Undefined,
        Value::Array(items) => Shape::List(
            items
                .iter()
                .map(|item| plain(item, "the list"))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Shape::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), plain(v, "the object")?)))
                .collect::<Result<_, String>>()?,
        ),
        other => Shape::Plain(plain(other, "the value")?),
    })
}

/// A parameter described by `content`: its value as that media type (JSON for JSON types,
/// text as it is otherwise), encoded for where it goes.
fn with_content(param: &Parameter, media: &str, value: &Value) -> Serialized {
    let text = match value {
        Value::String(text) if !is_json(media) => text.clone(),
        other => other.to_string(),
    };
    match param.location {
        Location::Path => Serialized::Path(encode(&text, param.allow_reserved)),
        Location::Query => Serialized::Query(vec![format!(
            "{}={}",
            encode(&param.name, false),
            encode(&text, param.allow_reserved)
        )]),
        Location::Querystring => {
            Serialized::Querystring(if media.starts_with("application/x-www-form-urlencoded") {
                querystring(value)
            } else {
                encode(&text, false)
            })
        }
        Location::Header => Serialized::Header(text),
        Location::Cookie => Serialized::Cookie(vec![format!("{}={text}", param.name)]),
    }
}

/// A whole query string: an object as `name=value` pairs (lists repeat the name), anything
/// else as one encoded text.
fn querystring(value: &Value) -> String {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| match v {
                Value::Array(items) => items
                    .iter()
                    .map(|item| format!("{}={}", encode(k, false), encode(&text(item), false)))
                    .collect::<Vec<_>>(),
                other => vec![format!(
                    "{}={}",
                    encode(k, false),
                    encode(&text(other), false)
                )],
            })
            .collect::<Vec<_>>()
            .join("&"),
        other => encode(&text(other), false),
    }
}

/// Tells whether a media type is JSON (`application/json` or a `+json` type).
pub(super) fn is_json(media: &str) -> bool {
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json" || essence.ends_with("+json")
}

/// Percent-encodes every character outside RFC 3986's unreserved set; with `allow_reserved`,
/// the reserved characters a query keeps meaning-free and `%XX` triples already there are
/// left as they are (RFC 6570's reserved expansion).
fn encode(text: &str, allow_reserved: bool) -> String {
    if !allow_reserved {
        return Cow::from(utf8_percent_encode(text, UNRESERVED)).into_owned();
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut start = 0;
    let mut index = 0;
    let flush = |out: &mut String, from: usize, to: usize| {
        if let Some(part) = text.get(from..to) {
            out.extend(utf8_percent_encode(part, UNRESERVED));
        }
    };
    while index < bytes.len() {
        let byte = bytes[index];
        let triple = byte == b'%'
            && bytes.get(index + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(index + 2).is_some_and(u8::is_ascii_hexdigit);
        if triple || RESERVED_KEPT.contains(&byte) {
            flush(&mut out, start, index);
            let width = if triple { 3 } else { 1 };
            out.push_str(&text[index..index + width]);
            index += width;
            start = index;
        } else {
            index += 1;
        }
    }
    flush(&mut out, start, bytes.len());
    out
}

fn style_name(style: Style) -> &'static str {
    match style {
        Style::Matrix => "matrix",
        Style::Label => "label",
        Style::Simple => "simple",
        Style::Form => "form",
        Style::SpaceDelimited => "spaceDelimited",
        Style::PipeDelimited => "pipeDelimited",
        Style::DeepObject => "deepObject",
        Style::Cookie => "cookie",
    }
}

fn location_name(location: Location) -> &'static str {
    match location {
        Location::Path => "path",
        Location::Query => "query",
        Location::Querystring => "querystring",
        Location::Header => "header",
        Location::Cookie => "cookie",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn param(style: Style, explode: bool, location: Location) -> Parameter {
        Parameter {
            name: "color".into(),
            location,
            required: false,
            style,
            explode,
            allow_reserved: false,
            schema: None,
            content_type: None,
        }
    }

    /// Writes a serialisation as the table shows it: query pieces joined with `&`, cookie
    /// pieces with `; `.
    fn shown(serialized: Result<Serialized, String>) -> String {
        match serialized {
            Ok(
                Serialized::Path(text) | Serialized::Header(text) | Serialized::Querystring(text),
            ) => text,
            Ok(Serialized::Query(pieces)) => pieces.join("&"),
            Ok(Serialized::Cookie(pieces)) => pieces.join("; "),
            Err(_) => "n/a".to_owned(),
        }
    }

    /// Every row of the "Style Examples" table of OpenAPI 3.2.0 (section 4.12.2.6, the same
    /// rows as 3.1's with its `empty` column, here the empty string), for `color` with `""`,
    /// `"blue"`, `["blue","black","brown"]` and `{"R":100,"G":200,"B":150}`; each style in
    /// the place it is defined for (`simple` in both the path and a header).
    #[test]
    fn the_style_examples_table_of_the_specification() {
        use Location::{Cookie, Header, Path, Query};
        use Style::{
            Cookie as CookieStyle, DeepObject, Form, Label, Matrix, PipeDelimited, Simple,
            SpaceDelimited,
        };
        let rows: &[(Style, bool, Location, [&str; 4])] = &[
            (
                Matrix,
                false,
                Path,
                [
                    ";color",
                    ";color=blue",
                    ";color=blue,black,brown",
                    ";color=R,100,G,200,B,150",
                ],
            ),
            (
                Matrix,
                true,
                Path,
                [
                    ";color",
                    ";color=blue",
                    ";color=blue;color=black;color=brown",
                    ";R=100;G=200;B=150",
                ],
            ),
            (
                Label,
                false,
                Path,
                [".", ".blue", ".blue,black,brown", ".R,100,G,200,B,150"],
            ),
            (
                Label,
                true,
                Path,
                [".", ".blue", ".blue.black.brown", ".R=100.G=200.B=150"],
            ),
            (
                Simple,
                false,
                Path,
                ["", "blue", "blue,black,brown", "R,100,G,200,B,150"],
            ),
            (
                Simple,
                true,
                Path,
                ["", "blue", "blue,black,brown", "R=100,G=200,B=150"],
            ),
            (
                Simple,
                false,
                Header,
                ["", "blue", "blue,black,brown", "R,100,G,200,B,150"],
            ),
            (
                Simple,
                true,
                Header,
                ["", "blue", "blue,black,brown", "R=100,G=200,B=150"],
            ),
            (
                Form,
                false,
                Query,
                [
                    "color=",
                    "color=blue",
                    "color=blue,black,brown",
                    "color=R,100,G,200,B,150",
                ],
            ),
            (
                Form,
                true,
                Query,
                [
                    "color=",
                    "color=blue",
                    "color=blue&color=black&color=brown",
                    "R=100&G=200&B=150",
                ],
            ),
            (
                SpaceDelimited,
                false,
                Query,
                [
                    "n/a",
                    "n/a",
                    "color=blue%20black%20brown",
                    "color=R%20100%20G%20200%20B%20150",
                ],
            ),
            (SpaceDelimited, true, Query, ["n/a", "n/a", "n/a", "n/a"]),
            (
                PipeDelimited,
                false,
                Query,
                [
                    "n/a",
                    "n/a",
                    "color=blue%7Cblack%7Cbrown",
                    "color=R%7C100%7CG%7C200%7CB%7C150",
                ],
            ),
            (PipeDelimited, true, Query, ["n/a", "n/a", "n/a", "n/a"]),
            (
                DeepObject,
                false,
                Query,
                [
                    "n/a",
                    "n/a",
                    "n/a",
                    "color%5BR%5D=100&color%5BG%5D=200&color%5BB%5D=150",
                ],
            ),
            (
                DeepObject,
                true,
                Query,
                [
                    "n/a",
                    "n/a",
                    "n/a",
                    "color%5BR%5D=100&color%5BG%5D=200&color%5BB%5D=150",
                ],
            ),
            (
                CookieStyle,
                false,
                Cookie,
                [
                    "color=",
                    "color=blue",
                    "color=blue,black,brown",
                    "color=R,100,G,200,B,150",
                ],
            ),
            (
                CookieStyle,
                true,
                Cookie,
                [
                    "color=",
                    "color=blue",
                    "color=blue; color=black; color=brown",
                    "R=100; G=200; B=150",
                ],
            ),
        ];
        let values = [
            json!(""),
            json!("blue"),
            json!(["blue", "black", "brown"]),
            json!({"R": 100, "G": 200, "B": 150}),
        ];
        for (style, explode, location, expected) in rows {
            let p = param(*style, *explode, *location);
            for (value, want) in values.iter().zip(expected) {
                assert_eq!(
                    shown(serialize(&p, value)),
                    *want,
                    "{style:?} explode={explode} in {location:?} with {value}"
                );
            }
            // The undefined column of 3.2 gives what the empty string gives.
            assert_eq!(
                shown(serialize(&p, &Value::Null)),
                expected[0],
                "{style:?} explode={explode} undefined"
            );
        }
    }

    #[test]
    fn values_are_percent_encoded_except_what_allow_reserved_keeps() {
        let mut p = param(Style::Form, true, Location::Query);
        let value = json!("a b/c?d&e+f#g%20h~i,é");
        assert_eq!(
            shown(serialize(&p, &value)),
            "color=a%20b%2Fc%3Fd%26e%2Bf%23g%2520h~i%2C%C3%A9"
        );
        p.allow_reserved = true;
        assert_eq!(
            shown(serialize(&p, &value)),
            "color=a%20b/c?d%26e%2Bf%23g%20h~i,%C3%A9"
        );
        // Names are encoded too, and a comma in a value is not a delimiter.
        let mut p = param(Style::Simple, false, Location::Path);
        p.name = "a b".into();
        assert_eq!(shown(serialize(&p, &json!(["x,y", "z"]))), "x%2Cy,z");
        // Headers and `style: cookie` are sent as given.
        let header = param(Style::Simple, false, Location::Header);
        assert_eq!(shown(serialize(&header, &json!("a b,c"))), "a b,c");
        let cookie = param(Style::Cookie, false, Location::Cookie);
        assert_eq!(
            shown(serialize(&cookie, &json!("Hello%2C world!"))),
            "color=Hello%2C world!"
        );
        let form_cookie = param(Style::Form, false, Location::Cookie);
        assert_eq!(shown(serialize(&form_cookie, &json!("a b"))), "color=a%20b");
    }

    #[test]
    fn what_no_style_defines_is_refused_with_why() {
        let p = param(Style::Matrix, false, Location::Query);
        assert_eq!(
            serialize(&p, &json!("x")).unwrap_err(),
            "parameter `color`: OpenAPI defines no `style: matrix` for `in: query`"
        );
        let p = param(Style::Form, false, Location::Query);
        let nested = serialize(&p, &json!([[1]])).unwrap_err();
        assert!(nested.contains("holds a list or an object"), "{nested}");
        let p = param(Style::DeepObject, false, Location::Query);
        assert_eq!(
            serialize(&p, &json!([1])).unwrap_err(),
            "parameter `color`: `style: deepObject` does not serialise anything but an object"
        );
    }

    #[test]
    fn content_parameters_are_written_as_their_media_type() {
        let mut p = param(Style::Form, true, Location::Query);
        p.content_type = Some("application/json".into());
        assert_eq!(
            serialize(&p, &json!({"a": 1})).unwrap(),
            Serialized::Query(vec!["color=%7B%22a%22%3A1%7D".into()])
        );
        let mut q = param(Style::Form, true, Location::Querystring);
        q.content_type = Some("application/x-www-form-urlencoded".into());
        assert_eq!(
            serialize(&q, &json!({"a b": "c&d", "e": [1, 2]})).unwrap(),
            Serialized::Querystring("a%20b=c%26d&e=1&e=2".into())
        );
    }
}
