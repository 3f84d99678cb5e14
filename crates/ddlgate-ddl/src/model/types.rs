//! Which `ALTER COLUMN … TYPE` changes avoid a rewrite.
//!
//! PostgreSQL docs, `ALTER TABLE`, Notes: no rewrite when the old type is binary-coercible to
//! the new one (or an unconstrained domain over it) and `USING` does not change the contents;
//! type-specific support functions make typmod widening a no-op for `varchar`, `numeric`,
//! `varbit`, `time`/`timestamp`/`interval` precision (since 9.2). Indexes are rebuilt unless
//! provably equivalent (`citext` ↔ `text` keeps the heap but rebuilds indexes).

use super::DdlForm;
use crate::convert::text::normalize_type;
use crate::ir::TypeSpec;

/// `new` widens (or removes) `old`'s single length/precision modifier.
fn widens(old: &[u64], new: &[u64]) -> bool {
    match (old, new) {
        (_, []) => true,
        ([o], [n]) => n >= o,
        _ => false,
    }
}

/// The form of a type change from `old` (as `format_type` prints it, when known) to `new`.
/// Unknown old type ⇒ rewrite (missing facts are never safe).
#[must_use]
pub fn type_change_form(old: Option<&str>, new: &TypeSpec, using: bool) -> DdlForm {
    let Some(old) = old else {
        return DdlForm::AlterTypeRewrite;
    };
    if using || new.array {
        return DdlForm::AlterTypeRewrite;
    }
    let (old, _) = normalize_type(old);
    if old.array {
        return DdlForm::AlterTypeRewrite;
    }
    let (o, n) = (old.base.as_str(), new.base.as_str());
    let metadata_only = match (o, n) {
        _ if o == n && old.mods == new.mods => true,
        ("varchar", "varchar") | ("varbit", "varbit") => widens(&old.mods, &new.mods),
        ("varchar" | "bpchar", "text") => o == "varchar",
        ("text", "varchar") => new.mods.is_empty(),
        ("numeric", "numeric") => match (old.mods.as_slice(), new.mods.as_slice()) {
            (_, []) => true,
            ([p], [q]) => q >= p,
            ([p, s], [q, t]) => q >= p && s == t,
            ([p], [q, 0]) => q >= p,
            _ => false,
        },
        ("timestamp", "timestamp")
        | ("timestamptz", "timestamptz")
        | ("time", "time")
        | ("timetz", "timetz")
        | ("interval", "interval") => widens(&old.mods, &new.mods),
        ("cidr", "inet") => true,
        _ => false,
    };
    if metadata_only {
        // A new collation keeps the rows but not the indexes on the column, which are
        // rebuilt (their order changes), unless it is the collation they already have.
        if new.collation.is_some() {
            return DdlForm::AlterTypeIndexRebuild;
        }
        return DdlForm::AlterTypeMetadataOnly;
    }
    if matches!((o, n), ("citext", "text") | ("text", "citext")) {
        return DdlForm::AlterTypeIndexRebuild;
    }
    DdlForm::AlterTypeRewrite
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(old: &str, new: &str) -> DdlForm {
        type_change_form(Some(old), &normalize_type(new).0, false)
    }

    #[test]
    fn binary_coercible_changes() {
        assert_eq!(
            form("character varying(20)", "varchar(50)"),
            DdlForm::AlterTypeMetadataOnly
        );
        assert_eq!(
            form("character varying(20)", "varchar"),
            DdlForm::AlterTypeMetadataOnly
        );
        assert_eq!(
            form("character varying(20)", "text"),
            DdlForm::AlterTypeMetadataOnly
        );
        assert_eq!(form("text", "varchar"), DdlForm::AlterTypeMetadataOnly);
        assert_eq!(
            form("numeric(10,2)", "numeric(12,2)"),
            DdlForm::AlterTypeMetadataOnly
        );
        assert_eq!(
            form("timestamp(3) without time zone", "timestamp(6)"),
            DdlForm::AlterTypeMetadataOnly
        );
        assert_eq!(form("cidr", "inet"), DdlForm::AlterTypeMetadataOnly);
        assert_eq!(form("citext", "text"), DdlForm::AlterTypeIndexRebuild);
    }

    #[test]
    fn rewriting_changes() {
        assert_eq!(
            form("character varying(50)", "varchar(20)"),
            DdlForm::AlterTypeRewrite
        );
        assert_eq!(form("text", "varchar(20)"), DdlForm::AlterTypeRewrite);
        assert_eq!(form("integer", "bigint"), DdlForm::AlterTypeRewrite);
        assert_eq!(
            form("numeric(10,2)", "numeric(12,3)"),
            DdlForm::AlterTypeRewrite
        );
        assert_eq!(form("json", "jsonb"), DdlForm::AlterTypeRewrite);
        assert_eq!(
            form("timestamp without time zone", "timestamptz"),
            DdlForm::AlterTypeRewrite
        );
        assert_eq!(
            form("character(2)", "character(4)"),
            DdlForm::AlterTypeRewrite
        );
        assert_eq!(
            type_change_form(None, &normalize_type("varchar(50)").0, false),
            DdlForm::AlterTypeRewrite
        );
    }
}
