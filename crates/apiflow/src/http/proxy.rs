//! Proxies chosen on the command line (`--proxy`, `--no-proxy`), which beat the environment's
//! (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, in either case).

use reqwest::{NoProxy, Proxy};
use url::Url;

/// The schemes a proxy URL may have.
pub const SCHEMES: &[&str] = &["http", "https", "socks5", "socks5h"];

/// The proxy settings of the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyOptions {
    /// `--proxy`: every request goes through it, instead of the environment's proxies.
    pub url: Option<Url>,
    /// `--no-proxy`: hosts reached directly, instead of the environment's `NO_PROXY`.
    pub no_proxy: Option<String>,
}

/// Parses a proxy URL: `http://`, `https://` (CONNECT for `https://` targets), `socks5://`
/// (names resolved here) or `socks5h://` (resolved by the proxy), with a host, and credentials
/// when the proxy asks for them. The error never shows the password.
pub fn parse_proxy(text: &str) -> Result<Url, String> {
    if !text.contains("://") {
        return Err(format!(
            "`{}` is not a proxy URL: write it as `http://HOST:PORT`, `socks5h://HOST:PORT`…",
            redact_text(text)
        ));
    }
    let url = Url::parse(text).map_err(|e| {
        format!(
            "`{}` is not a proxy URL ({e}): write it as `http://HOST:PORT`, `socks5h://HOST:PORT`…",
            redact_text(text)
        )
    })?;
    if !SCHEMES.contains(&url.scheme()) {
        return Err(format!(
            "unsupported proxy scheme `{}`: use `http`, `https`, `socks5` or `socks5h`",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("the proxy URL `{}` has no host", redacted(&url)));
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "the proxy URL `{}` has a path or query: a proxy is named by scheme, host and port only",
            redacted(&url)
        ));
    }
    Ok(url)
}

/// Lists what a proxy URL holds that is secret: its password, and the `Proxy-Authorization`
/// credential made from it.
pub fn secrets(url: &Url) -> Vec<String> {
    match super::url_credentials(url) {
        Some((user, Some(password))) if !password.is_empty() => {
            let credential = super::basic_credential(&user, &password);
            vec![password, credential]
        }
        _ => Vec::new(),
    }
}

/// Lists the secrets of the environment's proxy variables, as [`secrets`] does.
pub fn env_secrets(env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"]
        .iter()
        .flat_map(|name| [env(name), env(&name.to_ascii_lowercase())])
        .flatten()
        .filter_map(|value| Url::parse(&value).ok())
        .flat_map(|url| secrets(&url))
        .collect()
}

/// Shows a proxy URL with its password masked.
pub fn redacted(url: &Url) -> String {
    let text = url.to_string();
    match url.password() {
        Some(password) => text.replacen(&format!(":{password}@"), ":••••@", 1),
        None => text,
    }
}

/// Masks whatever stands between `://` and the last `@` of a text that is not a URL.
fn redact_text(text: &str) -> String {
    let start = text.find("://").map_or(0, |i| i + 3);
    match text.rfind('@') {
        Some(at) if at >= start => format!("{}••••{}", &text[..start], &text[at..]),
        _ => text.to_owned(),
    }
}

/// Tells whether the settings route requests through reqwest: a `--proxy` applies to plain
/// `http://` too, which the plain stack cannot send through a proxy.
pub fn forces_reqwest(options: &ProxyOptions) -> bool {
    options.url.is_some()
}

/// Sets reqwest's proxies from the command line's settings; without any, reqwest reads the
/// environment itself.
pub fn configure(
    builder: reqwest::ClientBuilder,
    options: &ProxyOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<reqwest::ClientBuilder, String> {
    let no_proxy = || match &options.no_proxy {
        Some(list) => NoProxy::from_string(list),
        None => env_var(env, "NO_PROXY").and_then(|list| NoProxy::from_string(&list)),
    };
    let failed = |e: reqwest::Error| format!("cannot use the proxy: {e}");
    if let Some(url) = &options.url {
        let proxy = Proxy::all(url.as_str())
            .map_err(failed)?
            .no_proxy(no_proxy());
        return Ok(builder.proxy(proxy));
    }
    if options.no_proxy.is_none() {
        return Ok(builder);
    }
    // `--no-proxy` alone: the environment's proxies, with the command line's exceptions.
    let mut builder = builder.no_proxy();
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
        if let Some(value) = env_var(env, name) {
            let url = parse_proxy(&value).map_err(|e| format!("`{name}`: {e}"))?;
            let proxy = match name {
                "HTTP_PROXY" => Proxy::http(url.as_str()),
                "HTTPS_PROXY" => Proxy::https(url.as_str()),
                _ => Proxy::all(url.as_str()),
            };
            builder = builder.proxy(proxy.map_err(failed)?.no_proxy(no_proxy()));
        }
    }
    Ok(builder)
}

/// Reads a proxy variable by its upper-case name, then its lower-case one; empty is unset.
fn env_var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name)
        .or_else(|| env(&name.to_ascii_lowercase()))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{parse_proxy, redacted};

    #[test]
    fn proxy_urls_are_checked_without_showing_the_password() {
        for good in [
            "http://127.0.0.1:3128",
            "https://proxy.example:8443/",
            "socks5://u:p@h:1080",
            "socks5h://h:1080",
        ] {
            assert!(parse_proxy(good).is_ok(), "{good}");
        }
        let error = |text: &str| parse_proxy(text).unwrap_err();
        assert_eq!(
            error("ftp://h:21"),
            "unsupported proxy scheme `ftp`: use `http`, `https`, `socks5` or `socks5h`"
        );
        assert!(!error("http://u:hunter2@[::1").contains("hunter2"));
        assert_eq!(
            error("http://u:hunter2@h:1/x"),
            "the proxy URL `http://u:••••@h:1/x` has a path or query: a proxy is named by scheme, host and port only"
        );
        let url = parse_proxy("http://u:hunter2@h:1").unwrap();
        assert!(!redacted(&url).contains("hunter2"));
    }
}
