//! The load section of the HTML report: the run's figures, its thresholds as a passed/failed
//! table, and inline SVG charts (no script, nothing fetched) of requests and errors per second,
//! p50/p95/p99 over time, and each step's latency histogram.

use std::fmt::Write as _;

use serde_json::Value;

use crate::escape::escape_xml;
use crate::report::figures::{self, Bucket, Figures, Point};
use crate::secret::Masker;

/// The charts' size in SVG units; the page scales them down to its width.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 260.0;
/// Room around the plotting area: the y axis's labels, the legend, the x axis's labels.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 46.0;

// The Okabe–Ito colours, told apart with the common colour-vision deficiencies; the latency
// lines differ by their dashes too.
const BLUE: &str = "#0072B2";
const VERMILLION: &str = "#D55E00";
const GREEN: &str = "#009E73";
const ORANGE: &str = "#E69F00";
const PURPLE: &str = "#CC79A7";
const INK: &str = "#1d1d1f";
const GRID: &str = "#e3e3e8";
/// The thresholds' limits: apart from every series' colour.
const LIMIT: &str = "#444444";

/// How far above the highest p99 a threshold's limit is still drawn, as a factor.
const FAR_LIMIT: f64 = 4.0;

/// The percentiles drawn over time: name, colour, dashes.
const PERCENTILES: [(&str, &str, &str); 3] = [
    ("p50", GREEN, ""),
    ("p95", ORANGE, "7 3"),
    ("p99", PURPLE, "2 2"),
];

/// Style rules the page adds for the load section.
pub const STYLE: &str = "
section.load{margin-bottom:2rem}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.25rem}
svg.chart{display:block;max-width:100%;height:auto;border:1px solid #eee;border-radius:6px}
td.number,th.number{text-align:right;font-variant-numeric:tabular-nums}
";

/// Renders the load section of a `load` object; `index` tells the sections of one page apart.
/// Every text from the run (workflow, step and threshold names) is masked, then escaped.
pub fn render(load: &Value, index: usize, masker: &Masker) -> String {
    let figures = Figures::read(load);
    let text = |value: &str| escape_xml(&masker.mask(value));
    let id = format!("load-{index}");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<section class=\"load\" aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">Load: {} <small>({})</small></h2>",
        text(&figures.name),
        text(&figures.file)
    );
    let state = if figures.passed() { "passed" } else { "failed" };
    let _ = writeln!(
        out,
        "<div class=\"summary {state}\"><strong>{state}</strong>: {}</div>",
        text(&figures.headline()),
    );
    latency_table(&mut out, &figures, &text);
    phases_table(&mut out, &figures, &text);
    thresholds_table(&mut out, &figures, &text);
    if !figures.series.is_empty() {
        throughput_chart(&mut out, &format!("{id}-rate"), &figures.series);
        latency_chart(&mut out, &format!("{id}-latency"), &figures);
    }
    for (number, step) in figures.steps.iter().enumerate() {
        let buckets = figures::buckets(load, &step.name);
        if !buckets.is_empty() {
            histogram_chart(
                &mut out,
                &format!("{id}-step-{number}"),
                &text(&step.name),
                step,
                &buckets,
            );
        }
    }
    out.push_str("</section>\n");
    out
}

fn latency_table(out: &mut String, figures: &Figures, text: &dyn Fn(&str) -> String) {
    out.push_str("<table class=\"latency\"><caption>Latency per step</caption>\n<tr><th>step</th><th class=\"number\">runs</th><th class=\"number\">p50</th><th class=\"number\">p95</th><th class=\"number\">p99</th><th class=\"number\">max</th></tr>\n");
    for (row, name) in figures
        .steps
        .iter()
        .map(|r| (r, text(&r.name)))
        .chain(std::iter::once((
            &figures.overall,
            "<strong>all steps</strong>".to_owned(),
        )))
    {
        let _ = writeln!(
            out,
            "<tr><td>{name}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td><td class=\"number\">{}</td></tr>",
            row.count,
            figures::latency(row.p50),
            figures::latency(row.p95),
            figures::latency(row.p99),
            figures::latency(row.max),
        );
    }
    out.push_str("</table>\n");
}

/// The mean time per run of each phase of each step that sent requests, as the terminal's
/// summary shows it (`–`: no run of the step went through the phase).
fn phases_table(out: &mut String, figures: &Figures, text: &dyn Fn(&str) -> String) {
    if figures.phases.is_empty() {
        return;
    }
    out.push_str("<table class=\"phases\"><caption>Time per phase (mean per run)</caption>\n<tr><th>step</th>");
    for head in crate::load::phases::COLUMNS {
        let _ = write!(out, "<th class=\"number\">{head}</th>");
    }
    out.push_str("</tr>\n");
    let shown = |ms: Option<f64>| ms.map_or_else(|| "–".to_owned(), figures::latency);
    for row in &figures.phases {
        let _ = write!(out, "<tr><td>{}</td>", text(&row.name));
        for value in crate::load::phases::columns(row.means, Some(row.ttfb_p95)) {
            let _ = write!(out, "<td class=\"number\">{}</td>", shown(value));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

fn thresholds_table(out: &mut String, figures: &Figures, text: &dyn Fn(&str) -> String) {
    if figures.thresholds.is_empty() {
        return;
    }
    out.push_str("<table class=\"thresholds\"><caption>Thresholds</caption>\n<tr><th></th><th>threshold</th><th>measured</th></tr>\n");
    for verdict in &figures.thresholds {
        let (class, mark) = if verdict.passed {
            ("passed", "✓ passed")
        } else {
            ("failed", "✗ failed")
        };
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td class=\"{class}\">{mark}</td><td><code>{}</code></td><td>{}</td></tr>",
            text(&verdict.threshold),
            text(verdict.actual.as_deref().unwrap_or("the step never ran")),
        );
    }
    out.push_str("</table>\n");
}

/// Returns a tick step of 1, 2 or 5 times a power of ten giving at most six ticks up to `max`,
/// and the last tick (at least `max`).
fn ticks(max: f64) -> (f64, f64) {
    let max = if max > 0.0 { max } else { 1.0 };
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough * 0.999_999)
        .unwrap_or(10.0 * magnitude);
    (step, (max / step - 1e-9).ceil() * step)
}

/// Shows an axis number without needless decimals: `0`, `2.5`, `0.05`.
fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// Shows a latency tick, in microseconds, with its unit: `500µs`, `2ms`, `1.5s`.
fn tick_latency(micros: f64) -> String {
    if micros < 999.5 {
        format!("{}µs", number(micros.round()))
    } else if micros < 999_500.0 {
        format!("{}ms", number(micros / 1000.0))
    } else {
        format!("{}s", number(micros / 1_000_000.0))
    }
}

/// Maps values to SVG coordinates inside the plotting area.
struct Plot {
    x_max: f64,
    y_max: f64,
}

impl Plot {
    fn x(&self, value: f64) -> f64 {
        LEFT + value / self.x_max * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, value: f64) -> f64 {
        HEIGHT - BOTTOM - value / self.y_max * (HEIGHT - TOP - BOTTOM)
    }
}

/// How a legend entry is drawn.
enum Swatch<'a> {
    Bar(&'a str),
    Line(&'a str, &'a str),
}

/// Opens a chart: the SVG with its title and description, the y axis with its grid, and the
/// legend. `y_ticks` is the tick step; the x axis is each chart's own.
fn open(
    out: &mut String,
    id: &str,
    (title, description): (&str, &str),
    plot: &Plot,
    (y_step, y_label): (f64, &str),
    legend: &[(&str, Swatch<'_>)],
) {
    let _ = writeln!(
        out,
        "<figure>\n<figcaption id=\"{id}-caption\">{title}</figcaption>\n<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"system-ui,sans-serif\" font-size=\"12\" fill=\"{INK}\">\n<title id=\"{id}-title\">{title}</title>\n<desc id=\"{id}-desc\">{description}</desc>"
    );
    let mut tick = 0.0;
    while tick <= plot.y_max + y_step * 1e-6 {
        let y = plot.y(tick);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            number(tick)
        );
        tick += y_step;
    }
    let middle = (TOP + HEIGHT - BOTTOM) / 2.0;
    let _ = writeln!(
        out,
        "<text x=\"14\" y=\"{middle:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {middle:.1})\">{y_label}</text>"
    );
    let mut x = LEFT;
    out.push_str("<g class=\"legend\">");
    for (label, swatch) in legend {
        match swatch {
            Swatch::Bar(colour) => {
                let _ = write!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"10\" width=\"12\" height=\"12\" fill=\"{colour}\"/>"
                );
            }
            Swatch::Line(colour, dashes) => {
                let _ = write!(
                    out,
                    "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"16\" y2=\"16\" stroke=\"{colour}\" stroke-width=\"2.5\" stroke-dasharray=\"{dashes}\"/>",
                    x + 18.0
                );
            }
        }
        let _ = write!(out, "<text x=\"{:.1}\" y=\"20\">{label}</text>", x + 22.0);
        #[allow(clippy::cast_precision_loss)]
        let width = label.chars().count() as f64 * 7.0;
        x += 22.0 + width + 18.0;
    }
    out.push_str("</g>\n");
}

/// Draws the x axis of a time series of `len` seconds and closes the chart.
fn close_seconds(out: &mut String, plot: &Plot) {
    let (step, _) = ticks(plot.x_max);
    let mut tick = 0.0;
    while tick <= plot.x_max + step * 1e-6 {
        let x = plot.x(tick);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{INK}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 5.0,
            HEIGHT - BOTTOM + 18.0,
            number(tick)
        );
        tick += step;
    }
    close(out, "seconds since the start");
}

fn close(out: &mut String, x_label: &str) {
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{INK}\"/><line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"{INK}\"/>\n<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{x_label}</text>\n</svg>\n</figure>",
        WIDTH - RIGHT,
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM,
        HEIGHT - BOTTOM,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 8.0,
    );
}

#[allow(clippy::cast_precision_loss)]
fn float(n: u64) -> f64 {
    n as f64
}

/// Requests per second as bars, the failed steps of each second as bars over them.
fn throughput_chart(out: &mut String, id: &str, series: &[Point]) {
    let peak = series
        .iter()
        .map(|p| p.requests.max(p.errors))
        .max()
        .unwrap_or(0);
    let (y_step, y_max) = ticks(float(peak));
    let plot = Plot {
        x_max: float(series.len() as u64),
        y_max,
    };
    let busiest = series
        .iter()
        .max_by_key(|p| (p.requests, std::cmp::Reverse(p.offset)))
        .map_or(0, |p| p.offset);
    let errors: u64 = series.iter().map(|p| p.errors).sum();
    let description = format!(
        "Requests sent and steps failed in each second of the run's {} seconds: at most {peak} requests in a second (second {busiest}), {errors} failed steps in all.",
        series.len()
    );
    open(
        out,
        id,
        ("Requests and errors per second", &description),
        &plot,
        (y_step, "per second"),
        &[
            ("requests", Swatch::Bar(BLUE)),
            ("failed steps", Swatch::Bar(VERMILLION)),
        ],
    );
    let slot = plot.x(1.0) - plot.x(0.0);
    let width = (slot * 0.8).max(0.5);
    for (colour, class, value) in [
        (
            BLUE,
            "requests",
            (|p: &Point| p.requests) as fn(&Point) -> u64,
        ),
        (VERMILLION, "errors", |p: &Point| p.errors),
    ] {
        let _ = write!(out, "<g class=\"{class}\" fill=\"{colour}\">");
        for point in series.iter().filter(|p| value(p) > 0) {
            let top = plot.y(float(value(point)));
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{width:.1}\" height=\"{:.1}\"><title>second {}: {} {class}</title></rect>",
                plot.x(float(point.offset)) + (slot - width) / 2.0,
                HEIGHT - BOTTOM - top,
                point.offset,
                value(point),
            );
        }
        out.push_str("</g>\n");
    }
    close_seconds(out, &plot);
}

/// p50, p95 and p99 of each second as lines (broken where no step ended), with the limits of
/// the thresholds on them as dashed lines.
fn latency_chart(out: &mut String, id: &str, figures: &Figures) {
    let series = &figures.series;
    let highest = series
        .iter()
        .filter_map(|p| p.latency)
        .map(|l| l[2])
        .fold(0.0, f64::max);
    // A limit far above every latency would flatten the lines to the axis: it stays in the
    // table only.
    let limits: Vec<(usize, f64, &str)> = figures
        .thresholds
        .iter()
        .filter_map(|t| t.line.map(|(i, limit)| (i, limit, t.threshold.as_str())))
        .filter(|(_, limit, _)| *limit <= highest * FAR_LIMIT)
        .collect();
    let top = limits.iter().map(|l| l.1).fold(highest, f64::max);
    let (y_step, y_max) = ticks(top);
    let plot = Plot {
        x_max: float(series.len() as u64),
        y_max,
    };
    let worst = series
        .iter()
        .filter_map(|p| p.latency.map(|l| (p.offset, l[2])))
        .fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let description = format!(
        "The 50th, 95th and 99th percentiles of the latency of the steps that ended in each second; the highest p99 is {} (second {}).",
        figures::latency(worst.1),
        worst.0
    );
    let mut legend: Vec<(&str, Swatch<'_>)> = PERCENTILES
        .iter()
        .map(|(name, colour, dashes)| (*name, Swatch::Line(colour, dashes)))
        .collect();
    if !limits.is_empty() {
        legend.push(("threshold", Swatch::Line(LIMIT, "10 4")));
    }
    open(
        out,
        id,
        ("Latency over time", &description),
        &plot,
        (y_step, "latency (ms)"),
        &legend,
    );
    let centre = |p: &Point| plot.x(float(p.offset) + 0.5);
    for (index, (name, colour, dashes)) in PERCENTILES.iter().enumerate() {
        let _ = write!(
            out,
            "<g class=\"{name}\" stroke=\"{colour}\" fill=\"{colour}\">"
        );
        // One line per run of seconds with latencies.
        for run in series.split(|p| p.latency.is_none()) {
            let points: Vec<String> = run
                .iter()
                .filter_map(|p| {
                    p.latency
                        .map(|l| format!("{:.1},{:.1}", centre(p), plot.y(l[index])))
                })
                .collect();
            match points.as_slice() {
                [] => {}
                [one] => {
                    let (x, y) = one.split_once(',').unwrap_or(("0", "0"));
                    let _ = write!(out, "<circle cx=\"{x}\" cy=\"{y}\" r=\"3\"/>");
                }
                _ => {
                    let _ = write!(
                        out,
                        "<polyline points=\"{}\" fill=\"none\" stroke-width=\"2\" stroke-dasharray=\"{dashes}\"/>",
                        points.join(" ")
                    );
                }
            }
        }
        out.push_str("</g>\n");
    }
    for (_, limit, threshold) in limits {
        let y = plot.y(limit);
        let _ = writeln!(
            out,
            "<g class=\"limit\"><line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{LIMIT}\" stroke-width=\"1.5\" stroke-dasharray=\"10 4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{LIMIT}\">{}</text></g>",
            WIDTH - RIGHT,
            WIDTH - RIGHT - 4.0,
            y - 4.0,
            escape_xml(threshold),
        );
    }
    close_seconds(out, &plot);
}

/// A step's latencies as bars on a log scale, with its p50, p95 and p99 marked.
fn histogram_chart(
    out: &mut String,
    id: &str,
    name: &str,
    step: &figures::Row,
    buckets: &[Bucket],
) {
    let peak = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    let (y_step, y_max) = ticks(float(peak));
    let low = buckets.first().map_or(1.0, |b| b.low).log10();
    let high = buckets.last().map_or(10.0, |b| b.high).log10();
    let plot = Plot {
        x_max: high - low,
        y_max,
    };
    let at = |micros: f64| plot.x(micros.max(1.0).log10() - low);
    let description = format!(
        "How the {} latencies of step {name} spread, on a log scale: p50 {}, p95 {}, p99 {}, max {}.",
        step.count,
        figures::latency(step.p50),
        figures::latency(step.p95),
        figures::latency(step.p99),
        figures::latency(step.max),
    );
    let legend: Vec<(&str, Swatch<'_>)> = std::iter::once(("runs", Swatch::Bar(BLUE)))
        .chain(
            PERCENTILES
                .iter()
                .map(|(name, colour, dashes)| (*name, Swatch::Line(colour, dashes))),
        )
        .collect();
    open(
        out,
        id,
        (&format!("Latency of step {name}"), &description),
        &plot,
        (y_step, "runs"),
        &legend,
    );
    let _ = write!(out, "<g class=\"bars\" fill=\"{BLUE}\">");
    for bucket in buckets.iter().filter(|b| b.count > 0) {
        let (left, right) = (at(bucket.low), at(bucket.high));
        let top = plot.y(float(bucket.count));
        let _ = write!(
            out,
            "<rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} to {}: {} runs</title></rect>",
            left + 1.0,
            (right - left - 2.0).max(0.5),
            HEIGHT - BOTTOM - top,
            figures::latency(bucket.low / 1000.0),
            figures::latency(bucket.high / 1000.0),
            bucket.count,
        );
    }
    out.push_str("</g>\n");
    for ((name, colour, dashes), ms) in PERCENTILES.iter().zip([step.p50, step.p95, step.p99]) {
        let x = at(ms * 1000.0);
        let _ = writeln!(
            out,
            "<line class=\"{name}\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{:.1}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dashes}\"><title>{name} {}</title></line>",
            HEIGHT - BOTTOM,
            figures::latency(ms),
        );
    }
    // Ticks at 1, 2 and 5 times each power of ten, or at the powers only when the range is
    // wide.
    let decades = (high - low).ceil();
    let multiples: &[f64] = if decades > 2.5 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut power = 10f64.powf(low.floor());
    while power <= 10f64.powf(high) {
        for multiple in multiples {
            let value = power * multiple;
            let log = value.log10();
            if log < low - 1e-9 || log > high + 1e-9 {
                continue;
            }
            let x = at(value);
            let _ = writeln!(
                out,
                "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"{INK}\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                HEIGHT - BOTTOM,
                HEIGHT - BOTTOM + 5.0,
                HEIGHT - BOTTOM + 18.0,
                tick_latency(value),
            );
        }
        power *= 10.0;
    }
    close(out, "latency (log scale)");
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::load::metrics::{FAILED_CHECK, Metrics, Sample};
    use crate::load::phases::Spent;
    use crate::load::threshold;

    /// A run of 40 iterations over 6 seconds (none ended in the fifth): a token step, and a
    /// step whose name needs escaping, slower and failing now and then.
    pub(crate) fn fixed_load() -> Value {
        let start = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut metrics = Metrics::new("Items <API>", "items.yaml", start);
        for i in 0..40u64 {
            let second = [0, 0, 1, 1, 1, 2, 3, 5][usize::try_from(i % 8).unwrap_or(0)];
            let at = start + Duration::from_secs(second);
            let failed = i % 9 == 4;
            let samples = [
                Sample {
                    step: "get a token".into(),
                    latency: Duration::from_micros(800 + i * 37),
                    requests: 1,
                    error: None,
                    at,
                    // The first run connects; the others reuse its connection.
                    phases: Spent([
                        None,
                        (i == 0).then(|| Duration::from_micros(150)),
                        None,
                        Some(Duration::from_micros(600 + i * 30)),
                        Some(Duration::from_micros(20)),
                    ]),
                },
                Sample {
                    step: "read \"items\" & <more>".into(),
                    latency: Duration::from_micros(2_000 + i * i * 40),
                    requests: 2,
                    error: failed.then_some(FAILED_CHECK),
                    at,
                    phases: Spent::default(),
                },
            ];
            metrics.iteration(!failed, &samples);
        }
        metrics.ended = start + Duration::from_millis(5_800);
        let verdicts: Vec<Value> = ["p95<50ms", "p99<100ms", "errors<1%"]
            .iter()
            .map(|t| {
                threshold::parse(t)
                    .expect("a valid threshold")
                    .check(&metrics)
                    .to_json()
            })
            .collect();
        metrics.to_json(&verdicts)
    }

    #[test]
    fn a_load_run_draws_the_same_charts_every_time() {
        let section = render(&fixed_load(), 0, &Masker::new());
        insta::assert_snapshot!(section);
    }

    #[test]
    fn names_from_the_run_are_masked_and_escaped() {
        let mut masker = Masker::new();
        masker.add("token");
        let section = render(&fixed_load(), 0, &masker);
        assert!(!section.contains("token"));
        assert!(section.contains("get a ••••"));
        assert!(section.contains("read &quot;items&quot; &amp; &lt;more&gt;"));
        assert!(!section.contains("<more>"));
        assert!(!section.contains("<API>"));
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(ticks(0.0), (0.2, 1.0));
        assert_eq!(ticks(7.0), (2.0, 8.0));
        assert_eq!(ticks(100.0), (20.0, 100.0));
        assert_eq!(ticks(1234.0), (500.0, 1500.0));
        assert_eq!(number(0.1 + 0.2), "0.3");
        assert_eq!(number(1500.0), "1500");
        assert_eq!(tick_latency(500.0), "500µs");
        assert_eq!(tick_latency(2000.0), "2ms");
        assert_eq!(tick_latency(1_500_000.0), "1.5s");
    }
}
