//! apiflow-arazzo: Arazzo 1.0 and 1.1 documents, bound to the OpenAPI descriptions their steps
//! call, loaded into a typed model that keeps the position of every value, checked before
//! anything is sent, and run on apiflow's engine.
//!
//! The modules follow the data: text → [`model`] (through the loader) → checks against the
//! OpenAPI descriptions → runner → apiflow's events and reporters. Runtime expressions and
//! criteria are parsed and evaluated by apiflow itself, never by a general-purpose interpreter.

pub mod bind;
pub mod body;
pub mod condition;
pub mod criterion;
pub mod expr;
pub mod extract;
pub mod load;
pub mod model;
mod repeated;
pub mod run;
mod runnable;
pub mod schema;

pub use runnable::Document;
