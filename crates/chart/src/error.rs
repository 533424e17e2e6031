//! Errors of chart loading, value parsing and rendering. Every message names the file, the field
//! (or template) and the fix, because the reader is someone editing a values file.

use std::path::PathBuf;

/// Why a chart could not be loaded or rendered.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A file (values, chart file) could not be read.
    #[error("{path}: cannot read. Fix: check the path and its permissions")]
    Read {
        /// The file that failed.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A YAML document is not valid YAML (or not a mapping at the top).
    #[error("{file}: invalid YAML: {message}. Fix: {fix}")]
    Yaml {
        /// File the YAML came from (`<inline>` for strings, `--set` for flags).
        file: String,
        /// The parser's message, with line/column when known.
        message: String,
        /// How to repair it.
        fix: String,
    },

    /// A value has a type or content the chart cannot use.
    #[error("{file}: field `{field}`: {problem}. Fix: {fix}")]
    BadValue {
        /// Values file (or `--set`).
        file: String,
        /// Dotted key path, e.g. `runners.image`.
        field: String,
        /// What is wrong.
        problem: String,
        /// How to repair it.
        fix: String,
    },

    /// A `--set key=value` expression could not be parsed.
    #[error("--set {expression}: {problem}. Fix: {fix}")]
    BadSet {
        /// The expression as given.
        expression: String,
        /// What is wrong.
        problem: String,
        /// How to repair it.
        fix: String,
    },

    /// The chart itself is unusable (missing Chart.yaml, unknown embedded version, no place for
    /// the tutorial's patch).
    #[error("chart {chart}: {problem}. Fix: {fix}")]
    Chart {
        /// Chart version or directory.
        chart: String,
        /// What is wrong.
        problem: String,
        /// How to repair it.
        fix: String,
    },

    /// A rendered manifest is not valid YAML (a chart bug or a value that broke the document).
    #[error("{template}: rendered output is not valid YAML: {message}. Fix: {fix}")]
    Manifest {
        /// Template path that produced the document.
        template: String,
        /// The YAML parser's message.
        message: String,
        /// How to repair it.
        fix: String,
    },

    /// `helm` refused the chart or the values (a template failed, as it would for a user).
    #[error("helm: {message}. Fix: {fix}")]
    Helm {
        /// What Helm printed.
        message: String,
        /// How to repair it (the field to change when it can be told).
        fix: String,
    },

    /// The `helm` binary could not be started.
    #[error("cannot run {binary}: {error}. Fix: build it with `harness build helm`")]
    HelmNotRunnable {
        /// The binary.
        binary: PathBuf,
        /// Why it could not be started (printed in the message, so not a `source`).
        error: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ChartError> = std::result::Result<T, E>;
