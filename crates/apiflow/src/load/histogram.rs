//! Latency histograms: HDR histograms in microseconds that add up exactly, with their compact
//! text form (HDR V2, deflated, base64) for reports.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};

/// The smallest latency told apart: one microsecond.
const LOWEST: u64 = 1;
/// The largest latency kept as it is: one hour, in microseconds; longer ones count as one hour.
const HIGHEST: u64 = 3_600_000_000;
/// Significant digits kept: any latency is known within 0.1%.
const DIGITS: u8 = 3;
/// Significant digits of the seconds of a time series: within 1%.
const COARSE_DIGITS: u8 = 2;

/// Latencies in microseconds, from 1 µs to 1 h at 3 significant digits: the memory it takes
/// depends on that range only, never on how many latencies it holds.
#[derive(Clone, Debug)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Latencies {
        Latencies::new()
    }
}

impl Latencies {
    /// Creates an empty histogram that covers the whole range.
    pub fn new() -> Latencies {
        // The bounds are constants that `new_with_bounds` accepts.
        Latencies(
            Histogram::new_with_bounds(LOWEST, HIGHEST, DIGITS)
                .unwrap_or_else(|_| unreachable!("1 µs to 1 h at 3 digits is a valid histogram")),
        )
    }

    /// Creates an empty histogram that grows to the largest latency it is given: small while it
    /// holds few short latencies (one second of a time series).
    pub fn growing() -> Latencies {
        let mut histogram = Histogram::new_with_bounds(LOWEST, 2048, DIGITS)
            .unwrap_or_else(|_| unreachable!("1 µs to 2 ms at 3 digits is a valid histogram"));
        histogram.auto(true);
        Latencies(histogram)
    }

    /// Creates an empty histogram that grows like [`Latencies::growing`] and keeps latencies to
    /// 2 significant digits (within 1%): one second of a time series, of which a run keeps one
    /// for every second it lasts, in about a third of the room.
    pub fn coarse() -> Latencies {
        let mut histogram = Histogram::new_with_bounds(LOWEST, 2048, COARSE_DIGITS)
            .unwrap_or_else(|_| unreachable!("1 µs to 2 ms at 2 digits is a valid histogram"));
        histogram.auto(true);
        Latencies(histogram)
    }

    /// Adds one latency; below 1 µs counts as 1 µs, above 1 h as 1 h.
    pub fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(HIGHEST)
            .clamp(LOWEST, HIGHEST);
        // `saturating_record` would clamp a growing histogram to its current top instead of
        // growing it; `record` grows it, and fails only past the full range, already clamped.
        if self.0.record(micros).is_err() {
            self.0.saturating_record(micros);
        }
    }

    /// Adds every latency of another histogram.
    pub fn add(&mut self, other: &Latencies) -> Result<(), String> {
        self.0
            .add(&other.0)
            .map_err(|e| format!("the histograms cannot be added: {e:?}"))
    }

    /// Empties the histogram, keeping the memory it has grown to.
    pub fn clear(&mut self) {
        self.0.reset();
    }

    /// Returns how many latencies it holds.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Returns the latency at a quantile (0.95 for p95), to 3 significant digits; zero when
    /// empty.
    pub fn quantile(&self, quantile: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_micros(
            self.0
                .highest_equivalent(self.0.value_at_quantile(quantile)),
        )
    }

    /// Returns the largest latency, to 3 significant digits.
    pub fn max(&self) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_micros(self.0.max())
    }

    /// Returns the mean latency.
    pub fn mean(&self) -> Duration {
        Duration::from_secs_f64(self.0.mean().max(0.0) / 1_000_000.0)
    }

    /// Lists the latencies held, in microseconds, each with how many times it was recorded
    /// (latencies equal to 3 significant digits counted together), smallest first.
    pub fn recorded(&self) -> Vec<(u64, u64)> {
        self.0
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect()
    }

    /// Returns how many counters the histogram keeps: what its memory grows with.
    pub fn counters(&self) -> usize {
        self.0.distinct_values()
    }

    /// Writes the histogram as HDR V2 deflated, in base64: the form reports hold.
    pub fn encode(&self) -> String {
        // The text names the histogram's range: a growing one is written as the whole range,
        // so the same latencies give the same text however the histogram grew.
        let whole;
        let histogram = if self.0.is_auto_resize() {
            let mut copy = Latencies::new();
            if copy.add(self).is_err() {
                return String::new();
            }
            whole = copy;
            &whole.0
        } else {
            &self.0
        };
        let mut bytes = Vec::new();
        // Writing into a `Vec` fails only on counts the format cannot hold, which a histogram
        // built here never has.
        if V2DeflateSerializer::new()
            .serialize(histogram, &mut bytes)
            .is_err()
        {
            bytes.clear();
        }
        STANDARD.encode(bytes)
    }

    /// Reads a histogram [`encode`](Latencies::encode) wrote.
    pub fn decode(text: &str) -> Result<Latencies, String> {
        let bytes = STANDARD
            .decode(text.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let histogram: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("not an HDR histogram: {e:?}"))?;
        let mut latencies = Latencies::growing();
        latencies.add(&Latencies(histogram))?;
        Ok(latencies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_does_not_grow_with_the_latencies_held() {
        let mut few = Latencies::new();
        for micros in 1..=10 {
            few.record(Duration::from_micros(micros * 997));
        }
        let mut many = Latencies::new();
        for micros in 1..=200_000u64 {
            many.record(Duration::from_micros(micros * 37 % 5_000_000 + 1));
        }
        assert_eq!(many.count(), 200_000);
        assert_eq!(few.counters(), many.counters());
    }

    #[test]
    fn quantiles_are_within_three_digits() {
        let mut latencies = Latencies::new();
        for millis in 1..=1000 {
            latencies.record(Duration::from_millis(millis));
        }
        let p95 = latencies.quantile(0.95).as_micros();
        assert!((950_000..=951_000).contains(&p95), "{p95}");
        assert_eq!(latencies.quantile(0.5).as_micros() / 1000, 500);
        assert!(latencies.max() >= Duration::from_secs(1));
    }

    #[test]
    fn a_growing_histogram_grows_to_its_longest_latency() {
        let mut latencies = Latencies::growing();
        latencies.record(Duration::from_micros(500));
        latencies.record(Duration::from_millis(30));
        latencies.record(Duration::from_secs(10_000));
        assert_eq!(latencies.quantile(0.5).as_millis(), 30);
        assert_eq!(latencies.max().as_secs(), 3600);
        // The same latencies give the same text, whatever histogram held them.
        let mut full = Latencies::new();
        for latency in [500, 30_000, 3_600_000_000] {
            full.record(Duration::from_micros(latency));
        }
        assert_eq!(full.encode(), latencies.encode());
    }

    #[test]
    fn out_of_range_latencies_are_clamped() {
        let mut latencies = Latencies::new();
        latencies.record(Duration::ZERO);
        latencies.record(Duration::from_secs(10_000));
        assert_eq!(latencies.count(), 2);
        assert_eq!(latencies.quantile(0.0), Duration::from_micros(1));
    }

    #[test]
    fn the_text_form_reads_back_and_adds_up() {
        let mut one = Latencies::new();
        let mut two = Latencies::growing();
        for micros in 1..=500u64 {
            one.record(Duration::from_micros(micros * 13));
            two.record(Duration::from_micros(micros * 7919));
        }
        let mut both = Latencies::decode(&one.encode()).expect("its own text");
        both.add(&Latencies::decode(&two.encode()).expect("its own text"))
            .expect("adds");
        let mut direct = one.clone();
        direct.add(&two).expect("adds");
        assert_eq!(both.count(), 1000);
        for q in [0.5, 0.95, 0.99, 1.0] {
            assert_eq!(both.quantile(q), direct.quantile(q));
        }
        assert!(Latencies::decode("not base64!").is_err());
        assert!(Latencies::decode("aGVsbG8=").is_err());
    }
}
