//! XML escaping, shared by the reports that write XML and HTML and by the masker, which must
//! recognise a secret in the form those reports give it.

/// Escapes text for XML and HTML attribute and element content.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape_xml;

    #[test]
    fn markup_characters_become_entities() {
        assert_eq!(
            escape_xml(r#"<a href="x?b=1&c='2'">"#),
            "&lt;a href=&quot;x?b=1&amp;c=&#39;2&#39;&quot;&gt;"
        );
        assert_eq!(escape_xml("&amp;"), "&amp;amp;");
    }

    #[test]
    fn control_characters_xml_forbids_are_replaced() {
        assert_eq!(
            escape_xml("a\u{0}b\u{1b}[1mc\u{7f}"),
            "a\u{fffd}b\u{fffd}[1mc\u{fffd}"
        );
        assert_eq!(escape_xml("tab\tline\nreturn\r"), "tab\tline\nreturn\r");
        assert_eq!(escape_xml("café ✓"), "café ✓");
    }
}
