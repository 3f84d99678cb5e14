//! Function volatility: the built-in table and the lookup rules and the planner share.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Function volatility (`pg_proc.provolatile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Volatility {
    /// `i`
    Immutable,
    /// `s`
    Stable,
    /// `v`
    Volatile,
}

/// Built-in functions and SQL value functions with their `provolatile` (PostgreSQL
/// catalog, `pg_proc`). Names not listed and not in the facts are treated as volatile.
const BUILTIN: &[(&str, Volatility)] = &[
    ("now", Volatility::Stable),
    ("current_timestamp", Volatility::Stable),
    ("current_date", Volatility::Stable),
    ("current_time", Volatility::Stable),
    ("localtime", Volatility::Stable),
    ("localtimestamp", Volatility::Stable),
    ("transaction_timestamp", Volatility::Stable),
    ("statement_timestamp", Volatility::Stable),
    ("current_user", Volatility::Stable),
    ("session_user", Volatility::Stable),
    ("current_role", Volatility::Stable),
    ("user", Volatility::Stable),
    ("current_schema", Volatility::Stable),
    ("current_catalog", Volatility::Stable),
    ("current_setting", Volatility::Stable),
    ("to_char", Volatility::Stable),
    ("to_timestamp", Volatility::Immutable),
    ("lower", Volatility::Immutable),
    ("upper", Volatility::Immutable),
    ("length", Volatility::Immutable),
    ("concat", Volatility::Stable),
    ("md5", Volatility::Immutable),
    ("jsonb_build_object", Volatility::Stable),
    ("json_build_object", Volatility::Stable),
    ("jsonb_build_array", Volatility::Stable),
    ("array_remove", Volatility::Immutable),
    ("make_interval", Volatility::Immutable),
    ("abs", Volatility::Immutable),
    ("coalesce", Volatility::Immutable),
    ("nullif", Volatility::Immutable),
    ("greatest", Volatility::Immutable),
    ("least", Volatility::Immutable),
    ("random", Volatility::Volatile),
    ("clock_timestamp", Volatility::Volatile),
    ("timeofday", Volatility::Volatile),
    ("gen_random_uuid", Volatility::Volatile),
    ("uuid_generate_v1", Volatility::Volatile),
    ("uuid_generate_v4", Volatility::Volatile),
    ("uuidv4", Volatility::Volatile),
    ("uuidv7", Volatility::Volatile),
    ("nextval", Volatility::Volatile),
    ("setval", Volatility::Volatile),
];

/// Volatility of function `name` (lower-case; `pg_catalog.` stripped for the built-in
/// lookup). `known` (the facts' `function_volatility`) wins; unknown names are volatile.
#[must_use]
pub fn of(name: &str, known: &BTreeMap<String, Volatility>) -> Volatility {
    if let Some(v) = known.get(name) {
        return *v;
    }
    let bare = name.strip_prefix("pg_catalog.").unwrap_or(name);
    if let Some(v) = known.get(bare) {
        return *v;
    }
    BUILTIN
        .iter()
        .find(|(n, _)| *n == bare)
        .map_or(Volatility::Volatile, |(_, v)| *v)
}
