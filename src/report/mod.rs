//! Reporters: turn run events into output; every one masks secrets the same way.

pub mod terminal;

use reqwest::header::HeaderMap;

/// Shows a body for people: pretty JSON, text, or a note about binary data; cut at `limit` bytes.
pub fn body_preview(headers: &HeaderMap, body: &[u8], limit: usize) -> String {
    if body.is_empty() {
        return String::new();
    }
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if (content_type.contains("json") || matches!(body.first(), Some(b'{' | b'[')))
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
        && let Ok(pretty) = serde_json::to_string_pretty(&value)
    {
        return cut(&pretty, limit);
    }
    match std::str::from_utf8(body) {
        Ok(text) => cut(text, limit),
        Err(error) if error.valid_up_to() >= body.len().saturating_sub(3) && body.len() > limit => {
            cut(&String::from_utf8_lossy(body), limit)
        }
        Err(_) => format!("<{} bytes of binary data>", body.len()),
    }
}

fn cut(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.trim_end().to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n… ({} more bytes)",
        text[..end].trim_end(),
        text.len() - end
    )
}
