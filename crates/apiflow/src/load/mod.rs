//! Load-run metrics: latency histograms that add up exactly, counts, errors and a time series
//! (`metrics`), thresholds checked on them (`threshold`), and the merge of several processes'
//! JSON reports (`merge`).

pub mod histogram;
pub mod merge;
pub mod metrics;
pub mod threshold;
