//! Iterations: run one workflow many times (`--iterations`, `--data`), several at once
//! (`--concurrency`), and summarise throughput and per-step latency.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::event::{Event, Outcome, Reporter, StepReport};

/// Reads `--data`: a CSV file with a header row, or a JSON array of objects; one iteration per
/// row, each column an input.
pub fn read_data(path: &std::path::Path) -> Result<Vec<Vec<(String, String)>>, String> {
    let name = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read `--data {name}`: {e}"))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let rows = if is_json {
        json_rows(&text)
    } else {
        csv_rows(&text)
    }
    .map_err(|e| format!("`--data {name}`: {e}"))?;
    if rows.is_empty() {
        return Err(format!("`--data {name}` has no rows"));
    }
    Ok(rows)
}

fn json_rows(text: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        )
    })?;
    let serde_json::Value::Array(items) = value else {
        return Err("expected a JSON array of objects, one per iteration".into());
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            serde_json::Value::Object(map) => Ok(map
                .into_iter()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    (k, text)
                })
                .collect()),
            _ => Err(format!("item {} is not an object", index + 1)),
        })
        .collect()
}

/// Parses CSV (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes).
fn csv_rows(text: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                line += 1;
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                }
                record.clear();
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "a quoted field opened before line {line} is never closed"
        ));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let mut records = records.into_iter();
    let header = records.next().ok_or("the file is empty")?;
    records
        .enumerate()
        .map(|(index, values)| {
            if values.len() != header.len() {
                return Err(format!(
                    "row {} has {} fields, the header has {}",
                    index + 2,
                    values.len(),
                    header.len()
                ));
            }
            Ok(header.iter().cloned().zip(values).collect())
        })
        .collect()
}

/// Collects, across iterations, each step's latencies and the number of requests sent.
#[derive(Default)]
pub struct Stats {
    /// Per step name, in first-seen order: the latencies of its passed and failed runs.
    steps: Vec<(String, Vec<Duration>)>,
    index: HashMap<String, usize>,
    /// Requests sent, redirects and retries included.
    pub requests: usize,
}

impl Stats {
    fn record(&mut self, step: &StepReport) {
        if step.outcome == Outcome::Skipped {
            return;
        }
        self.requests += step.exchanges.len();
        if !step.children.is_empty() {
            for child in &step.children {
                self.record(child);
            }
            return;
        }
        let slot = self.slot(&step.name);
        self.steps[slot].1.push(step.duration);
    }

    /// Returns the index of a step's latencies, adding it when new.
    fn slot(&mut self, name: &str) -> usize {
        if let Some(slot) = self.index.get(name) {
            return *slot;
        }
        self.steps.push((name.to_owned(), Vec::new()));
        self.index.insert(name.to_owned(), self.steps.len() - 1);
        self.steps.len() - 1
    }

    /// Adds another collector's numbers (an iteration run elsewhere).
    pub fn absorb(&mut self, other: Stats) {
        self.requests += other.requests;
        for (name, latencies) in other.steps {
            let slot = self.slot(&name);
            self.steps[slot].1.extend(latencies);
        }
    }

    /// Writes the latency table: count, p50, p95, p99 and max per step.
    pub fn table(&mut self) -> String {
        let width = self
            .steps
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(4)
            .max(4);
        let mut out = format!(
            "  {:<width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}\n",
            "step", "runs", "p50", "p95", "p99", "max"
        );
        for (name, latencies) in &mut self.steps {
            latencies.sort();
            let at = |q: f64| -> String {
                if latencies.is_empty() {
                    return "-".into();
                }
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    clippy::cast_precision_loss
                )]
                let index =
                    ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
                micros(latencies[index])
            };
            let _ = writeln!(
                out,
                "  {name:<width$}  {:>6}  {:>9}  {:>9}  {:>9}  {:>9}",
                latencies.len(),
                at(0.50),
                at(0.95),
                at(0.99),
                at(1.0)
            );
        }
        out
    }
}

/// Shows a latency with a unit that keeps three significant digits.
fn micros(duration: Duration) -> String {
    let us = duration.as_micros();
    if us < 1000 {
        format!("{us}µs")
    } else if us < 1_000_000 {
        #[allow(clippy::cast_precision_loss)]
        let ms = us as f64 / 1000.0;
        format!("{ms:.2}ms")
    } else {
        #[allow(clippy::cast_precision_loss)]
        let s = us as f64 / 1_000_000.0;
        format!("{s:.2}s")
    }
}

impl Reporter for Stats {
    fn event(&mut self, event: &Event<'_>) {
        if let Event::Step(step) = event
            && step.depth == 0
        {
            self.record(step);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_with_quotes_and_line_breaks() {
        let rows = csv_rows("user,note\nann,\"a, b\"\n\"bo\"\"b\",\"two\nlines\"\n").unwrap();
        assert_eq!(
            rows[0],
            vec![
                ("user".into(), "ann".into()),
                ("note".into(), "a, b".into())
            ]
        );
        assert_eq!(
            rows[1],
            vec![
                ("user".into(), "bo\"b".into()),
                ("note".into(), "two\nlines".into())
            ]
        );
        assert_eq!(
            csv_rows("a,b\n1\n").unwrap_err(),
            "row 2 has 1 fields, the header has 2"
        );
    }

    #[test]
    fn reads_json_rows() {
        let rows = json_rows(r#"[{"user": "ann", "n": 2}]"#).unwrap();
        assert_eq!(
            rows[0],
            vec![("user".into(), "ann".into()), ("n".into(), "2".into())]
        );
        assert!(json_rows("{}").is_err());
    }

    #[test]
    fn shows_latencies_with_units() {
        assert_eq!(micros(Duration::from_micros(850)), "850µs");
        assert_eq!(micros(Duration::from_micros(1500)), "1.50ms");
        assert_eq!(micros(Duration::from_millis(2500)), "2.50s");
    }
}
