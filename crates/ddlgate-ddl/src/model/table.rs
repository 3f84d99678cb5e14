//! The lock and rewrite model as data: one row per (DDL form, first server version it applies
//! to). Sources: PostgreSQL docs `ALTER TABLE` (descriptions and Notes), "Explicit Locking"
//! §13.3, `CREATE INDEX`, `DROP INDEX`, `REINDEX`, `CLUSTER`, `VACUUM`, `TRUNCATE`,
//! `CREATE TRIGGER`, `ALTER TYPE`, release notes for 11/12/14/15/17/18; `tablecmds.c`
//! `AlterTableGetLockLevel`. Summarised in the migration-anchors study §6.

use crate::locks::LockMode::{self, *};
use serde::{Deserialize, Serialize};

/// A DDL form whose effect the model knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DdlForm {
    AddColumnPlain,
    AddColumnNonVolatileDefault,
    AddColumnVolatileDefault,
    AddColumnGeneratedStored,
    AddColumnGeneratedVirtual,
    AddColumnIdentity,
    AddColumnNotNullNoDefault,
    AddColumnInlineCheck,
    AddColumnInlineIndex,
    AddColumnInlineFk,
    AddColumnInlineFkValidated,
    SetNotNull,
    SetNotNullProvedByCheck,
    DropNotNull,
    SetDefault,
    DropDefault,
    AlterTypeMetadataOnly,
    AlterTypeIndexRebuild,
    AlterTypeRewrite,
    AddCheck,
    AddCheckNotValid,
    AddForeignKey,
    AddForeignKeyNotValid,
    AddUniqueOrPk,
    AddConstraintUsingIndex,
    AddExclude,
    AddNotNullConstraint,
    AddNotNullConstraintNotValid,
    ValidateConstraint,
    DropColumn,
    DropConstraint,
    AlterConstraint,
    Rename,
    SetLoggedUnlogged,
    SetTablespace,
    SetAccessMethod,
    SetTablespaceUnchanged,
    SetAccessMethodUnchanged,
    SetSchema,
    SetStorageParamsWeak,
    SetStorageParamsStrong,
    SetColumnStatistics,
    SetColumnStorage,
    AlterIdentity,
    AlterColumnExpressionSet,
    AlterColumnExpressionDrop,
    AttachPartition,
    AttachPartitionImplied,
    DetachPartition,
    DetachPartitionConcurrently,
    EnableDisableTrigger,
    ClusterOn,
    OtherAlterTableAccessExclusive,
    CreateIndex,
    CreateIndexConcurrently,
    CreateIndexOnlyParent,
    CreateIndexExisting,
    DropIndex,
    DropIndexConcurrently,
    Reindex,
    ReindexConcurrently,
    AlterIndexRename,
    AlterIndexOther,
    Cluster,
    VacuumFull,
    Vacuum,
    Truncate,
    CreateTrigger,
    AlterEnumAddValue,
    DropTable,
    CreateTablePartitionOf,
    CreateTableWithForeignKey,
    RefreshMatView,
    RefreshMatViewConcurrently,
}

/// Whether the table's data files are rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rewrite {
    /// Metadata only (or in-place).
    No,
    /// New heap (and indexes) written.
    Yes,
}

/// Whether (and how) the table is read in full while the lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scan {
    /// No full read.
    No,
    /// A full read to verify a constraint or a bound.
    Verify,
    /// An index build or rebuild (full read + sort).
    IndexBuild,
}

/// Whether the form may run inside a transaction block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxBlock {
    /// Allowed in a block.
    Allowed,
    /// "cannot run inside a transaction block" (SQLSTATE 25001).
    Forbidden,
}

/// One row of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Effect {
    /// The form.
    pub form: DdlForm,
    /// First `server_version_num` this row applies to (rows for a form are in ascending
    /// order; a form with no row for a version does not exist on that version).
    pub since: u32,
    /// Lock on the target relation.
    pub lock: LockMode,
    /// Lock on the other relation involved (referenced table, partition), if any.
    pub other_lock: Option<LockMode>,
    /// Table rewrite.
    pub rewrite: Rewrite,
    /// Full scan.
    pub scan: Scan,
    /// Transaction-block restriction.
    pub tx_block: TxBlock,
}

const fn row(form: DdlForm, since: u32, lock: LockMode, rewrite: Rewrite, scan: Scan) -> Effect {
    Effect {
        form,
        since,
        lock,
        other_lock: None,
        rewrite,
        scan,
        tx_block: TxBlock::Allowed,
    }
}

const fn with_other(mut e: Effect, other: LockMode) -> Effect {
    e.other_lock = Some(other);
    e
}

const fn outside_tx(mut e: Effect) -> Effect {
    e.tx_block = TxBlock::Forbidden;
    e
}

use DdlForm as F;
use Rewrite::{No as Keep, Yes as Rewrites};
use Scan::{IndexBuild, No as NoScan, Verify};

const ANY: u32 = 0;

/// The model. Keep rows of one form together, in ascending `since` order.
pub const TABLE: &[Effect] = &[
    row(F::AddColumnPlain, ANY, AccessExclusive, Keep, NoScan),
    // PG 11 "fast default": non-volatile defaults are stored in attmissingval.
    row(
        F::AddColumnNonVolatileDefault,
        ANY,
        AccessExclusive,
        Rewrites,
        NoScan,
    ),
    row(
        F::AddColumnNonVolatileDefault,
        110_000,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(
        F::AddColumnVolatileDefault,
        ANY,
        AccessExclusive,
        Rewrites,
        NoScan,
    ),
    row(
        F::AddColumnGeneratedStored,
        120_000,
        AccessExclusive,
        Rewrites,
        NoScan,
    ),
    row(
        F::AddColumnGeneratedVirtual,
        180_000,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(
        F::AddColumnIdentity,
        100_000,
        AccessExclusive,
        Rewrites,
        NoScan,
    ),
    // Errors on any existing row; the check is a scan under ACCESS EXCLUSIVE.
    row(
        F::AddColumnNotNullNoDefault,
        ANY,
        AccessExclusive,
        Keep,
        Verify,
    ),
    row(F::AddColumnInlineCheck, ANY, AccessExclusive, Keep, Verify),
    row(
        F::AddColumnInlineIndex,
        ANY,
        AccessExclusive,
        Keep,
        IndexBuild,
    ),
    with_other(
        row(F::AddColumnInlineFk, ANY, AccessExclusive, Keep, NoScan),
        ShareRowExclusive,
    ),
    // With a non-null default every row references it: the key is validated by a scan.
    with_other(
        row(
            F::AddColumnInlineFkValidated,
            ANY,
            AccessExclusive,
            Keep,
            Verify,
        ),
        ShareRowExclusive,
    ),
    row(F::SetNotNull, ANY, AccessExclusive, Keep, Verify),
    // PG 12: the scan is skipped when a valid CHECK constraint proves the column non-null.
    row(
        F::SetNotNullProvedByCheck,
        ANY,
        AccessExclusive,
        Keep,
        Verify,
    ),
    row(
        F::SetNotNullProvedByCheck,
        120_000,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(F::DropNotNull, ANY, AccessExclusive, Keep, NoScan),
    row(F::SetDefault, ANY, AccessExclusive, Keep, NoScan),
    row(F::DropDefault, ANY, AccessExclusive, Keep, NoScan),
    row(F::AlterTypeMetadataOnly, ANY, AccessExclusive, Keep, NoScan),
    row(
        F::AlterTypeIndexRebuild,
        ANY,
        AccessExclusive,
        Keep,
        IndexBuild,
    ),
    row(
        F::AlterTypeRewrite,
        ANY,
        AccessExclusive,
        Rewrites,
        IndexBuild,
    ),
    row(F::AddCheck, ANY, AccessExclusive, Keep, Verify),
    row(F::AddCheckNotValid, ANY, AccessExclusive, Keep, NoScan),
    with_other(
        row(F::AddForeignKey, ANY, ShareRowExclusive, Keep, Verify),
        ShareRowExclusive,
    ),
    with_other(
        row(
            F::AddForeignKeyNotValid,
            ANY,
            ShareRowExclusive,
            Keep,
            NoScan,
        ),
        ShareRowExclusive,
    ),
    row(F::AddUniqueOrPk, ANY, AccessExclusive, Keep, IndexBuild),
    row(
        F::AddConstraintUsingIndex,
        ANY,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(F::AddExclude, ANY, AccessExclusive, Keep, IndexBuild),
    row(
        F::AddNotNullConstraint,
        180_000,
        AccessExclusive,
        Keep,
        Verify,
    ),
    row(
        F::AddNotNullConstraintNotValid,
        180_000,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    // VALIDATE takes SHARE UPDATE EXCLUSIVE; for a FK, ROW SHARE on the referenced table.
    with_other(
        row(
            F::ValidateConstraint,
            ANY,
            ShareUpdateExclusive,
            Keep,
            Verify,
        ),
        RowShare,
    ),
    row(F::DropColumn, ANY, AccessExclusive, Keep, NoScan),
    row(F::DropConstraint, ANY, AccessExclusive, Keep, NoScan),
    row(F::AlterConstraint, ANY, AccessExclusive, Keep, NoScan),
    row(F::Rename, ANY, AccessExclusive, Keep, NoScan),
    row(F::SetLoggedUnlogged, ANY, AccessExclusive, Rewrites, NoScan),
    row(F::SetTablespace, ANY, AccessExclusive, Rewrites, NoScan),
    row(
        F::SetTablespaceUnchanged,
        ANY,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(
        F::SetAccessMethodUnchanged,
        150_000,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(
        F::SetAccessMethod,
        150_000,
        AccessExclusive,
        Rewrites,
        NoScan,
    ),
    row(F::SetSchema, ANY, AccessExclusive, Keep, NoScan),
    row(
        F::SetStorageParamsWeak,
        ANY,
        ShareUpdateExclusive,
        Keep,
        NoScan,
    ),
    row(
        F::SetStorageParamsStrong,
        ANY,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(
        F::SetColumnStatistics,
        ANY,
        ShareUpdateExclusive,
        Keep,
        NoScan,
    ),
    row(F::SetColumnStorage, ANY, AccessExclusive, Keep, NoScan),
    row(F::AlterIdentity, ANY, AccessExclusive, Keep, NoScan),
    row(
        F::AlterColumnExpressionSet,
        170_000,
        AccessExclusive,
        Rewrites,
        NoScan,
    ),
    row(
        F::AlterColumnExpressionDrop,
        ANY,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    // ATTACH PARTITION: parent lock lowered to SHARE UPDATE EXCLUSIVE in PG 12; the
    // partition is locked ACCESS EXCLUSIVE and scanned unless a CHECK implies the bound.
    with_other(
        row(F::AttachPartition, ANY, AccessExclusive, Keep, Verify),
        AccessExclusive,
    ),
    with_other(
        row(
            F::AttachPartition,
            120_000,
            ShareUpdateExclusive,
            Keep,
            Verify,
        ),
        AccessExclusive,
    ),
    // A valid CHECK implies the bound: no scan ("is implied by existing constraints").
    with_other(
        row(
            F::AttachPartitionImplied,
            ANY,
            AccessExclusive,
            Keep,
            NoScan,
        ),
        AccessExclusive,
    ),
    with_other(
        row(
            F::AttachPartitionImplied,
            120_000,
            ShareUpdateExclusive,
            Keep,
            NoScan,
        ),
        AccessExclusive,
    ),
    with_other(
        row(F::DetachPartition, ANY, AccessExclusive, Keep, NoScan),
        AccessExclusive,
    ),
    outside_tx(with_other(
        row(
            F::DetachPartitionConcurrently,
            140_000,
            ShareUpdateExclusive,
            Keep,
            NoScan,
        ),
        AccessExclusive,
    )),
    row(
        F::EnableDisableTrigger,
        ANY,
        ShareRowExclusive,
        Keep,
        NoScan,
    ),
    row(F::ClusterOn, ANY, ShareUpdateExclusive, Keep, NoScan),
    row(
        F::OtherAlterTableAccessExclusive,
        ANY,
        AccessExclusive,
        Keep,
        NoScan,
    ),
    row(F::CreateIndex, ANY, Share, Keep, IndexBuild),
    // `ON ONLY` a partitioned table: an invalid index on the parent, nothing built (measured
    // on PostgreSQL 15: SHARE on the parent, no partition read).
    row(F::CreateIndexOnlyParent, ANY, Share, Keep, NoScan),
    // `IF NOT EXISTS` naming an index the table has: SHARE is taken, then nothing is done
    // ("already exists, skipping"; measured on PostgreSQL 15).
    row(F::CreateIndexExisting, ANY, Share, Keep, NoScan),
    outside_tx(row(
        F::CreateIndexConcurrently,
        ANY,
        ShareUpdateExclusive,
        Keep,
        IndexBuild,
    )),
    row(F::DropIndex, ANY, AccessExclusive, Keep, NoScan),
    outside_tx(row(
        F::DropIndexConcurrently,
        ANY,
        ShareUpdateExclusive,
        Keep,
        NoScan,
    )),
    // REINDEX takes SHARE on the table (ACCESS EXCLUSIVE on the index itself, which in
    // practice blocks every query planning against the table).
    with_other(
        row(F::Reindex, ANY, Share, Keep, IndexBuild),
        AccessExclusive,
    ),
    outside_tx(row(
        F::ReindexConcurrently,
        120_000,
        ShareUpdateExclusive,
        Keep,
        IndexBuild,
    )),
    row(F::AlterIndexRename, ANY, AccessExclusive, Keep, NoScan),
    row(
        F::AlterIndexRename,
        120_000,
        ShareUpdateExclusive,
        Keep,
        NoScan,
    ),
    row(F::AlterIndexOther, ANY, AccessExclusive, Keep, NoScan),
    row(F::Cluster, ANY, AccessExclusive, Rewrites, IndexBuild),
    outside_tx(row(
        F::VacuumFull,
        ANY,
        AccessExclusive,
        Rewrites,
        IndexBuild,
    )),
    outside_tx(row(F::Vacuum, ANY, ShareUpdateExclusive, Keep, NoScan)),
    row(F::Truncate, ANY, AccessExclusive, Keep, NoScan),
    row(F::CreateTrigger, ANY, ShareRowExclusive, Keep, NoScan),
    // Before PG 12, ALTER TYPE … ADD VALUE could not run in a transaction block.
    outside_tx(row(
        F::AlterEnumAddValue,
        ANY,
        AccessExclusive,
        Keep,
        NoScan,
    )),
    row(F::AlterEnumAddValue, 120_000, AccessExclusive, Keep, NoScan),
    row(F::DropTable, ANY, AccessExclusive, Keep, NoScan),
    with_other(
        row(
            F::CreateTablePartitionOf,
            ANY,
            AccessExclusive,
            Keep,
            NoScan,
        ),
        AccessExclusive,
    ),
    with_other(
        row(
            F::CreateTableWithForeignKey,
            ANY,
            AccessExclusive,
            Keep,
            NoScan,
        ),
        ShareRowExclusive,
    ),
    row(F::RefreshMatView, ANY, AccessExclusive, Keep, NoScan),
    row(F::RefreshMatViewConcurrently, ANY, Exclusive, Keep, NoScan),
];

/// The row for `form` on `server_version_num`, or `None` when the form does not exist there.
#[must_use]
pub fn lookup(form: DdlForm, server_version_num: u32) -> Option<&'static Effect> {
    TABLE
        .iter()
        .rfind(|e| e.form == form && e.since <= server_version_num)
}
