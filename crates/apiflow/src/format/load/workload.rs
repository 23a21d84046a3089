//! Loading the `load:` key: the load test a workflow carries (iterations, concurrency, a
//! duration, a rate or stages, and thresholds), each value located, with the same syntax as the
//! flags of the same names.

use super::{LOAD_KEYS, Loader};
use crate::format::model::{Action, LoadTest, Step};
use crate::format::yaml::{Node, NodeKind};
use crate::limits as threshold;
use crate::rate::{Rate, Stage};
use crate::span::Span;

impl Loader {
    pub(super) fn load_test(
        &mut self,
        at: Span,
        node: &Node,
        steps: &[Step],
        finally: &[Step],
    ) -> Option<LoadTest> {
        self.step = None;
        let mut fields = self.fields(node, "load")?;
        let mut load = LoadTest {
            span: at,
            ..LoadTest::default()
        };
        load.iterations = fields
            .get("iterations")
            .and_then(|n| self.count(n, "load.iterations", 1, i64::from(u32::MAX)));
        load.concurrency = fields
            .get("concurrency")
            .and_then(|n| self.count(n, "load.concurrency", 1, 10_000));
        load.duration = fields
            .get("duration")
            .and_then(|n| self.duration(n, "load.duration"));
        load.rate = fields.get("rate").and_then(|n| self.rate(n));
        load.stages = fields.get("stages").and_then(|n| self.stages(n));
        if let Some(node) = fields.get("thresholds") {
            let names: Vec<&str> = steps
                .iter()
                .chain(finally)
                .map(|s| s.name.value.as_str())
                .collect();
            let composite = composite_steps(steps.iter().chain(finally));
            // A step of a used workflow is known only once that workflow is loaded.
            let uses = steps
                .iter()
                .chain(finally)
                .any(|s| matches!(s.action, Action::Uses(_)));
            let (thresholds, deferred) = self.thresholds(node, &names, &composite, uses);
            load.thresholds = thresholds;
            load.deferred = deferred;
        }
        self.finish(&fields, LOAD_KEYS, "load");
        // The same pairs the flags refuse: a run is bounded by a count, a duration or stages.
        let given = |key: &str| fields.key(key).map(|k| k.span);
        let conflicts = [
            (
                "duration",
                "iterations",
                "a load run is bounded by a number of iterations or by a duration: keep one",
            ),
            (
                "stages",
                "iterations",
                "stages give the arrivals over their own durations: keep one",
            ),
            (
                "stages",
                "duration",
                "stages give the arrivals over their own durations: keep one",
            ),
            (
                "stages",
                "rate",
                "stages give the arrivals over their own durations: keep one",
            ),
        ];
        for (key, other, help) in conflicts {
            if let (Some(span), Some(_)) = (given(key), given(other)) {
                self.error(
                    format!("`load.{key}` does not go with `load.{other}`"),
                    span,
                    format!("given with `{other}`"),
                )
                .help = Some(help.into());
            }
        }
        let bounded = given("duration")
            .or(given("iterations"))
            .or(given("stages"));
        if let (Some(span), None) = (given("rate"), bounded) {
            self.error(
                "`load.rate` needs `load.duration` or `load.iterations`",
                span,
                "no `duration` or `iterations` beside it",
            )
            .help = Some(
                "start iterations at the rate for a time (`duration: 5m`) or until a count has started (`iterations: 500`)"
                    .into(),
            );
        }
        Some(load)
    }

    fn rate(&mut self, node: &Node) -> Option<Rate> {
        self.rate_of(node, "load.rate")
    }

    /// Reads a rate; `what` names it in messages.
    fn rate_of(&mut self, node: &Node, what: &str) -> Option<Rate> {
        let NodeKind::Str(text) = &node.kind else {
            self.expected(what, "a rate such as `200/s` or `30/m`", node);
            return None;
        };
        match Rate::parse(text) {
            Ok(rate) => Some(rate),
            Err(message) => {
                self.error(message, node.span, "not a rate");
                None
            }
        }
    }

    /// Reads stages written as the flag takes them (`30s:50/s,2m:200/s`) or as a YAML list of
    /// `DURATION:RATE` or `{ duration, rate }` (`- 30s:50/s`, `- { duration: 30s, rate: 50/s }`).
    fn stages(&mut self, node: &Node) -> Option<Vec<Stage>> {
        const EXPECTED: &str = "stages such as `30s:50/s,2m:200/s` or a list of `DURATION:RATE`";
        match &node.kind {
            NodeKind::Str(text) => match Stage::parse_list(text) {
                Ok(stages) => Some(stages),
                Err(message) => {
                    self.error(message, node.span, "not a list of stages");
                    None
                }
            },
            NodeKind::Seq(items) if !items.is_empty() => {
                let mut stages = Vec::with_capacity(items.len());
                for item in items {
                    if let NodeKind::Map(_) = &item.kind {
                        if let Some(stage) = self.stage_fields(item) {
                            stages.push(stage);
                        }
                        continue;
                    }
                    let NodeKind::Str(text) = &item.kind else {
                        self.expected(
                            "load.stages",
                            "a stage such as `30s:50/s` or `{ duration: 30s, rate: 50/s }`",
                            item,
                        );
                        continue;
                    };
                    match Stage::parse(text) {
                        Ok(stage) => stages.push(stage),
                        Err(message) => {
                            self.error(message, item.span, "not a stage");
                        }
                    }
                }
                (stages.len() == items.len()).then_some(stages)
            }
            _ => {
                self.expected("load.stages", EXPECTED, node);
                None
            }
        }
    }

    /// Reads a stage written as a mapping, `{ duration: 30s, rate: 50/s }`: the rate moves
    /// linearly to `rate` over `duration`, as `30s:50/s` says.
    fn stage_fields(&mut self, node: &Node) -> Option<Stage> {
        const WHAT: &str = "load.stages[]";
        let mut fields = self.fields(node, WHAT)?;
        let duration_node = fields.get("duration");
        let rate_node = fields.get("rate");
        // k6's stages name the virtual users they ramp to `target`; apiflow's give arrivals.
        if let (Some(key), Some(_)) = (fields.key("target"), fields.get("target")) {
            self.error(
                format!("unknown key `target` in `{WHAT}`"),
                key.span,
                "unknown key",
            )
            .help = Some(
                "a stage ramps the arrival rate to `rate`, e.g. `{ duration: 30s, rate: 50/s }`; \
                 the virtual users are `load.concurrency`"
                    .into(),
            );
        }
        self.finish(&fields, &["duration", "rate"], WHAT);
        for (key, found) in [("duration", duration_node), ("rate", rate_node)] {
            if found.is_none() {
                self.error(
                    format!("a stage needs `{key}`"),
                    node.span,
                    format!("no `{key}` here"),
                )
                .help = Some("write a stage as `{ duration: 30s, rate: 50/s }`".into());
            }
        }
        let duration = duration_node.and_then(|n| self.duration(n, "load.stages[].duration"));
        let target = rate_node.and_then(|n| self.rate_of(n, "load.stages[].rate"));
        Some(Stage {
            duration: duration?,
            target: target?,
        })
    }

    /// Reads the thresholds, each mistake pointed at inside its text; a step's threshold must
    /// name one of `steps`, or, in a file with `uses` steps, is deferred (returned with where
    /// its text starts) until the used workflows' steps are known.
    fn thresholds(
        &mut self,
        node: &Node,
        steps: &[&str],
        composite: &[(&str, &str)],
        uses: bool,
    ) -> (Vec<threshold::Threshold>, Vec<(usize, Span)>) {
        let NodeKind::Seq(items) = &node.kind else {
            self.expected(
                "load.thresholds",
                "a list of thresholds such as `p95<300ms`",
                node,
            );
            return (Vec::new(), Vec::new());
        };
        let mut thresholds = Vec::with_capacity(items.len());
        let mut deferred = Vec::new();
        for item in items {
            let NodeKind::Str(text) = &item.kind else {
                self.expected("load.thresholds", "a threshold such as `p95<300ms`", item);
                continue;
            };
            // Where the text starts: after the quote of a quoted scalar.
            let start = match self.column_offset(item.span, text) {
                Some(offset) => item.span.shifted(offset, 1),
                None => item.span,
            };
            match threshold::parse(text) {
                Ok(mut parsed) => {
                    let unknown =
                        threshold::unknown_step(&parsed, Some(steps), &self.source, start);
                    let problem = match unknown {
                        Some(_) if uses => {
                            deferred.push((thresholds.len(), start));
                            None
                        }
                        unknown => unknown.or_else(|| {
                            threshold::composite_step(&parsed, composite, &self.source, start)
                        }),
                    };
                    if let Some(problem) = problem {
                        self.errors.push(problem);
                    } else {
                        parsed.location = Some(format!("{}:{start}", self.source.name));
                        thresholds.push(parsed);
                    }
                }
                Err(mistake) => self.errors.push(mistake.diagnostic(&self.source, start)),
            }
        }
        (thresholds, deferred)
    }
}

/// Lists the steps that run other steps, with what makes them so: their latencies are counted
/// under the names of the steps they run.
pub fn composite_steps<'s>(steps: impl Iterator<Item = &'s Step>) -> Vec<(&'s str, &'s str)> {
    steps
        .filter_map(|step| {
            let why = if step.for_each.is_some() {
                "for_each"
            } else if matches!(step.action, Action::Uses(_)) {
                "uses"
            } else {
                return None;
            };
            Some((step.name.value.as_str(), why))
        })
        .collect()
}
