//! Facts the caller supplies (server version, session transaction state, catalog facts).
//! Plain data: the library never fetches anything itself. The analysis configuration is
//! [`crate::rules::AnalysisConfig`].
//!
//! Missing facts mean "assume large and unknown", never "assume safe".

use crate::ir::QualifiedName;
pub use crate::ir::Volatility;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The session's transaction state before the analysed text runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxState {
    /// No transaction block open (ReadyForQuery `I`).
    #[default]
    Idle,
    /// Inside an explicit transaction block (ReadyForQuery `T`).
    InBlock,
    /// Part of an implicit transaction: a multi-statement simple Query or an extended-protocol
    /// pipeline segment that already ran other statements (protocol docs, "Multiple Statements
    /// in a Simple Query").
    ImplicitMulti,
}

/// How the analysed text will be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Submission {
    /// As one simple-protocol Query message: several statements form one implicit transaction
    /// (what sqlx and golang-migrate do with a migration file). The safe default.
    #[default]
    OneQuery,
    /// Statement by statement (psql-style): each statement outside a block is its own
    /// transaction.
    StatementByStatement,
}

/// One column of a table, from `pg_attribute`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnFacts {
    /// Column name (as stored, case preserved).
    pub name: String,
    /// `format_type(atttypid, atttypmod)`, e.g. `character varying(20)`.
    pub data_type: String,
    /// `attnotnull`.
    pub not_null: bool,
}

/// One index of a table, from `pg_index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFacts {
    /// Index name.
    pub name: String,
    /// Key columns (empty for expression-only indexes).
    pub columns: Vec<String>,
    /// `indisunique`.
    pub unique: bool,
    /// `indisvalid`.
    pub valid: bool,
}

/// What the catalog says about one table. Every field is optional knowledge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFacts {
    /// `pg_class.reltuples` (None when never analysed).
    pub est_rows: Option<u64>,
    /// `pg_total_relation_size`.
    pub bytes: Option<u64>,
    /// Existing indexes.
    pub indexes: Vec<IndexFacts>,
    /// Columns proved non-null by a *validated* `CHECK (col IS NOT NULL)`.
    pub validated_not_null_checks: BTreeSet<String>,
    /// Columns, when known.
    pub columns: Vec<ColumnFacts>,
    /// Whether the table has a primary key (None = unknown).
    pub has_primary_key: Option<bool>,
    /// Primary-key columns, in key order.
    pub pk_columns: Vec<String>,
    /// What kind of relation the name resolves to (`pg_class.relkind`), when known.
    #[serde(default)]
    pub kind: Option<RelKind>,
    /// Whether the relation the name resolves to (search path, `pg_temp` first) was created by
    /// the session's current transaction, as the catalog says (`None`: not asked). A name the
    /// transaction created elsewhere — a temporary or same-named table in another schema, an
    /// index, `CREATE TABLE IF NOT EXISTS` of an existing table, a table rolled back with its
    /// savepoint — exempts nothing when this is `Some(false)`.
    #[serde(default)]
    pub created_here: Option<bool>,
    /// The tablespace its data is in (the database's default resolved), when known.
    #[serde(default)]
    pub tablespace: Option<String>,
    /// Its table access method (`heap`, …), when known.
    #[serde(default)]
    pub access_method: Option<String>,
    /// Its validated CHECK constraints (`CHECK (…)`, as the catalog prints them or as written).
    #[serde(default)]
    pub checks: Vec<String>,
    /// Its partition key (`RANGE (at)`), when it is partitioned.
    #[serde(default)]
    pub partition_key: Option<String>,
}

/// `pg_class.relkind` ([pg_class](https://www.postgresql.org/docs/current/catalog-pg-class.html)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelKind {
    /// `r`: an ordinary table.
    Table,
    /// `p`: a partitioned table.
    PartitionedTable,
    /// `i` or `I`: an index (or a partitioned index).
    Index,
    /// `S`.
    Sequence,
    /// `v`.
    View,
    /// `m`.
    MaterializedView,
    /// `c`: a composite type.
    CompositeType,
    /// `f`.
    ForeignTable,
    /// `t`.
    Toast,
}

impl RelKind {
    /// From `pg_class.relkind`.
    #[must_use]
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "r" => Self::Table,
            "p" => Self::PartitionedTable,
            "i" | "I" => Self::Index,
            "S" => Self::Sequence,
            "v" => Self::View,
            "m" => Self::MaterializedView,
            "c" => Self::CompositeType,
            "f" => Self::ForeignTable,
            "t" => Self::Toast,
            _ => return None,
        })
    }

    /// Whether it holds a table's rows.
    #[must_use]
    pub fn is_table(self) -> bool {
        matches!(self, Self::Table | Self::PartitionedTable)
    }
}

/// What the catalog says about a domain used as a column type: adding a column of it
/// rewrites the table when its default (its own, or a base domain's) calls a volatile
/// function and the column has no default of its own, and always when it (or a base domain)
/// has a `CHECK` or `NOT NULL` constraint (measured on PostgreSQL 15: even `DEFAULT NULL`
/// rewrites, every row is checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DomainFacts {
    /// The domain's default calls a volatile function.
    pub volatile_default: bool,
    /// The domain has a `CHECK` or `NOT NULL` constraint.
    pub constrained: bool,
}

impl TableFacts {
    /// The facts for column `name`, if known.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&ColumnFacts> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Everything the caller knows. `Default` is the pessimistic "know nothing" value for the
/// default server version (PostgreSQL 15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// `server_version_num`, e.g. 150004.
    pub server_version_num: u32,
    /// The session's transaction state before the text runs.
    pub tx_state: TxState,
    /// How the text is submitted.
    pub submission: Submission,
    /// Relations created earlier in the same transaction (exempt from size-based danger).
    pub created_in_tx: BTreeSet<QualifiedName>,
    /// Relations on which the transaction already holds ACCESS EXCLUSIVE.
    pub access_exclusive_held: BTreeSet<QualifiedName>,
    /// The session's `lock_timeout` in milliseconds, when known (0 = disabled).
    pub lock_timeout_ms: Option<u64>,
    /// The session's `statement_timeout` in milliseconds, when known (0 = disabled).
    #[serde(default)]
    pub statement_timeout_ms: Option<u64>,
    /// Catalog facts per table.
    pub tables: BTreeMap<QualifiedName, TableFacts>,
    /// Volatility of functions by (lower-case, possibly qualified) name; overrides the
    /// built-in table.
    pub function_volatility: BTreeMap<String, Volatility>,
    /// Domains among the types of added columns, by the type as written in the statement.
    #[serde(default)]
    pub domains: BTreeMap<String, DomainFacts>,
}

impl Default for Facts {
    fn default() -> Self {
        Facts {
            server_version_num: 150_000,
            tx_state: TxState::Idle,
            submission: Submission::OneQuery,
            created_in_tx: BTreeSet::new(),
            access_exclusive_held: BTreeSet::new(),
            lock_timeout_ms: None,
            statement_timeout_ms: None,
            tables: BTreeMap::new(),
            function_volatility: BTreeMap::new(),
            domains: BTreeMap::new(),
        }
    }
}

impl Facts {
    /// Facts for a server of major version `major` (e.g. 15), knowing nothing else.
    #[must_use]
    pub fn for_major(major: u32) -> Facts {
        Facts {
            server_version_num: major.saturating_mul(10_000),
            ..Facts::default()
        }
    }

    /// Whether `table`, named as created earlier in the transaction (`named`), really is new:
    /// the catalog has the last word when it was asked.
    #[must_use]
    pub fn created_in_tx(&self, table: &QualifiedName, named: bool) -> bool {
        let named = named || self.created_in_tx.contains(table);
        named
            && self
                .table(table)
                .is_none_or(|t| t.created_here != Some(false))
    }

    /// The catalog facts for `table`, trying the qualified name and then the bare name.
    #[must_use]
    pub fn table(&self, table: &QualifiedName) -> Option<&TableFacts> {
        self.tables.get(table).or_else(|| {
            self.tables
                .iter()
                .find(|(k, _)| {
                    k.name == table.name && (k.schema.is_none() || table.schema.is_none())
                })
                .map(|(_, v)| v)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_has_the_last_word_on_what_is_new() {
        let t = QualifiedName::bare("t");
        let mut facts = Facts::default();
        facts.created_in_tx.insert(t.clone());
        assert!(facts.created_in_tx(&t, false), "named, catalog not asked");
        let existing = TableFacts {
            created_here: Some(false),
            ..TableFacts::default()
        };
        facts.tables.insert(t.clone(), existing);
        assert!(
            !facts.created_in_tx(&t, true),
            "the name resolves to an older table"
        );
        facts.tables.get_mut(&t).expect("t").created_here = Some(true);
        assert!(facts.created_in_tx(&t, false));
        assert!(!Facts::default().created_in_tx(&t, false), "never named");
    }
}
