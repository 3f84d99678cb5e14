//! The eight PostgreSQL table-level lock modes and their conflict matrix.
//!
//! Source: PostgreSQL docs, "Explicit Locking", §13.3.1 "Table-Level Locks", Table 13.2
//! "Conflicting Lock Modes" (<https://www.postgresql.org/docs/current/explicit-locking.html>).

use serde::{Deserialize, Serialize};

/// A table-level lock mode, weakest first. The derived order follows the docs' table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockMode {
    /// `ACCESS SHARE` — SELECT.
    AccessShare,
    /// `ROW SHARE` — SELECT FOR UPDATE/SHARE.
    RowShare,
    /// `ROW EXCLUSIVE` — INSERT/UPDATE/DELETE/MERGE.
    RowExclusive,
    /// `SHARE UPDATE EXCLUSIVE` — VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY, VALIDATE.
    ShareUpdateExclusive,
    /// `SHARE` — CREATE INDEX.
    Share,
    /// `SHARE ROW EXCLUSIVE` — CREATE TRIGGER, ADD FOREIGN KEY.
    ShareRowExclusive,
    /// `EXCLUSIVE` — REFRESH MATERIALIZED VIEW CONCURRENTLY.
    Exclusive,
    /// `ACCESS EXCLUSIVE` — most ALTER TABLE forms, DROP, TRUNCATE, VACUUM FULL, CLUSTER.
    AccessExclusive,
}

impl LockMode {
    /// All modes, weakest first.
    pub const ALL: [LockMode; 8] = [
        LockMode::AccessShare,
        LockMode::RowShare,
        LockMode::RowExclusive,
        LockMode::ShareUpdateExclusive,
        LockMode::Share,
        LockMode::ShareRowExclusive,
        LockMode::Exclusive,
        LockMode::AccessExclusive,
    ];

    /// Row `self` of Table 13.2 as a bit set over [`LockMode::ALL`] indexes.
    const fn conflict_bits(self) -> u8 {
        match self {
            LockMode::AccessShare => 0b1000_0000,
            LockMode::RowShare => 0b1100_0000,
            LockMode::RowExclusive => 0b1111_0000,
            LockMode::ShareUpdateExclusive => 0b1111_1000,
            LockMode::Share => 0b1110_1100,
            LockMode::ShareRowExclusive => 0b1111_1100,
            LockMode::Exclusive => 0b1111_1110,
            LockMode::AccessExclusive => 0b1111_1111,
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Does holding `self` conflict with a request for `other` (Table 13.2)?
    #[must_use]
    pub const fn conflicts_with(self, other: LockMode) -> bool {
        self.conflict_bits() & other.bit() != 0
    }

    /// The SQL spelling, e.g. `ACCESS EXCLUSIVE`.
    #[must_use]
    pub const fn sql_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The `pg_locks.mode` spelling, e.g. `AccessExclusiveLock`.
    #[must_use]
    pub const fn pg_locks_name(self) -> &'static str {
        match self {
            LockMode::AccessShare => "AccessShareLock",
            LockMode::RowShare => "RowShareLock",
            LockMode::RowExclusive => "RowExclusiveLock",
            LockMode::ShareUpdateExclusive => "ShareUpdateExclusiveLock",
            LockMode::Share => "ShareLock",
            LockMode::ShareRowExclusive => "ShareRowExclusiveLock",
            LockMode::Exclusive => "ExclusiveLock",
            LockMode::AccessExclusive => "AccessExclusiveLock",
        }
    }

    /// Parse the `LOCK TABLE … IN <mode> MODE` spelling (case-insensitive, single spaces).
    #[must_use]
    pub fn from_sql_name(s: &str) -> Option<LockMode> {
        LockMode::ALL
            .into_iter()
            .find(|m| m.sql_name().eq_ignore_ascii_case(s))
    }

    /// Does this lock block plain reads (SELECT)?
    #[must_use]
    pub const fn blocks_reads(self) -> bool {
        self.conflicts_with(LockMode::AccessShare)
    }

    /// Does this lock block writes (INSERT/UPDATE/DELETE)?
    #[must_use]
    pub const fn blocks_writes(self) -> bool {
        self.conflicts_with(LockMode::RowExclusive)
    }

    /// A short human description of what the lock blocks.
    #[must_use]
    pub const fn blocks_description(self) -> &'static str {
        if self.blocks_reads() {
            "blocks reads and writes"
        } else if self.blocks_writes() {
            "blocks writes"
        } else if self.conflicts_with(LockMode::ShareUpdateExclusive) {
            "blocks other schema changes and VACUUM"
        } else {
            "blocks little"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LockMode::{self, *};

    /// Table 13.2 written out as in the docs: (requested, existing) pairs marked X.
    #[test]
    fn matrix_matches_docs_and_is_symmetric() {
        let x = |a: LockMode, b: LockMode| a.conflicts_with(b);
        assert!(x(AccessShare, AccessExclusive));
        assert!(!x(AccessShare, Exclusive));
        assert!(x(RowShare, Exclusive));
        assert!(!x(RowShare, ShareRowExclusive));
        assert!(x(RowExclusive, Share));
        assert!(!x(RowExclusive, RowExclusive));
        assert!(x(ShareUpdateExclusive, ShareUpdateExclusive));
        assert!(!x(ShareUpdateExclusive, RowExclusive));
        assert!(!x(Share, Share));
        assert!(x(Share, ShareRowExclusive));
        assert!(x(ShareRowExclusive, ShareRowExclusive));
        assert!(!x(Exclusive, AccessShare));
        assert!(x(Exclusive, RowShare));
        for a in LockMode::ALL {
            assert!(x(AccessExclusive, a));
            for b in LockMode::ALL {
                assert_eq!(x(a, b), x(b, a), "{a:?} vs {b:?}");
            }
        }
        let count: usize = LockMode::ALL
            .iter()
            .map(|a| LockMode::ALL.iter().filter(|b| x(*a, **b)).count())
            .sum();
        // Table 13.2 has 38 X marks (1+2+4+5+5+6+7+8).
        assert_eq!(count, 38);
    }

    #[test]
    fn names_round_trip() {
        for m in LockMode::ALL {
            assert_eq!(LockMode::from_sql_name(m.sql_name()), Some(m));
        }
        assert!(ShareRowExclusive.blocks_writes() && !ShareRowExclusive.blocks_reads());
    }
}
