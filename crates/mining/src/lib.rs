//! Customer-database mining for dealerbase: RFM, value tiers, CLV (BG/NBD + Gamma-Gamma),
//! Kaplan-Meier retention curves, churn-risk scoring, FP-growth rules and k-means segments.
//!
//! Architecture invariant: this crate does no IO. Every algorithm is a function over column
//! vectors (`&[u32]` ids, `&[i32]` dates as days since 1970-01-01, `&[f64]` amounts); the
//! [`files`] module parses CSV from a caller-supplied reader and writes to a caller-supplied
//! writer, so the CLI, the nightly job and the web pages share the same code. No clock is
//! read: "as of" dates are always passed in.

pub mod clv;
pub mod date;
pub mod dealer;
pub mod error;
pub mod files;
pub mod fpgrowth;
pub mod ids;
pub mod kmeans;
pub mod logistic;
pub mod optim;
pub mod owners;
pub mod rfm;
pub mod rng;
pub mod special;
pub mod survival;
pub mod value;

pub use error::{MiningError, Result};
