//! Plans for `ADD COLUMN` with a volatile default and/or NOT NULL, and for `SET NOT NULL`.
//!
//! Order matters: the `CHECK (col IS NOT NULL) NOT VALID` is enforced on every later INSERT
//! and UPDATE of a row (docs, `ALTER TABLE`, NOT VALID), so it is added only after the
//! backfill — otherwise the backfill's own UPDATEs of still-NULL rows would fail.

use super::sql::{self, gen_name};
use super::{BackfillKey, Plan, Step, StepKind, TxRequirement, DEADLINE, SHORT};
use crate::facts::Facts;
use crate::ir::{ColumnSpec, QualifiedName, Volatility};
use crate::quote::quote_ident;

const BATCH: u32 = 1_000;

fn ddl(description: String, sql: String, idem: Option<String>, rollback: Option<String>) -> Step {
    Step {
        description,
        sql,
        tx: TxRequirement::InsideOk,
        lock_timeout: SHORT,
        idempotency_check: idem,
        rollback,
        kind: StepKind::Ddl,
    }
}

fn backfill(table: &QualifiedName, col: &str, expr: &str, facts: &Facts) -> Step {
    let t = table.quoted();
    let c = quote_ident(col);
    let pk: Vec<String> = facts
        .table(table)
        .filter(|f| f.has_primary_key == Some(true) && !f.pk_columns.is_empty())
        .map(|f| f.pk_columns.clone())
        .unwrap_or_default();
    let (key, batch_sql) = if pk.is_empty() {
        (
            BackfillKey::CtidRange,
            format!(
                "UPDATE {t} SET {c} = {expr} WHERE ctid = ANY (ARRAY(SELECT ctid FROM {t} WHERE {c} IS NULL LIMIT {BATCH}))"
            ),
        )
    } else {
        let cols = pk
            .iter()
            .map(|k| quote_ident(k))
            .collect::<Vec<_>>()
            .join(", ");
        (
            BackfillKey::Keyset(pk.clone()),
            format!(
                "UPDATE {t} SET {c} = {expr} WHERE ({cols}) IN (SELECT {cols} FROM {t} WHERE {c} IS NULL ORDER BY {cols} LIMIT {BATCH})"
            ),
        )
    };
    Step {
        description: format!(
            "backfill {c} in batches of {BATCH} rows (repeat until no row is updated)"
        ),
        sql: batch_sql,
        tx: TxRequirement::InsideOk,
        lock_timeout: SHORT,
        idempotency_check: Some(format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {t} WHERE {c} IS NULL)"
        )),
        rollback: None,
        kind: StepKind::Backfill {
            table: t,
            column: c,
            expr: expr.to_owned(),
            key,
            batch_rows: BATCH,
        },
    }
}

/// CHECK NOT VALID → VALIDATE → SET NOT NULL → DROP CHECK.
fn not_null_steps(table: &QualifiedName, col: &str) -> Vec<Step> {
    let t = table.quoted();
    let c = quote_ident(col);
    let check = gen_name(&[&table.name, col], "not_null");
    let k = quote_ident(&check);
    vec![
        ddl(
            format!("add CHECK ({c} IS NOT NULL) NOT VALID (instant; enforced for new writes)"),
            format!("ALTER TABLE {t} ADD CONSTRAINT {k} CHECK ({c} IS NOT NULL) NOT VALID"),
            // Done when the CHECK is there, or the whole plan already is (the column is NOT
            // NULL and the CHECK dropped): a re-run must not scan the table again.
            Some(sql::either(
                &sql::constraint_exists(table, &check, false),
                &sql::column_not_null(table, col),
            )),
            Some(format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {k}")),
        ),
        Step {
            description: "validate the CHECK (SHARE UPDATE EXCLUSIVE: reads and writes continue)"
                .into(),
            sql: format!("ALTER TABLE {t} VALIDATE CONSTRAINT {k}"),
            tx: TxRequirement::InsideOk,
            lock_timeout: DEADLINE,
            idempotency_check: Some(sql::either(
                &sql::constraint_exists(table, &check, true),
                &sql::column_not_null(table, col),
            )),
            rollback: None,
            kind: StepKind::Ddl,
        },
        ddl(
            format!("SET NOT NULL on {c} (no scan: the validated CHECK proves it, PostgreSQL 12+)"),
            format!("ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL"),
            Some(sql::column_not_null(table, col)),
            Some(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP NOT NULL")),
        ),
        ddl(
            "drop the now-redundant CHECK".into(),
            format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {k}"),
            Some(sql::constraint_absent(table, &check)),
            None,
        ),
    ]
}

/// ADD COLUMN with a volatile default and/or NOT NULL.
pub(super) fn add_column(table: &QualifiedName, col: &ColumnSpec, facts: &Facts) -> Option<Plan> {
    if col.generated.is_some() || col.serial || col.primary_key || col.unique || col.check {
        return None;
    }
    if col.references.is_some() || col.ty.text.is_empty() {
        return None;
    }
    // A domain with a default or a constraint of its own rewrites the table as soon as the
    // column is added, default or not: no phased plan avoids that.
    if crate::model::domain_of(col, facts).is_some_and(|d| d.constrained || d.volatile_default) {
        return None;
    }
    let default = col.default.as_ref()?;
    let expr = default.text.as_deref()?;
    let volatile = crate::model::default_volatility(col, facts) == Some(Volatility::Volatile)
        || facts.server_version_num < 110_000;
    if !volatile {
        return None;
    }
    if col.not_null && facts.server_version_num < 120_000 {
        return None;
    }
    let t = table.quoted();
    let c = quote_ident(&col.name);
    let mut steps = vec![
        ddl(
            format!("add {c} as a nullable column without default (metadata only)"),
            format!(
                "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS {c} {}",
                col.ty.text
            ),
            Some(sql::column_exists(table, &col.name)),
            Some(format!("ALTER TABLE {t} DROP COLUMN IF EXISTS {c}")),
        ),
        ddl(
            format!("set the default for new rows on {c}"),
            format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {expr}"),
            Some(sql::column_has_default(table, &col.name)),
            Some(format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT")),
        ),
        backfill(table, &col.name, expr, facts),
    ];
    if col.not_null {
        steps.extend(not_null_steps(table, &col.name));
    }
    Some(Plan {
        summary: format!(
            "add {c} without rewriting {t}: nullable column, default for new rows, batched backfill{}",
            if col.not_null { ", then NOT NULL via a validated CHECK" } else { "" }
        ),
        steps,
    })
}

/// SET NOT NULL via CHECK NOT VALID / VALIDATE / SET NOT NULL / DROP CHECK (PG 12+).
pub(super) fn set_not_null(table: &QualifiedName, col: &str, facts: &Facts) -> Option<Plan> {
    if facts.server_version_num < 120_000 {
        return None;
    }
    Some(Plan {
        summary: format!(
            "make {}.{} NOT NULL without a long ACCESS EXCLUSIVE scan",
            table.quoted(),
            quote_ident(col)
        ),
        steps: not_null_steps(table, col),
    })
}
