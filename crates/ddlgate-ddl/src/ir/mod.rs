//! The project-owned statement representation. Built by `convert` (from sqlparser's
//! AST — the only place that imports it) and by `fallback` (token-level rules for
//! forms sqlparser cannot parse). Rules, the lock model and the planner only see these types.

use serde::{Deserialize, Serialize};
use std::fmt;
pub use volatility::Volatility;

/// A possibly schema-qualified relation name, with PostgreSQL case folding already applied
/// (unquoted parts lower-cased, quoted parts verbatim). Serialises as `schema.name` / `name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub struct QualifiedName {
    /// Schema, when given.
    pub schema: Option<String>,
    /// Relation name.
    pub name: String,
}

impl QualifiedName {
    /// An unqualified name.
    #[must_use]
    pub fn bare(name: &str) -> Self {
        QualifiedName {
            schema: None,
            name: name.to_owned(),
        }
    }

    /// Quoted for SQL with [`crate::quote::quote_ident`].
    #[must_use]
    pub fn quoted(&self) -> String {
        crate::quote::quote_qualified(self.schema.as_deref(), &self.name)
    }
}

impl fmt::Display for QualifiedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl From<QualifiedName> for String {
    fn from(q: QualifiedName) -> String {
        q.to_string()
    }
}

impl From<String> for QualifiedName {
    /// Splits on the first `.` — the inverse of `Display` for names without dots.
    fn from(s: String) -> Self {
        match s.split_once('.') {
            Some((a, b)) => QualifiedName {
                schema: Some(a.to_owned()),
                name: b.to_owned(),
            },
            None => QualifiedName {
                schema: None,
                name: s,
            },
        }
    }
}

impl From<&str> for QualifiedName {
    fn from(s: &str) -> Self {
        QualifiedName::from(s.to_owned())
    }
}

/// A data type, normalised to PostgreSQL's internal base name (`varchar`, `int4`, `numeric`,
/// `timestamptz`, …) plus type modifiers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeSpec {
    /// Normalised base name, lower-case.
    pub base: String,
    /// Type modifiers, e.g. `[10, 2]` for `numeric(10,2)`.
    pub mods: Vec<u64>,
    /// Array type.
    pub array: bool,
    /// The type as written in the statement.
    pub text: String,
    /// `COLLATE` given with the type (`ALTER COLUMN … TYPE text COLLATE "C"`), as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
}

/// A default / generation expression: its source text (sliced from the original statement,
/// never re-printed) and the functions it calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExprSpec {
    /// Source text, verified to re-parse to the same expression; `None` when no faithful slice
    /// could be taken (plans that need the text are then not offered).
    pub text: Option<String>,
    /// Lower-case names of functions called (including SQL value functions such as
    /// `current_timestamp`).
    pub functions: Vec<String>,
    /// Contains a subquery.
    pub has_subquery: bool,
}

impl ExprSpec {
    /// Volatility of the expression given a lookup for function volatility (unknown → volatile).
    pub fn volatility(&self, lookup: impl Fn(&str) -> Volatility) -> Volatility {
        let v = self
            .functions
            .iter()
            .map(|f| lookup(f))
            .max()
            .unwrap_or(Volatility::Immutable);
        if self.has_subquery {
            v.max(Volatility::Stable)
        } else {
            v
        }
    }
}

/// How a new column's value is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Generated {
    /// `GENERATED ALWAYS AS (expr) STORED`.
    Stored,
    /// `GENERATED ALWAYS AS (expr) VIRTUAL` (PG 18).
    Virtual,
    /// `GENERATED … AS IDENTITY`.
    Identity,
}

/// A column definition (ADD COLUMN or CREATE TABLE).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSpec {
    /// Column name (folded).
    pub name: String,
    /// Type.
    pub ty: TypeSpec,
    /// Inline `NOT NULL`.
    pub not_null: bool,
    /// `DEFAULT …`.
    pub default: Option<ExprSpec>,
    /// Generated column kind.
    pub generated: Option<Generated>,
    /// `serial`/`bigserial`/`smallserial` (an implicit `nextval` default).
    pub serial: bool,
    /// Inline `PRIMARY KEY`.
    pub primary_key: bool,
    /// Inline `UNIQUE`.
    pub unique: bool,
    /// Inline `CHECK`.
    pub check: bool,
    /// Inline `REFERENCES t`.
    pub references: Option<QualifiedName>,
}

/// A table constraint being added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstraintSpec {
    /// Constraint name, when given.
    pub name: Option<String>,
    /// What kind.
    pub kind: ConstraintKind,
    /// Source text of the constraint definition after the name (e.g. `CHECK (a > 0)`), when a
    /// faithful slice exists.
    pub def_text: Option<String>,
}

/// Kind of a table constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConstraintKind {
    /// `CHECK (expr)`; `not_null_of` is set when the expression is exactly `col IS NOT NULL`.
    Check {
        /// Column proved non-null by this check.
        not_null_of: Option<String>,
    },
    /// `FOREIGN KEY (cols) REFERENCES t`.
    ForeignKey {
        /// Referencing columns.
        columns: Vec<String>,
        /// Referenced table.
        references: QualifiedName,
    },
    /// `UNIQUE (cols)`.
    Unique {
        /// Key columns (simple column references only; expressions make this empty).
        columns: Vec<String>,
    },
    /// `PRIMARY KEY (cols)`.
    PrimaryKey {
        /// Key columns.
        columns: Vec<String>,
    },
    /// `UNIQUE USING INDEX i`.
    UniqueUsingIndex {
        /// Index name.
        index: String,
    },
    /// `PRIMARY KEY USING INDEX i`.
    PrimaryKeyUsingIndex {
        /// Index name.
        index: String,
    },
    /// `EXCLUDE …`.
    Exclude,
    /// `CONSTRAINT n NOT NULL col` (PG 18).
    NotNull {
        /// Column.
        column: String,
    },
}

/// How a partition is detached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DetachMode {
    /// Plain: ACCESS EXCLUSIVE on the parent.
    Plain,
    /// `CONCURRENTLY` (PG 14+).
    Concurrently,
    /// `FINALIZE`.
    Finalize,
}

/// One `ALTER TABLE` subcommand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum AlterAction {
    /// `ADD COLUMN`.
    AddColumn {
        column: ColumnSpec,
        if_not_exists: bool,
    },
    /// `DROP COLUMN`.
    DropColumn {
        names: Vec<String>,
        if_exists: bool,
        cascade: bool,
    },
    /// `ALTER COLUMN … TYPE`.
    AlterColumnType {
        column: String,
        ty: TypeSpec,
        using: bool,
    },
    /// `ALTER COLUMN … SET NOT NULL`.
    SetNotNull { column: String },
    /// `ALTER COLUMN … DROP NOT NULL`.
    DropNotNull { column: String },
    /// `ALTER COLUMN … SET DEFAULT`.
    SetDefault { column: String, default: ExprSpec },
    /// `ALTER COLUMN … DROP DEFAULT`.
    DropDefault { column: String },
    /// `ALTER COLUMN … ADD GENERATED … AS IDENTITY`.
    AddIdentity { column: String },
    /// `ALTER COLUMN … DROP IDENTITY`, `SET GENERATED`, `RESTART`.
    AlterIdentity { column: String },
    /// `ALTER COLUMN … SET STATISTICS n` / `SET (…)` / `RESET (…)`.
    SetColumnStatistics { column: String },
    /// `ALTER COLUMN … SET STORAGE` / `SET COMPRESSION`.
    SetColumnStorage { column: String },
    /// `ALTER COLUMN … SET EXPRESSION` / `DROP EXPRESSION`.
    AlterColumnExpression { column: String, drop: bool },
    /// `ADD CONSTRAINT`.
    AddConstraint {
        constraint: ConstraintSpec,
        not_valid: bool,
    },
    /// `VALIDATE CONSTRAINT`.
    ValidateConstraint { name: String },
    /// `DROP CONSTRAINT`.
    DropConstraint {
        name: String,
        if_exists: bool,
        cascade: bool,
    },
    /// `ALTER CONSTRAINT` (deferrability, enforceability).
    AlterConstraint { name: String },
    /// `RENAME COLUMN a TO b`.
    RenameColumn { from: String, to: String },
    /// `RENAME TO t`.
    RenameTable { to: String },
    /// `RENAME CONSTRAINT a TO b`.
    RenameConstraint { from: String, to: String },
    /// `SET LOGGED` / `SET UNLOGGED`.
    SetLogged { logged: bool },
    /// `SET TABLESPACE name`.
    SetTablespace {
        /// The tablespace (folded), when read.
        #[serde(default)]
        name: Option<String>,
    },
    /// `SET ACCESS METHOD name` (PG 15+).
    SetAccessMethod {
        /// The access method (folded), when read.
        #[serde(default)]
        name: Option<String>,
    },
    /// `SET SCHEMA`.
    SetSchema,
    /// `SET (storage_parameter = …)` / `RESET (…)`; `weak` when every parameter is one that
    /// takes SHARE UPDATE EXCLUSIVE (fillfactor, autovacuum_*, toast.*, parallel_workers).
    SetStorageParams { weak: bool },
    /// `ATTACH PARTITION p …`.
    AttachPartition {
        partition: QualifiedName,
        /// The bound as written (`FOR VALUES FROM (…) TO (…)`, `FOR VALUES IN (…)`, `DEFAULT`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bound: Option<String>,
    },
    /// `DETACH PARTITION p [CONCURRENTLY | FINALIZE]`.
    DetachPartition {
        partition: QualifiedName,
        mode: DetachMode,
    },
    /// `ENABLE/DISABLE [REPLICA|ALWAYS] TRIGGER`.
    EnableDisableTrigger,
    /// `ENABLE/DISABLE RULE`, row-level security, `REPLICA IDENTITY`, `OWNER TO`, `INHERIT`,
    /// `OF`, … — metadata-only subcommands that take ACCESS EXCLUSIVE briefly.
    OtherAccessExclusive { what: String },
    /// `CLUSTER ON` / `SET WITHOUT CLUSTER`.
    ClusterOn,
}

/// `REINDEX` target kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReindexTarget {
    /// `REINDEX INDEX`.
    Index,
    /// `REINDEX TABLE`.
    Table,
    /// `REINDEX SCHEMA`.
    Schema,
    /// `REINDEX DATABASE`.
    Database,
    /// `REINDEX SYSTEM`.
    System,
}

/// Transaction-control commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxCommand {
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT` / `END`.
    Commit,
    /// `COMMIT AND CHAIN`: commits, then at once starts a new transaction with the same
    /// characteristics (<https://www.postgresql.org/docs/current/sql-commit.html>).
    CommitAndChain,
    /// `ROLLBACK` / `ABORT` (without `TO SAVEPOINT`).
    Rollback,
    /// `ROLLBACK AND CHAIN`: rolls back, then starts a new transaction with the same
    /// characteristics.
    RollbackAndChain,
    /// `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`.
    Savepoint,
    /// `PREPARE TRANSACTION` and friends.
    Other,
}

/// One analysed statement in project-owned form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "stmt")]
pub enum Stmt {
    /// `ALTER TABLE`.
    AlterTable {
        table: QualifiedName,
        actions: Vec<AlterAction>,
    },
    /// `CREATE [UNIQUE] INDEX`.
    CreateIndex {
        name: Option<QualifiedName>,
        table: QualifiedName,
        unique: bool,
        concurrently: bool,
        if_not_exists: bool,
        /// Source text from the `ON` key word's table to the end (columns, `USING`, `WHERE`…),
        /// i.e. what follows the table name.
        tail_text: Option<String>,
        /// `ON ONLY`: on a partitioned table, an invalid index on the parent alone (no build).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        only: bool,
    },
    /// `DROP INDEX`.
    DropIndex {
        names: Vec<QualifiedName>,
        concurrently: bool,
        if_exists: bool,
        cascade: bool,
    },
    /// `REINDEX`.
    Reindex {
        target: ReindexTarget,
        name: Option<QualifiedName>,
        concurrently: bool,
    },
    /// `ALTER INDEX … RENAME` and other ALTER INDEX forms.
    AlterIndex { name: QualifiedName, rename: bool },
    /// `CREATE TABLE`.
    CreateTable {
        name: QualifiedName,
        columns: Vec<ColumnSpec>,
        partition_of: Option<QualifiedName>,
        references: Vec<QualifiedName>,
        temporary: bool,
        /// `PARTITION BY`: a partitioned table (it holds no rows itself).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        partitioned: bool,
        /// The partition key as written after `PARTITION BY` (`RANGE (at)`), when partitioned.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partition_key: Option<String>,
    },
    /// `DROP TABLE`.
    DropTable {
        names: Vec<QualifiedName>,
        cascade: bool,
    },
    /// `TRUNCATE`.
    Truncate {
        tables: Vec<QualifiedName>,
        cascade: bool,
    },
    /// `VACUUM` (`full`) / `VACUUM (FULL)`.
    Vacuum {
        full: bool,
        tables: Vec<QualifiedName>,
    },
    /// `CLUSTER`.
    Cluster { table: Option<QualifiedName> },
    /// `CREATE TRIGGER`.
    CreateTrigger { table: QualifiedName },
    /// `ALTER TYPE … ADD VALUE`.
    AlterEnumAddValue { type_name: QualifiedName },
    /// `ALTER TYPE` other forms.
    AlterType { type_name: QualifiedName },
    /// `LOCK TABLE`.
    LockTable {
        tables: Vec<QualifiedName>,
        mode: crate::locks::LockMode,
    },
    /// `REFRESH MATERIALIZED VIEW`.
    RefreshMatView {
        name: QualifiedName,
        concurrently: bool,
    },
    /// `CREATE ROLE/USER` or `ALTER ROLE/USER`, noting whether a password is present.
    Role { has_password: bool },
    /// `DROP DATABASE`.
    DropDatabase { name: String },
    /// `DROP SCHEMA`.
    DropSchema { cascade: bool },
    /// `DROP` of other objects (views, functions, types, …).
    DropOther {
        /// The kind of object, lower-case (`type`, `domain`, `function`, `view`, …).
        what: String,
        /// `CASCADE`: objects that depend on it go too — for a type, domain, function or
        /// extension, the table columns (and typed tables) that use it.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        cascade: bool,
    },
    /// `DO` block.
    Do { body: String },
    /// `CREATE FUNCTION/PROCEDURE`.
    CreateRoutine { body: Option<String> },
    /// `CALL`.
    Call,
    /// `CREATE/ALTER DOMAIN … CHECK`/`ADD CONSTRAINT`.
    DomainConstraint,
    /// `ALTER SEQUENCE`, `CREATE SEQUENCE`.
    Sequence,
    /// `SET name …` — `value_ms` is parsed for `lock_timeout`/`statement_timeout`.
    Set {
        name: String,
        value_ms: Option<u64>,
        local: bool,
    },
    /// `RESET name` / `RESET ALL`.
    Reset { name: String },
    /// Transaction control.
    Tx(TxCommand),
    /// DDL understood well enough to know it is harmless to existing data (CREATE VIEW,
    /// COMMENT, GRANT, CREATE TYPE, CREATE EXTENSION, CREATE SCHEMA, …).
    OtherDdl { what: String },
    /// DML / queries / anything the classifier let through.
    NotDdl,
    /// DDL nothing understood: fail closed.
    Unparseable { first_words: String, error: String },
}

impl Stmt {
    /// The relation this statement creates (a table, or a named index in its table's schema).
    #[must_use]
    pub fn created_relation(&self) -> Option<QualifiedName> {
        match self {
            Stmt::CreateTable { name, .. } => Some(name.clone()),
            Stmt::CreateIndex {
                name: Some(n),
                table,
                ..
            } => {
                let mut n = n.clone();
                if n.schema.is_none() {
                    n.schema.clone_from(&table.schema);
                }
                Some(n)
            }
            _ => None,
        }
    }
}

/// Volatility helpers live next to the IR so rules and the planner agree on them.
pub mod volatility;
