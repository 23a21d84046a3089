//! Template delimiters in plain text: whether a string holds template syntax, and the
//! expression inside a string that is exactly one `{{ … }}`.
//!
//! Loading reads them to tell templates from literals, compiling to unwrap a whole expression.

/// Finds the first `first` byte followed by one of `seconds`: two-byte delimiters such as
/// `{{`, found in one pass without setting up a substring search for each.
pub(crate) fn pair_at(text: &str, first: u8, seconds: &[u8]) -> Option<usize> {
    let bytes = text.as_bytes();
    bytes
        .windows(2)
        .position(|pair| pair[0] == first && seconds.contains(&pair[1]))
}

/// Tells whether a string holds template syntax.
pub fn has_template(text: &str) -> bool {
    pair_at(text, b'{', b"{%#").is_some()
}

/// Returns the expression inside a string that is exactly one `{{ … }}`.
pub fn whole_expression(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    if inner.contains("{{") || inner.contains("}}") || inner.contains("{%") || inner.contains("{#")
    {
        return None;
    }
    Some(inner.trim()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{has_template, pair_at, whole_expression};

    #[test]
    fn a_pair_is_found_at_its_first_byte() {
        assert_eq!(pair_at("a {x {{ b }}", b'{', b"{%#"), Some(5));
        assert_eq!(pair_at("{% if %}", b'{', b"{%#"), Some(0));
        assert_eq!(pair_at("b }} c", b'}', b"}"), Some(2));
        assert_eq!(pair_at("{", b'{', b"{"), None);
        assert_eq!(pair_at("", b'{', b"{"), None);
    }

    #[test]
    fn template_syntax_is_any_opening_delimiter() {
        for text in [
            "{{ a }}",
            "x {% if a %}y{% endif %}",
            "{# note #}",
            "half {{ open",
        ] {
            assert!(has_template(text), "{text}");
        }
        for text in ["plain", "{ \"json\": 1 }", "a } } b", "}}", "{ {", "%}"] {
            assert!(!has_template(text), "{text}");
        }
    }

    #[test]
    fn a_whole_expression_is_one_pair_of_braces_around_something() {
        assert_eq!(whole_expression("{{ user.id }}"), Some("user.id"));
        assert_eq!(
            whole_expression("{{- items | length -}}"),
            Some("items | length")
        );
        assert_eq!(whole_expression("{{a}}"), Some("a"));
        for text in [
            "{{ a }} tail",
            "head {{ a }}",
            "{{ a }}{{ b }}",
            "{{ a ~ '{%' }}",
            "{{ '{#' }}",
            "{{  }}",
            "{{--}}",
            "{% set a = 1 %}",
        ] {
            assert_eq!(whole_expression(text), None, "{text}");
        }
    }
}
