//! The cookie jar: RFC 6265 domain and path rules (`cookie_store`), and the order of the
//! `Cookie` header (section 5.4: longer paths first, then earlier creation), which the store
//! alone leaves to its hash maps.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use cookie_store::{CookieDomain, CookieStore};
use reqwest::header::{HeaderMap, SET_COOKIE};
use url::Url;

/// What makes two cookies the same cookie (RFC 6265 section 5.3, step 11).
type CookieId = (CookieDomain, String, String);

/// A cookie jar with RFC 6265 domain and path rules and a stable `Cookie` header.
#[derive(Debug, Default)]
pub struct Jar(Mutex<Cookies>);

/// The store, and when each of its cookies was created, as a sequence number.
#[derive(Debug, Default)]
struct Cookies {
    store: CookieStore,
    created: HashMap<CookieId, u64>,
    next: u64,
}

fn identity(cookie: &cookie_store::Cookie<'_>) -> CookieId {
    (
        cookie.domain.clone(),
        String::from(&cookie.path),
        cookie.name().to_owned(),
    )
}

impl Cookies {
    /// Gives the store's live cookies that have no creation number one, in a stable order,
    /// and forgets the numbers of cookies that expired or were removed (one set again later is
    /// a new cookie).
    fn number_new(&mut self) {
        let live: HashSet<CookieId> = self.store.iter_unexpired().map(identity).collect();
        self.created.retain(|id, _| live.contains(id));
        let mut new: Vec<CookieId> = live
            .into_iter()
            .filter(|id| !self.created.contains_key(id))
            .collect();
        new.sort();
        for id in new {
            self.created.insert(id, self.next);
            self.next += 1;
        }
    }

    /// Lists the cookies to send to a URL in the order of RFC 6265 section 5.4: longer paths
    /// first, then earlier creation.
    fn ordered(&self, url: &Url) -> Vec<(&str, &str)> {
        let mut matched: Vec<(usize, u64, &cookie_store::Cookie<'static>)> = self
            .store
            .matches(url)
            .into_iter()
            .map(|c| {
                let created = self.created.get(&identity(c)).copied().unwrap_or(u64::MAX);
                (String::from(&c.path).len(), created, c)
            })
            .collect();
        matched.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        matched
            .into_iter()
            .map(|(_, _, c)| c.name_value())
            .collect()
    }
}

impl Jar {
    /// Starts a jar holding a store's cookies, created in the order of their domain, path and
    /// name (a cookie file does not record when its cookies were created).
    pub fn from_store(store: CookieStore) -> Jar {
        let mut cookies = Cookies {
            store,
            ..Cookies::default()
        };
        cookies.number_new();
        Jar(Mutex::new(cookies))
    }

    /// Returns a copy of the store, to save it.
    pub fn store_copy(&self) -> Option<CookieStore> {
        self.0.lock().ok().map(|c| c.store.clone())
    }

    /// Returns the `Cookie` header value for a URL, if any cookie applies.
    pub fn header_for(&self, url: &Url) -> Option<String> {
        let cookies = self.0.lock().ok()?;
        let value = cookies
            .ordered(url)
            .into_iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        (!value.is_empty()).then_some(value)
    }

    /// Stores the cookies a response sets, each created after the one before it.
    pub fn store(&self, url: &Url, headers: &HeaderMap) {
        if let Ok(mut cookies) = self.0.lock() {
            for value in headers.get_all(SET_COOKIE) {
                if let Ok(text) = value.to_str()
                    // A cookie the jar refuses (bad domain, …) is dropped, as browsers do.
                    && cookies.store.parse(text, url).is_ok()
                {
                    // A replaced cookie keeps its creation number (section 5.3, step 11.3).
                    cookies.number_new();
                }
            }
        }
    }

    /// Returns the value of a cookie the jar would send to a URL.
    pub fn get(&self, url: &Url, name: &str) -> Option<String> {
        let cookies = self.0.lock().ok()?;
        cookies
            .ordered(url)
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_owned())
    }

    /// Lists the cookies the jar would send to a URL, in the order they are sent.
    pub fn all_for(&self, url: &Url) -> Vec<(String, String)> {
        self.0.lock().map_or_else(
            |_| Vec::new(),
            |cookies| {
                cookies
                    .ordered(url)
                    .into_iter()
                    .map(|(n, v)| (n.to_owned(), v.to_owned()))
                    .collect()
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn set(jar: &Jar, url: &str, cookies: &[&str]) {
        let mut headers = HeaderMap::new();
        for cookie in cookies {
            headers.append(SET_COOKIE, HeaderValue::from_str(cookie).unwrap());
        }
        jar.store(&Url::parse(url).unwrap(), &headers);
    }

    #[test]
    fn longer_paths_go_first_then_earlier_cookies() {
        let jar = Jar::default();
        set(&jar, "http://h.test/", &["z=1; Path=/", "a=2; Path=/"]);
        set(
            &jar,
            "http://h.test/a/b/c",
            &["deep=3; Path=/a/b", "m=4; Path=/a"],
        );
        set(&jar, "http://h.test/", &["b=5; Path=/a/b"]);
        let url = Url::parse("http://h.test/a/b/c").unwrap();
        for _ in 0..3 {
            assert_eq!(jar.header_for(&url).unwrap(), "deep=3; b=5; m=4; z=1; a=2");
        }
    }

    #[test]
    fn a_replaced_cookie_keeps_its_place_and_a_deleted_one_loses_it() {
        let jar = Jar::default();
        set(&jar, "http://h.test/", &["first=1", "second=2"]);
        set(&jar, "http://h.test/", &["first=changed"]);
        let url = Url::parse("http://h.test/").unwrap();
        assert_eq!(jar.header_for(&url).unwrap(), "first=changed; second=2");
        set(&jar, "http://h.test/", &["first=gone; Max-Age=0"]);
        set(&jar, "http://h.test/", &["first=back"]);
        assert_eq!(jar.header_for(&url).unwrap(), "second=2; first=back");
    }
}
