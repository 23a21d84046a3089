//! Arrival rates (`200/s`, `30/m`) and the stages of a staged rate (`30s:50/s`), as the flags
//! and a workflow's `load:` key write them.

use std::fmt;
use std::time::Duration;

use crate::duration::parse_duration;

/// An arrival rate, in iterations per second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate(pub(crate) f64);

impl Rate {
    /// Parses `200/s` or `30/m` (decimals allowed, `0/s` too), as `--rate` and stages take it.
    pub fn parse(text: &str) -> Result<Rate, String> {
        const EXPECTED: &str =
            "expected iterations per second or per minute, e.g. `200/s` or `30/m`";
        let trimmed = text.trim();
        let invalid = |why: &str| format!("invalid rate `{trimmed}`: {why}");
        let Some((number, unit)) = trimmed.split_once('/') else {
            return Err(invalid(EXPECTED));
        };
        let per = match unit {
            "s" => 1.0,
            "m" => 60.0,
            _ => return Err(invalid(&format!("unknown unit `/{unit}`; {EXPECTED}"))),
        };
        let valid = !number.is_empty()
            && number.chars().all(|c| c.is_ascii_digit() || c == '.')
            && number.chars().filter(|c| *c == '.').count() <= 1;
        let value = match number.parse::<f64>() {
            Ok(value) if valid && value.is_finite() => value,
            _ => return Err(invalid(EXPECTED)),
        };
        if value / per > 1_000_000.0 {
            return Err(invalid("it is above 1000000/s"));
        }
        Ok(Rate(value / per))
    }

    /// Returns the iterations per second.
    pub fn per_second(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", self.0)
    }
}

/// One stage of a staged rate: the rate moves linearly to `target` over `duration`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// How long the stage lasts.
    pub duration: Duration,
    /// The rate at its end.
    pub target: Rate,
}

impl Stage {
    /// Parses one stage, `30s:50/s`.
    pub fn parse(text: &str) -> Result<Stage, String> {
        let trimmed = text.trim();
        let Some((duration, target)) = trimmed.split_once(':') else {
            return Err(format!(
                "invalid stage `{trimmed}`: expected DURATION:RATE, e.g. `30s:50/s`"
            ));
        };
        let duration = parse_duration(duration)
            .map_err(|message| format!("in stage `{trimmed}`: {message}"))?;
        let target =
            Rate::parse(target).map_err(|message| format!("in stage `{trimmed}`: {message}"))?;
        Ok(Stage { duration, target })
    }

    /// Parses a comma list of stages, `30s:50/s,2m:200/s,30s:0/s`, as `--stages` takes it.
    pub fn parse_list(text: &str) -> Result<Vec<Stage>, String> {
        if text.trim().is_empty() {
            return Err(
                "invalid stages: the list is empty; expected DURATION:RATE,…, e.g. `30s:50/s,1m:50/s`"
                    .to_owned(),
            );
        }
        text.split(',').map(Stage::parse).collect()
    }
}
