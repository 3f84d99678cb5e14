//! The offline linter (placeholder, filled below).
