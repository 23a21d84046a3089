//! HTML pages: the forms `form_from` submits and the values `css` captures read.

use reqwest::Method;
use scraper::{ElementRef, Html, Selector};
use url::Url;

/// A form ready to submit: where, how, and every field's current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// The form's `action`, resolved against the page URL.
    pub action: Url,
    /// `GET` or `POST`.
    pub method: Method,
    /// Field names and values in document order, hidden fields included.
    pub fields: Vec<(String, String)>,
}

/// Checks a CSS selector's syntax.
pub fn check_selector(selector: &str) -> Result<(), String> {
    parse(selector).map(|_| ())
}

fn parse(selector: &str) -> Result<Selector, String> {
    Selector::parse(selector).map_err(|e| {
        let text = e.to_string();
        let text = text.split(" at line").next().unwrap_or(&text).to_owned();
        format!("invalid CSS selector `{selector}`: {}", lower_first(&text))
    })
}

fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// Finds the form a selector matches in a page and reads its fields as a browser would submit
/// them.
pub fn find_form(page_url: &Url, body: &str, selector: &str) -> Result<Form, String> {
    let document = Html::parse_document(body);
    let wanted = parse(selector)?;
    let Some(element) = document.select(&wanted).next() else {
        let forms = Selector::parse("form").map_or_else(
            |_| Vec::new(),
            |all| document.select(&all).map(describe).collect::<Vec<_>>(),
        );
        let found = if forms.is_empty() {
            "the page has no form".to_owned()
        } else {
            format!("the page's forms: {}", forms.join(", "))
        };
        return Err(format!(
            "form selector `{selector}` matches nothing; {found}"
        ));
    };
    let form = if element.value().name() == "form" {
        element
    } else {
        element
            .ancestors()
            .filter_map(ElementRef::wrap)
            .find(|e| e.value().name() == "form")
            .ok_or_else(|| {
                format!(
                    "`{selector}` matches a `<{}>` that is not in a form",
                    element.value().name()
                )
            })?
    };
    let action = form.value().attr("action").unwrap_or("").trim();
    let action = if action.is_empty() {
        page_url.clone()
    } else {
        page_url
            .join(action)
            .map_err(|e| format!("the form's action `{action}` is not a URL: {e}"))?
    };
    let method = match form
        .value()
        .attr("method")
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("POST") => Method::POST,
        _ => Method::GET,
    };
    Ok(Form {
        action,
        method,
        fields: fields(form),
    })
}

fn describe(form: ElementRef<'_>) -> String {
    let value = form.value();
    match (value.id(), value.attr("action")) {
        (Some(id), _) => format!("`form#{id}`"),
        (None, Some(action)) => format!("`form[action=\"{action}\"]`"),
        (None, None) => "`form`".to_owned(),
    }
}

/// Tells whether a control submits its form when clicked.
fn is_submit_button(element: &scraper::node::Element) -> bool {
    let kind = element.attr("type").map(str::to_ascii_lowercase);
    match element.name() {
        "button" => kind.is_none_or(|k| k == "submit"),
        "input" => kind.is_some_and(|k| k == "submit"),
        _ => false,
    }
}

fn fields(form: ElementRef<'_>) -> Vec<(String, String)> {
    let Ok(controls) = Selector::parse("input, select, textarea, button") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // A browser submitting a form without a click (Enter in a field) sends its first submit
    // button's name and value, as if it had been clicked; the other buttons send nothing.
    let mut submitter_seen = false;
    for control in form.select(&controls) {
        let element = control.value();
        if is_submit_button(element) {
            if !submitter_seen
                && element.attr("disabled").is_none()
                && let Some(name) = element.attr("name").filter(|n| !n.is_empty())
            {
                out.push((
                    name.to_owned(),
                    element.attr("value").unwrap_or("").to_owned(),
                ));
            }
            submitter_seen = true;
            continue;
        }
        let Some(name) = element.attr("name").filter(|n| !n.is_empty()) else {
            continue;
        };
        if element.attr("disabled").is_some() {
            continue;
        }
        match element.name() {
            "button" => {}
            "input" => {
                let kind = element.attr("type").unwrap_or("text").to_ascii_lowercase();
                match kind.as_str() {
                    "button" | "image" | "reset" | "file" => {}
                    "checkbox" | "radio" => {
                        if element.attr("checked").is_some() {
                            out.push((
                                name.to_owned(),
                                element.attr("value").unwrap_or("on").to_owned(),
                            ));
                        }
                    }
                    _ => out.push((
                        name.to_owned(),
                        element.attr("value").unwrap_or("").to_owned(),
                    )),
                }
            }
            "select" => {
                let Ok(options) = Selector::parse("option") else {
                    continue;
                };
                let all: Vec<ElementRef<'_>> = control.select(&options).collect();
                let chosen = all
                    .iter()
                    .find(|o| o.value().attr("selected").is_some())
                    .or_else(|| all.first());
                if let Some(option) = chosen {
                    let value = option.value().attr("value").map_or_else(
                        || option.text().collect::<String>().trim().to_owned(),
                        str::to_owned,
                    );
                    out.push((name.to_owned(), value));
                }
            }
            _ => out.push((name.to_owned(), control.text().collect())),
        }
    }
    out
}

/// Sets fields on a form: replaces every field of that name, or adds one.
pub fn set_field(fields: &mut Vec<(String, String)>, name: &str, value: String) {
    if let Some(first) = fields.iter().position(|(n, _)| n == name) {
        fields[first].1 = value;
        let mut index = 0;
        fields.retain(|(n, _)| {
            index += 1;
            n != name || index - 1 == first
        });
    } else {
        fields.push((name.to_owned(), value));
    }
}

/// Reads the text (or an attribute) of every element a selector matches.
pub fn select(body: &str, selector: &str, attr: Option<&str>) -> Result<Vec<String>, String> {
    let document = Html::parse_document(body);
    let wanted = parse(selector)?;
    Ok(document
        .select(&wanted)
        .filter_map(|element| match attr {
            Some(attr) => element.value().attr(attr).map(str::to_owned),
            None => Some(element.text().collect::<String>().trim().to_owned()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><body>
        <form id="search" action="/search"><input name="q"></form>
        <form id="login" method="post" action="login?x=1">
          <input type="hidden" name="csrf" value="t0k">
          <input name="username" value="">
          <input type="password" name="password">
          <input type="checkbox" name="remember" checked>
          <input type="checkbox" name="spam">
          <select name="lang"><option value="en">English</option><option value="fr" selected>French</option></select>
          <textarea name="note">hi</textarea>
          <input type="submit" name="go" value="Sign in">
          <input name="off" value="x" disabled>
        </form></body></html>"#;

    #[test]
    fn reads_a_form_as_a_browser_submits_it() {
        let page = Url::parse("https://idp.example/a/b").unwrap();
        let form = find_form(&page, PAGE, "form#login").unwrap();
        assert_eq!(form.action.as_str(), "https://idp.example/a/login?x=1");
        assert_eq!(form.method, Method::POST);
        let fields: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("csrf", "t0k"),
                ("username", ""),
                ("password", ""),
                ("remember", "on"),
                ("lang", "fr"),
                ("note", "hi"),
                ("go", "Sign in")
            ]
        );
    }

    #[test]
    fn sends_only_the_first_submit_button_like_pressing_enter() {
        let page = Url::parse("https://idp.example/consent").unwrap();
        let html = r#"<form method="post"><input type="hidden" name="csrf" value="c">
            <button name="decision" value="allow">Allow</button>
            <button type="submit" name="decision" value="deny">Deny</button>
            <button type="button" name="help" value="1">?</button></form>
            <form id="unnamed"><button type="submit">Go</button><input type="submit" name="x" value="y"></form>"#;
        let form = find_form(&page, html, "form").unwrap();
        assert_eq!(
            form.fields,
            vec![
                ("csrf".into(), "c".into()),
                ("decision".into(), "allow".into())
            ]
        );
        // The first button has no name: nothing is sent for it, nor for the later one.
        assert_eq!(find_form(&page, html, "#unnamed").unwrap().fields, vec![]);
    }

    #[test]
    fn says_which_forms_exist_when_the_selector_misses() {
        let page = Url::parse("https://idp.example/").unwrap();
        let error = find_form(&page, PAGE, "form#consent").unwrap_err();
        assert_eq!(
            error,
            "form selector `form#consent` matches nothing; the page's forms: `form#search`, `form#login`"
        );
    }

    #[test]
    fn sets_and_adds_fields() {
        let mut fields = vec![
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
            ("a".to_owned(), "3".to_owned()),
        ];
        set_field(&mut fields, "a", "x".to_owned());
        set_field(&mut fields, "c", "y".to_owned());
        assert_eq!(
            fields,
            vec![
                ("a".into(), "x".into()),
                ("b".into(), "2".into()),
                ("c".into(), "y".into())
            ]
        );
    }

    #[test]
    fn selects_text_and_attributes() {
        let html = r#"<a class="x" href="/1">one</a><a class="x" href="/2"> two </a>"#;
        assert_eq!(select(html, "a.x", None).unwrap(), ["one", "two"]);
        assert_eq!(select(html, "a.x", Some("href")).unwrap(), ["/1", "/2"]);
        assert!(check_selector("a[").is_err());
    }
}
