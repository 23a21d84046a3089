//! Load-run metrics: latency histograms that add up exactly, counts, errors and a time series
//! (`metrics`), the time per phase of each step (`phases`), thresholds checked on them (`threshold`), and the merge of several processes'
//! JSON reports (`merge`).

pub mod histogram;
pub mod merge;
pub mod metrics;
pub mod phases;
pub mod threshold;
