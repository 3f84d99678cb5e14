/// A configuration that cannot be used. Every variant names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {reason}")]
    Io {
        /// File path.
        path: String,
        /// OS error.
        reason: String,
    },
    /// The TOML is malformed, or a field is unknown or has the wrong type.
    #[error("line {line}, column {column}: {reason}")]
    Parse {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said, including the field name.
        reason: String,
    },
    /// A value is well-formed but not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// Dotted path of the field, e.g. `databases.app.port`.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
}

impl ConfigError {
    pub(crate) fn parse(text: &str, e: &toml::de::Error) -> Self {
        let (line, column) = e
            .span()
            .map(|span| {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                (line, column)
            })
            .unwrap_or((0, 0));
        Self::Parse {
            line,
            column,
            reason: e.message().to_owned(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
