//! The rule catalogue: one rule per file, registered in the static [`RULES`] table with a
//! stable kebab-case id, a docs page `docs/rules/<id>.md` and fixtures
//! `tests/fixtures/ddl/<id>/{bad,good}.sql` (a test keeps the three in agreement).

mod config;
mod ctx;
mod finding;
pub use crate::tx::TxView;
pub use config::{AnalysisConfig, RuleMode, Thresholds, UnparseablePolicy};
pub use ctx::Ctx;
pub use finding::{Finding, Severity};

use serde::{Deserialize, Serialize};

macro_rules! rules {
    ($($module:ident => $variant:ident = $id:literal),* $(,)?) => {
        $(mod $module;)*

        /// Stable rule ids. The kebab-case string is written once, here.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(into = "&'static str", try_from = "String")]
        pub enum RuleId { $(#[doc = $id] $variant),* }

        impl RuleId {
            /// Every rule id, in catalogue order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The kebab-case id.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id),* }
            }

            /// The rule's documentation page (`docs/rules/<id>.md`), built into the binary.
            #[must_use]
            pub const fn docs_page(self) -> &'static str {
                match self {
                    $(RuleId::$variant => include_str!(concat!(
                        env!("CARGO_MANIFEST_DIR"), "/../../docs/rules/", $id, ".md"
                    ))),*
                }
            }
        }

        /// The catalogue, in the same order as [`RuleId::ALL`].
        pub static RULES: &[RuleDef] = &[$($module::DEF),*];
    };
}

rules! {
    adding_field_with_volatile_default => AddingFieldWithVolatileDefault = "adding-field-with-volatile-default",
    adding_required_field => AddingRequiredField = "adding-required-field",
    adding_stored_generated_column => AddingStoredGeneratedColumn = "adding-stored-generated-column",
    adding_serial_or_identity_column => AddingSerialOrIdentityColumn = "adding-serial-or-identity-column",
    setting_not_null => SettingNotNull = "setting-not-null",
    changing_column_type => ChangingColumnType = "changing-column-type",
    adding_check_constraint => AddingCheckConstraint = "adding-check-constraint",
    adding_foreign_key_constraint => AddingForeignKeyConstraint = "adding-foreign-key-constraint",
    adding_unique_constraint => AddingUniqueConstraint = "adding-unique-constraint",
    adding_primary_key_constraint => AddingPrimaryKeyConstraint = "adding-primary-key-constraint",
    adding_exclusion_constraint => AddingExclusionConstraint = "adding-exclusion-constraint",
    validate_constraint_in_same_transaction => ValidateConstraintInSameTransaction = "validate-constraint-in-same-transaction",
    require_concurrent_index_creation => RequireConcurrentIndexCreation = "require-concurrent-index-creation",
    require_concurrent_index_deletion => RequireConcurrentIndexDeletion = "require-concurrent-index-deletion",
    require_concurrent_reindex => RequireConcurrentReindex = "require-concurrent-reindex",
    concurrently_in_transaction => ConcurrentlyInTransaction = "concurrently-in-transaction",
    require_concurrent_partition_detach => RequireConcurrentPartitionDetach = "require-concurrent-partition-detach",
    attach_partition_scan => AttachPartitionScan = "attach-partition-scan",
    index_too_many_columns => IndexTooManyColumns = "index-too-many-columns",
    renaming_column => RenamingColumn = "renaming-column",
    renaming_table => RenamingTable = "renaming-table",
    renaming_schema => RenamingSchema = "renaming-schema",
    renaming_enum_value => RenamingEnumValue = "renaming-enum-value",
    dropping_column => DroppingColumn = "dropping-column",
    dropping_table => DroppingTable = "dropping-table",
    dropping_database => DroppingDatabase = "dropping-database",
    dropping_not_null => DroppingNotNull = "dropping-not-null",
    truncating_table => TruncatingTable = "truncating-table",
    rewriting_table_storage => RewritingTableStorage = "rewriting-table-storage",
    vacuum_full_or_cluster => VacuumFullOrCluster = "vacuum-full-or-cluster",
    require_concurrent_refresh => RequireConcurrentRefresh = "require-concurrent-refresh",
    creating_trigger => CreatingTrigger = "creating-trigger",
    adding_enum_value_in_transaction => AddingEnumValueInTransaction = "adding-enum-value-in-transaction",
    require_enum_value_ordering => RequireEnumValueOrdering = "require-enum-value-ordering",
    domain_constraint => DomainConstraint = "domain-constraint",
    identifier_too_long => IdentifierTooLong = "identifier-too-long",
    ban_char_field => BanCharField = "ban-char-field",
    prefer_bigint_over_int => PreferBigintOverInt = "prefer-bigint-over-int",
    prefer_identity => PreferIdentity = "prefer-identity",
    prefer_text_field => PreferTextField = "prefer-text-field",
    prefer_timestamptz => PreferTimestamptz = "prefer-timestamptz",
    prefer_jsonb => PreferJsonb = "prefer-jsonb",
    prefer_robust_stmts => PreferRobustStmts = "prefer-robust-stmts",
    require_lock_timeout => RequireLockTimeout = "require-lock-timeout",
    require_statement_timeout => RequireStatementTimeout = "require-statement-timeout",
    lock_timeout_too_long => LockTimeoutTooLong = "lock-timeout-too-long",
    statement_after_access_exclusive => StatementAfterAccessExclusive = "statement-after-access-exclusive",
    transaction_nesting => TransactionNesting = "transaction-nesting",
    ban_uncommitted_transaction => BanUncommittedTransaction = "ban-uncommitted-transaction",
    concurrent_index_pg14_bug => ConcurrentIndexPg14Bug = "concurrent-index-pg14-bug",
    unsupported_on_server_version => UnsupportedOnServerVersion = "unsupported-on-server-version",
    dynamic_ddl => DynamicDdl = "dynamic-ddl",
    password_in_role => PasswordInRole = "password-in-role",
    unparseable_ddl => UnparseableDdl = "unparseable-ddl",
    invalid_suppression => InvalidSuppression = "invalid-suppression",
    unused_ignore => UnusedIgnore = "unused-ignore",
}

impl From<RuleId> for &'static str {
    fn from(r: RuleId) -> Self {
        r.as_str()
    }
}

impl TryFrom<String> for RuleId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        RuleId::from_id(&s).ok_or_else(|| format!("unknown rule id `{s}`"))
    }
}

impl RuleId {
    /// Look an id (or a squawk alias) up.
    #[must_use]
    pub fn from_id(s: &str) -> Option<RuleId> {
        RULES
            .iter()
            .find(|r| r.id.as_str() == s || r.aliases.contains(&s))
            .map(|r| r.id)
    }

    /// The catalogue entry.
    #[must_use]
    pub fn def(self) -> &'static RuleDef {
        // RULES is generated in RuleId::ALL order, so the index is the discriminant.
        &RULES[self as usize]
    }

    /// The rule's documentation page, relative to the repository root:
    /// `docs/rules/<id>.md` (why it is dangerous, the safe alternative, bad and good SQL).
    #[must_use]
    pub fn docs_path(self) -> String {
        format!("docs/rules/{}.md", self.as_str())
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule is about, for grouping in docs and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Long locks, rewrites, scans.
    Locking,
    /// Breaks running application code or destroys data.
    Compatibility,
    /// Transaction-state problems.
    Transaction,
    /// Schema style (types).
    Style,
    /// Security / hygiene.
    Safety,
}

/// One catalogue entry.
pub struct RuleDef {
    /// Stable id.
    pub id: RuleId,
    /// Ids of the same rule in other tools (squawk), accepted in suppressions.
    pub aliases: &'static [&'static str],
    /// Default severity (before size relaxation and configuration).
    pub severity: Severity,
    /// Category.
    pub category: Category,
    /// One-line summary.
    pub summary: &'static str,
    /// The check.
    pub check: fn(&Ctx<'_>, &mut Vec<Finding>),
}
