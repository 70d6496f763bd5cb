//! One error type for the mining crate. File errors carry the 1-based line number of the
//! offending row (the header is line 1).

use thiserror::Error;

pub type Result<T, E = MiningError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum MiningError {
    #[error("the input has no data rows")]
    Empty,
    #[error("missing column `{column}` (found: {found})")]
    MissingColumn { column: String, found: String },
    #[error("line {line}: column `{column}`: {reason}: {value:?}")]
    BadValue {
        line: u64,
        column: String,
        value: String,
        reason: String,
    },
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("{what} did not converge: {detail}")]
    NoConvergence { what: &'static str, detail: String },
    #[error("write failed: {0}")]
    Write(String),
}

impl MiningError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        MiningError::InvalidArgument(message.into())
    }
}

/// Checks that parallel columns have the same length.
pub(crate) fn same_len(names: &str, lens: &[usize]) -> Result<()> {
    if lens.windows(2).any(|w| w[0] != w[1]) {
        return Err(MiningError::invalid(format!(
            "columns {names} have different lengths {lens:?}"
        )));
    }
    Ok(())
}
