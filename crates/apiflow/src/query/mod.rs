//! Queries into responses: `JSONPath` (RFC 9535) compiled once, the body parser that keeps only
//! what a step's paths select, and HTML pages (forms and CSS selectors).

pub mod jsonpath;
pub mod page;
pub mod pick;
