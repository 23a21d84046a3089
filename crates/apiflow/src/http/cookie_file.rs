//! `--cookie-jar FILE`: cookies loaded from a Netscape cookie file (the format curl reads and
//! writes) before a run, and the run's jar written back to it afterwards, atomically and
//! readable by its owner only.
//!
//! Each line is `domain TAB include-subdomains TAB path TAB secure TAB expiry TAB name TAB
//! value`, `#HttpOnly_` before the domain marks an `HttpOnly` cookie, other lines starting with
//! `#` are comments, and an expiry of 0 is a session cookie (kept, as curl keeps it).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cookie_store::{CookieDomain, CookieExpiration, CookieStore};
use url::Url;

use super::Jar;
use crate::diagnostic::Diagnostic;
use crate::span::{Source, Span};

/// The first line of every file apiflow writes, as curl writes it.
const HEADER: &str = "# Netscape HTTP Cookie File";

/// The cookie file of `--cookie-jar`: what it held when the run started, and the jar of the
/// last run to finish, which is what is saved.
#[derive(Debug)]
pub struct JarFile {
    /// The file.
    pub path: PathBuf,
    loaded: CookieStore,
    last: Mutex<Option<CookieStore>>,
}

impl JarFile {
    /// Reads a cookie file; a missing file is an empty jar, as with curl.
    pub fn load(path: &Path) -> Result<JarFile, Diagnostic> {
        let name = path.display().to_string();
        let loaded = match std::fs::read(path) {
            Ok(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    Diagnostic::error(format!("cannot read `{name}`: it is not UTF-8 text"))
                        .help("`--cookie-jar` reads a Netscape cookie file, as curl writes it")
                })?;
                parse(&Source::new(name, text))?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => CookieStore::default(),
            Err(error) => {
                let why = match error.kind() {
                    std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
                    _ if path.is_dir() => "it is a directory".to_owned(),
                    _ => error.to_string(),
                };
                return Err(Diagnostic::error(format!("cannot read `{name}`: {why}")));
            }
        };
        Ok(JarFile {
            path: path.to_path_buf(),
            loaded,
            last: Mutex::new(None),
        })
    }

    /// Returns a jar holding the loaded cookies, for one run.
    pub fn start(&self) -> Jar {
        Jar::from_store(self.loaded.clone())
    }

    /// Lists the loaded cookies' names and values (to mask those with secret names).
    pub fn loaded(&self) -> Vec<(String, String)> {
        self.loaded
            .iter_unexpired()
            .map(|c| (c.name().to_owned(), c.value().to_owned()))
            .collect()
    }

    /// Keeps a finished run's jar as the one to save.
    pub fn finish(&self, jar: &Jar) {
        if let (Some(store), Ok(mut last)) = (jar.store_copy(), self.last.lock()) {
            *last = Some(store);
        }
    }

    /// Writes the jar of the last run (or what was loaded, when nothing ran) to the file:
    /// to a temporary file beside it, readable by its owner only, then renamed over it.
    pub fn save(&self) -> Result<(), String> {
        let text = {
            let last = self
                .last
                .lock()
                .map_err(|_| "the jar is unusable".to_owned())?;
            write(last.as_ref().unwrap_or(&self.loaded))
        };
        write_atomically(&self.path, text.as_bytes())
            .map_err(|e| format!("cannot write `{}`: {e}", self.path.display()))
    }
}

/// Shares one cookie file between the runs of a command.
pub type SharedJarFile = Arc<JarFile>;

/// Reads the lines of a cookie file into a store, or says where one is malformed.
pub fn parse(source: &Arc<Source>) -> Result<CookieStore, Diagnostic> {
    let mut store = CookieStore::default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    for (index, raw) in source.text.lines().enumerate() {
        let line = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let (http_only, rest) = match raw.strip_prefix("#HttpOnly_") {
            Some(rest) => (true, rest),
            None if raw.starts_with('#') || raw.trim().is_empty() => continue,
            None => (false, raw),
        };
        let offset = raw.len() - rest.len();
        // Each field with the column it starts at (1-based, in characters).
        let mut fields: Vec<(&str, u32)> = Vec::with_capacity(7);
        let mut start = offset;
        for field in rest.split('\t') {
            let column = raw[..start].chars().count() + 1;
            fields.push((field, u32::try_from(column).unwrap_or(u32::MAX)));
            start += field.len() + 1;
        }
        let error = |title: String, field: Option<(&str, u32)>, label: &str| {
            let (len, column) = field.map_or((raw.chars().count(), 1), |(text, column)| {
                (text.chars().count(), column)
            });
            let len = u32::try_from(len.max(1)).unwrap_or(1);
            Diagnostic::error(title)
                .at(source, Span::new(line, column, len), label.to_owned())
                .help("each line is DOMAIN, TRUE|FALSE, PATH, TRUE|FALSE, EXPIRY, NAME and VALUE, separated by tabs, as curl writes them")
        };
        // curl writes a cookie with no value as six fields.
        if fields.len() == 6 {
            fields.push((
                "",
                u32::try_from(raw.chars().count() + 1).unwrap_or(u32::MAX),
            ));
        }
        if fields.len() != 7 {
            return Err(error(
                format!(
                    "a cookie line has 7 fields separated by tabs, this one has {}",
                    fields.len()
                ),
                None,
                "not a cookie line",
            ));
        }
        let flag = |index: usize, what: &str| match fields[index].0 {
            "TRUE" => Ok(true),
            "FALSE" => Ok(false),
            other => Err(error(
                format!("invalid {what}: expected `TRUE` or `FALSE`, found `{other}`"),
                Some(fields[index]),
                "not TRUE or FALSE",
            )),
        };
        let subdomains = flag(1, "include-subdomains flag")?;
        let secure = flag(3, "secure flag")?;
        let expiry: i64 = fields[4].0.parse().map_err(|_| {
            error(
                format!(
                    "invalid expiry `{}`: expected seconds since 1970 (0 for a session cookie)",
                    fields[4].0
                ),
                Some(fields[4]),
                "not a number",
            )
        })?;
        let domain = fields[0].0.trim_start_matches('.');
        let (path, name, value) = (fields[2].0, fields[5].0, fields[6].0);
        if domain.is_empty() || name.is_empty() {
            let which = if domain.is_empty() { 0 } else { 5 };
            return Err(error(
                "a cookie needs a domain and a name".to_owned(),
                Some(fields[which]),
                "empty",
            ));
        }
        if expiry != 0 && expiry <= now {
            // Expired: dropped, as curl drops it.
            continue;
        }
        let scheme = if secure { "https" } else { "http" };
        let path = if path.starts_with('/') { path } else { "/" };
        let url = Url::parse(&format!("{scheme}://{domain}{path}")).map_err(|_| {
            error(
                format!("invalid domain `{domain}`"),
                Some(fields[0]),
                "not a host name",
            )
        })?;
        let mut text = format!("{name}={value}; Path={path}");
        if subdomains {
            let _ = write!(text, "; Domain={domain}");
        }
        if secure {
            text.push_str("; Secure");
        }
        if http_only {
            text.push_str("; HttpOnly");
        }
        if expiry != 0 {
            let _ = write!(text, "; Max-Age={}", expiry - now);
        }
        store.parse(&text, &url).map_err(|why| {
            error(
                format!("the cookie `{name}` cannot be stored: {why}"),
                Some(fields[5]),
                "refused",
            )
        })?;
    }
    Ok(store)
}

/// Writes a store as a Netscape cookie file, session cookies included (with expiry 0).
pub fn write(store: &CookieStore) -> String {
    let mut out = format!("{HEADER}\n# Written by apiflow. Edit at your own risk.\n\n");
    let mut lines: Vec<String> = store
        .iter_unexpired()
        .filter_map(|cookie| {
            let (domain, subdomains) = match &cookie.domain {
                CookieDomain::HostOnly(host) => (host.clone(), "FALSE"),
                CookieDomain::Suffix(suffix) => (format!(".{suffix}"), "TRUE"),
                CookieDomain::NotPresent | CookieDomain::Empty => return None,
            };
            let expiry = match &cookie.expires {
                CookieExpiration::AtUtc(at) => at.unix_timestamp().max(1),
                CookieExpiration::SessionEnd => 0,
            };
            let prefix = if cookie.http_only().unwrap_or(false) {
                "#HttpOnly_"
            } else {
                ""
            };
            let secure = if cookie.secure().unwrap_or(false) {
                "TRUE"
            } else {
                "FALSE"
            };
            Some(format!(
                "{prefix}{domain}\t{subdomains}\t{}\t{secure}\t{expiry}\t{}\t{}",
                &*cookie.path,
                cookie.name(),
                cookie.value()
            ))
        })
        .collect();
    // A stable order, so that a saved file only changes where the cookies did.
    lines.sort();
    for line in lines {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Writes a file by way of a temporary file in the same folder renamed over it, so a reader
/// never sees half a file; the file is readable and writable by its owner only.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "cookies".into(), |n| n.to_string_lossy().into_owned());
    let temporary = folder.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::{parse, write};
    use crate::span::Source;

    #[test]
    fn a_file_curl_writes_reads_back_to_the_same_lines() {
        let text = "# Netscape HTTP Cookie File\n# https://curl.se/docs/http-cookies.html\n\n\
                    #HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts-1\n\
                    .example.com\tTRUE\t/api\tTRUE\t4102444800\tpref\tdark\n";
        let store = parse(&Source::new("jar.txt", text)).unwrap();
        let written = write(&store);
        let lines: Vec<&str> = written.lines().filter(|l| !l.starts_with("# ")).collect();
        assert_eq!(
            lines,
            [
                "",
                "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\ts-1",
                ".example.com\tTRUE\t/api\tTRUE\t4102444800\tpref\tdark",
            ]
        );
    }

    #[test]
    fn expired_cookies_are_dropped_and_empty_values_kept() {
        let text = "h.test\tFALSE\t/\tFALSE\t1\told\tx\nh.test\tFALSE\t/\tFALSE\t0\tempty\n";
        let store = parse(&Source::new("jar.txt", text)).unwrap();
        let names: Vec<&str> = store.iter_unexpired().map(|c| c.name()).collect();
        assert_eq!(names, ["empty"]);
    }

    #[test]
    fn a_malformed_line_is_located() {
        let error = |text: &str| {
            let d = parse(&Source::new("jar.txt", text)).unwrap_err();
            format!("{} at {}:{}", d.title, d.span.line, d.span.column)
        };
        assert_eq!(
            error("# c\nh.test\tYES\t/\tFALSE\t0\ta\tb\n"),
            "invalid include-subdomains flag: expected `TRUE` or `FALSE`, found `YES` at 2:8"
        );
        assert_eq!(
            error("h.test\tFALSE\t/\tFALSE\tsoon\ta\tb\n"),
            "invalid expiry `soon`: expected seconds since 1970 (0 for a session cookie) at 1:22"
        );
        assert_eq!(
            error("h.test FALSE / FALSE 0 a b\n"),
            "a cookie line has 7 fields separated by tabs, this one has 1 at 1:1"
        );
    }
}
