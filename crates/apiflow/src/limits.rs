//! The text of a threshold (`p95<300ms`, `errors<1%`, `rps>500`, `step=get a token:p99<50ms`):
//! parsed with the place of each mistake, for `--threshold` and a workflow's `load.thresholds`
//! alike. Checking one on a run's metrics is `load::threshold`'s.

/// Every metric a threshold may name.
pub const METRICS: [&str; 8] = ["p50", "p90", "p95", "p99", "max", "mean", "errors", "rps"];

/// What a threshold measures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Metric {
    /// A latency percentile, as a quantile (0.95 for `p95`).
    Quantile(f64),
    /// The largest latency.
    Max,
    /// The mean latency.
    Mean,
    /// The percent of iterations that failed.
    Errors,
    /// Requests per second over the run.
    Rps,
}

impl Metric {
    pub(crate) fn is_latency(self) -> bool {
        matches!(self, Metric::Quantile(_) | Metric::Max | Metric::Mean)
    }
}

/// How the measured value compares with the limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    pub(crate) fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Op::Lt => actual < limit,
            Op::Le => actual <= limit,
            Op::Gt => actual > limit,
            Op::Ge => actual >= limit,
        }
    }
}

/// A parsed threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct Threshold {
    /// As written, trimmed.
    pub text: String,
    /// The step it is about (`step=NAME:`), or every step.
    pub step: Option<String>,
    /// Where the step's name starts in the text, in characters, and its length.
    pub step_at: (usize, usize),
    /// What it measures.
    pub metric: Metric,
    /// How the value compares.
    pub op: Op,
    /// The limit: microseconds for latencies, a percent for `errors`, per second for `rps`.
    pub limit: f64,
    /// Where a workflow's `load.thresholds` has it, `FILE:LINE:COLUMN`; `None` for a flag's.
    pub location: Option<String>,
}

/// A mistake in a threshold's text: what, where (in characters) and a hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mistake {
    /// One lower-case sentence.
    pub message: String,
    /// A few words under the carets.
    pub label: String,
    /// Where it starts, in characters from the start of the text.
    pub start: usize,
    /// How many characters it covers (at least 1).
    pub len: usize,
    /// What to write instead.
    pub help: Option<String>,
}

const EXAMPLES: &str = "e.g. `p95<300ms`, `errors<1%`, `rps>500` or `step=login:p99<1s`";

/// Counts the characters of `text` before byte `at`.
fn chars(text: &str, at: usize) -> usize {
    text.get(..at).map_or(0, |t| t.chars().count())
}

/// Parses a threshold: `[step=NAME:]METRIC OP VALUE`, `OP` one of `<`, `<=`, `>`, `>=`.
pub fn parse(text: &str) -> Result<Threshold, Mistake> {
    let mistake =
        |message: String, label: &str, from: usize, to: usize, help: Option<String>| Mistake {
            message,
            label: label.to_owned(),
            start: chars(text, from),
            len: chars(text, to).saturating_sub(chars(text, from)).max(1),
            help,
        };
    let leading = text.len() - text.trim_start().len();
    let end = text.trim_end().len();
    if leading >= end {
        return Err(mistake(
            "the threshold is empty".into(),
            "expected a threshold",
            0,
            text.len(),
            Some(EXAMPLES.into()),
        ));
    }
    // Where the metric starts, and the step it is about.
    let (mut body, mut step, mut step_at) = (leading, None, (0, 0));
    if text[leading..].starts_with("step=") {
        let name_at = leading + "step=".len();
        // A step's name may hold `:`; a metric never does.
        let Some(colon) = text[..end].rfind(':').filter(|c| *c >= name_at) else {
            return Err(mistake(
                "a step's threshold needs `:` between the step's name and the metric".into(),
                "no `:` here",
                leading,
                end,
                Some("e.g. `step=get a token:p99<50ms`".into()),
            ));
        };
        let name = text[name_at..colon].trim();
        if name.is_empty() {
            return Err(mistake(
                "the step's name is empty".into(),
                "expected a step's name",
                name_at,
                colon + 1,
                Some("e.g. `step=get a token:p99<50ms`".into()),
            ));
        }
        let name_start =
            name_at + (text[name_at..colon].len() - text[name_at..colon].trim_start().len());
        step = Some(name.to_owned());
        step_at = (chars(text, name_start), name.chars().count());
        body = colon + 1;
    }
    let Some(op_at) = text[body..end].find(['<', '>']).map(|i| body + i) else {
        return Err(mistake(
            "the threshold has no comparison".into(),
            "expected `<`, `<=`, `>` or `>=`",
            body,
            end,
            Some(EXAMPLES.into()),
        ));
    };
    let name = text[body..op_at].trim();
    let name_start = body + (text[body..op_at].len() - text[body..op_at].trim_start().len());
    let metric = match name {
        "p50" => Metric::Quantile(0.50),
        "p90" => Metric::Quantile(0.90),
        "p95" => Metric::Quantile(0.95),
        "p99" => Metric::Quantile(0.99),
        "max" => Metric::Max,
        "mean" => Metric::Mean,
        "errors" => Metric::Errors,
        "rps" => Metric::Rps,
        "" => {
            return Err(mistake(
                "the threshold names no metric".into(),
                "expected a metric before this",
                op_at,
                op_at + 1,
                Some(format!("use one of {}", listed())),
            ));
        }
        other => {
            let suggestion = nearest_percentile(other)
                .map(|p| format!("did you mean `{p}`?"))
                .or_else(|| crate::diagnostic::did_you_mean(other, METRICS.iter().copied()));
            let help = suggestion.map_or_else(
                || format!("use one of {}", listed()),
                |d| format!("{d} (the metrics: {})", listed()),
            );
            return Err(mistake(
                format!("unknown metric `{other}`"),
                "not a metric",
                name_start,
                name_start + name.len(),
                Some(help),
            ));
        }
    };
    if step.is_some() && matches!(metric, Metric::Errors | Metric::Rps) {
        return Err(mistake(
            format!("`{name}` is measured over the whole run, not per step"),
            "not a step's metric",
            name_start,
            name_start + name.len(),
            Some("a step's threshold is on its latency: p50, p90, p95, p99, max or mean".into()),
        ));
    }
    let (op, value_at) = match (text.as_bytes()[op_at], text[op_at + 1..].starts_with('=')) {
        (b'<', true) => (Op::Le, op_at + 2),
        (b'<', false) => (Op::Lt, op_at + 1),
        (_, true) => (Op::Ge, op_at + 2),
        (_, false) => (Op::Gt, op_at + 1),
    };
    let value = text[value_at..end].trim();
    let value_start = end - text[value_at..end].trim_start().len();
    let value_end = value_start + value.len();
    if value.is_empty() {
        return Err(mistake(
            format!(
                "the threshold has no value after `{}`",
                &text[op_at..value_at]
            ),
            "expected a value",
            op_at,
            value_at,
            Some(example(metric, name)),
        ));
    }
    let digits = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits);
    let bad_value = |why: String| {
        mistake(
            why,
            "not a value",
            value_start,
            value_end,
            Some(example(metric, name)),
        )
    };
    let Ok(number) = number.parse::<f64>() else {
        return Err(bad_value(format!("`{value}` is not a number")));
    };
    let limit = match metric {
        Metric::Errors => {
            if unit != "%" {
                return Err(bad_value(format!(
                    "`errors` is a percent of the iterations, not `{value}`"
                )));
            }
            number
        }
        Metric::Rps => {
            if !unit.is_empty() {
                return Err(bad_value(format!(
                    "`rps` is a number of requests per second, not `{value}`"
                )));
            }
            number
        }
        Metric::Quantile(_) | Metric::Max | Metric::Mean => match unit {
            "us" | "µs" => number,
            "ms" => number * 1000.0,
            "s" => number * 1_000_000.0,
            "m" => number * 60_000_000.0,
            "h" => number * 3_600_000_000.0,
            "" => return Err(bad_value(format!("the latency `{value}` has no unit"))),
            other => {
                return Err(bad_value(format!(
                    "unknown unit `{other}` in `{value}`: latencies are in `us`, `ms`, `s`, `m` or `h`"
                )));
            }
        },
    };
    Ok(Threshold {
        text: text.trim().to_owned(),
        step,
        step_at,
        metric,
        op,
        limit,
        location: None,
    })
}

/// Returns the percentile metric nearest to one apiflow does not keep (`p96` → `p95`,
/// `p999` → `p99`): spelling is no guide among `p90`, `p95` and `p99`.
fn nearest_percentile(name: &str) -> Option<&'static str> {
    let digits = name.strip_prefix('p')?;
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // `p999` is the 99.9th percentile: read the digits as a fraction.
    let wanted: f64 = format!("0.{digits}").parse().ok()?;
    [("p50", 0.50), ("p90", 0.90), ("p95", 0.95), ("p99", 0.99)]
        .into_iter()
        .min_by(|a, b| (a.1 - wanted).abs().total_cmp(&(b.1 - wanted).abs()))
        .map(|(name, _)| name)
}

fn listed() -> String {
    METRICS.join(", ")
}

fn example(metric: Metric, name: &str) -> String {
    match metric {
        Metric::Errors => "e.g. `errors<1%`".into(),
        Metric::Rps => "e.g. `rps>500`".into(),
        _ => format!("a number and a unit (`us`, `ms`, `s`, `m` or `h`), e.g. `{name}<300ms`"),
    }
}

/// Parses `--threshold` values; each mistake points into the flag's text. A step's threshold
/// must name one of `steps` when they are known.
pub fn from_flags(
    texts: &[String],
    steps: Option<&[&str]>,
) -> Result<Vec<Threshold>, Vec<crate::diagnostic::Diagnostic>> {
    let mut thresholds = Vec::new();
    let mut problems = Vec::new();
    for text in texts {
        let source = crate::span::Source::new("--threshold", text.clone());
        match parse(text) {
            Ok(threshold) => {
                if let Some(problem) =
                    unknown_step(&threshold, steps, &source, crate::span::Span::new(1, 1, 0))
                {
                    problems.push(problem);
                } else {
                    thresholds.push(threshold);
                }
            }
            Err(mistake) => {
                problems.push(mistake.diagnostic(&source, crate::span::Span::new(1, 1, 0)));
            }
        }
    }
    if problems.is_empty() {
        Ok(thresholds)
    } else {
        Err(problems)
    }
}

impl Mistake {
    /// Returns the mistake as a diagnostic pointing into `source`, the threshold's text
    /// starting at `at` (its first character).
    pub fn diagnostic(
        &self,
        source: &std::sync::Arc<crate::span::Source>,
        at: crate::span::Span,
    ) -> crate::diagnostic::Diagnostic {
        let span = at.shifted(to_u32(self.start), to_u32(self.len));
        crate::diagnostic::Diagnostic::error(self.message.clone())
            .at(source, span, self.label.clone())
            .maybe_help(self.help.clone())
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Returns the problem of a step's threshold on a step that runs other steps: `composite` lists
/// those steps with what makes them so (`uses`, `for_each`). Their latencies are counted under
/// the names of the steps they run, so such a threshold would never be measured.
pub fn composite_step(
    threshold: &Threshold,
    composite: &[(&str, &str)],
    source: &std::sync::Arc<crate::span::Source>,
    at: crate::span::Span,
) -> Option<crate::diagnostic::Diagnostic> {
    let step = threshold.step.as_deref()?;
    let (_, why) = composite.iter().find(|(name, _)| *name == step)?;
    let (start, len) = threshold.step_at;
    let span = at.shifted(to_u32(start), to_u32(len));
    Some(
        crate::diagnostic::Diagnostic::error(format!(
            "the step `{step}` runs other steps (`{why}`): a threshold on it is never measured"
        ))
        .at(source, span, "runs other steps")
        .help(
            "the load summary counts each step that sends a request (a `for_each` element as \
             `NAME [1]`, …); put the threshold on the whole run (`p95<300ms`) or on a step that \
             sends a request",
        ),
    )
}

/// Returns the problem of a step's threshold whose step is none of `steps`.
pub fn unknown_step(
    threshold: &Threshold,
    steps: Option<&[&str]>,
    source: &std::sync::Arc<crate::span::Source>,
    at: crate::span::Span,
) -> Option<crate::diagnostic::Diagnostic> {
    let (Some(step), Some(steps)) = (&threshold.step, steps) else {
        return None;
    };
    if steps.contains(&step.as_str()) {
        return None;
    }
    let (start, len) = threshold.step_at;
    let span = at.shifted(to_u32(start), to_u32(len));
    Some(
        crate::diagnostic::Diagnostic::error(format!("unknown step `{step}` in a threshold"))
            .at(source, span, "no step of this name")
            .maybe_help(crate::diagnostic::did_you_mean(step, steps.iter().copied())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // the limits are exact conversions of what was written
    fn parses_every_kind() {
        let t = parse("p95<300ms").expect("valid");
        assert_eq!(
            (t.metric, t.op, t.limit),
            (Metric::Quantile(0.95), Op::Lt, 300_000.0)
        );
        let t = parse(" p99 <= 1.5s ").expect("valid");
        assert_eq!(
            (t.op, t.limit, t.text.as_str()),
            (Op::Le, 1_500_000.0, "p99 <= 1.5s")
        );
        assert_eq!(parse("max<250us").expect("valid").limit, 250.0);
        assert_eq!(parse("errors<1%").expect("valid").metric, Metric::Errors);
        let t = parse("rps>=500").expect("valid");
        assert_eq!((t.metric, t.op, t.limit), (Metric::Rps, Op::Ge, 500.0));
        let t = parse("step=get a token: take 2:p99<50ms").expect("valid");
        assert_eq!(t.step.as_deref(), Some("get a token: take 2"));
        assert_eq!(t.step_at, (5, 19));
    }

    #[test]
    fn mistakes_are_located() {
        let m = parse("p96<1s").expect_err("unknown");
        assert_eq!((m.start, m.len), (0, 3));
        assert!(
            m.help
                .as_deref()
                .is_some_and(|h| h.starts_with("did you mean `p95`?")),
            "{m:?}"
        );
        assert_eq!(nearest_percentile("p999"), Some("p99"));
        assert_eq!(nearest_percentile("p75"), Some("p90"));
        assert_eq!(nearest_percentile("p5"), Some("p50"));
        assert_eq!(nearest_percentile("pmax"), None);
        let m = parse("p95<300").expect_err("no unit");
        assert_eq!(
            (m.start, m.len, m.message.as_str()),
            (4, 3, "the latency `300` has no unit")
        );
        assert_eq!(parse("errors<1").expect_err("no %").start, 7);
        assert_eq!(
            parse("p95=1s").expect_err("no op").message,
            "the threshold has no comparison"
        );
        assert_eq!(parse("step=login p95<1s").expect_err("no colon").start, 0);
        assert_eq!(parse("step=a:rps>1").expect_err("per run").start, 7);
        assert_eq!(
            parse("").expect_err("empty").message,
            "the threshold is empty"
        );
        assert_eq!(parse("p95<").expect_err("no value").start, 3);
    }
}
