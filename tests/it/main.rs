//! The integration tests of apiflow, one binary: each module covers one area, through the
//! library or the real `apiflow` binary, against servers in this process on 127.0.0.1.

#[path = "../support/mod.rs"]
mod support;

mod arazzo_examples;
mod arazzo_run;
mod auth;
mod bad_input;
mod batch;
mod body_schema;
mod cli;
mod collections;
mod compose;
mod cookie_jar;
mod docs;
mod emulator;
mod engine;
mod har;
mod hostile;
mod http2;
mod http_stacks;
mod import;
mod import_arazzo;
mod iterate;
mod jsonpath_cts;
mod leaks;
mod load_live;
mod load_merge;
mod load_metrics;
mod load_profiles;
mod load_thresholds;
mod mtls;
mod newman;
mod oidc;
mod ok;
mod openapi;
mod parallel;
mod pingone;
mod plan;
mod properties;
mod proxy;
mod reports;
mod schema;
mod scripts;
mod semantics;
mod signals;
mod summaries;
mod timings;
mod tls;
mod uploads;
