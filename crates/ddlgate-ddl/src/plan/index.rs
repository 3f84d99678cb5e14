//! Plans for indexes and constraints: CONCURRENTLY forms, NOT VALID + VALIDATE, and
//! UNIQUE/PRIMARY KEY via a concurrently built index attached `USING INDEX`.

use super::sql::{self, gen_name};
use super::{Plan, Step, StepKind, TxRequirement, DEADLINE, SHORT};
use crate::ir::{ConstraintKind, ConstraintSpec, QualifiedName, ReindexTarget, Stmt};
use crate::lexer::{significant, TokKind};
use crate::quote::quote_ident;

fn outside(
    description: String,
    sql: String,
    idem: Option<String>,
    rollback: Option<String>,
) -> Step {
    Step {
        description,
        sql,
        tx: TxRequirement::OutsideTx,
        lock_timeout: DEADLINE,
        idempotency_check: idem,
        rollback,
        kind: StepKind::Ddl,
    }
}

/// CREATE INDEX → CREATE INDEX CONCURRENTLY (same definition, sliced from the original).
pub(super) fn create_concurrently(stmt: &Stmt) -> Option<Plan> {
    let Stmt::CreateIndex {
        name,
        table,
        unique,
        if_not_exists,
        tail_text: Some(tail),
        ..
    } = stmt
    else {
        return None;
    };
    let u = if *unique { "UNIQUE " } else { "" };
    let (head, idem, rollback) = match name {
        Some(n) => (
            // IF NOT EXISTS only when the client asked for it: otherwise a relation of that name
            // (another table's index, an INVALID leftover) must fail the statement as it would
            // have without the gateway.
            format!(
                "CREATE {u}INDEX CONCURRENTLY {}{}",
                if *if_not_exists { "IF NOT EXISTS " } else { "" },
                quote_ident(&n.name)
            ),
            Some(sql::index_valid(
                table,
                n.schema.as_deref().or(table.schema.as_deref()),
                &n.name,
            )),
            Some(format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}",
                index_name(n, table).quoted()
            )),
        ),
        None => (format!("CREATE {u}INDEX CONCURRENTLY"), None, None),
    };
    Some(Plan {
        summary: format!(
            "build the index on {} without blocking writes",
            table.quoted()
        ),
        steps: vec![outside(
            "build the index concurrently (if it fails, the INVALID index it leaves is dropped)"
                .into(),
            format!("{head} ON {} {tail}", table.quoted()),
            idem,
            rollback,
        )],
    })
}

/// An index lives in its table's schema.
fn index_name(n: &QualifiedName, table: &QualifiedName) -> QualifiedName {
    QualifiedName {
        schema: n.schema.clone().or_else(|| table.schema.clone()),
        name: n.name.clone(),
    }
}

/// DROP INDEX → DROP INDEX CONCURRENTLY, one statement per index.
pub(super) fn drop_concurrently(names: &[QualifiedName]) -> Option<Plan> {
    if names.is_empty() {
        return None;
    }
    Some(Plan {
        summary: "drop the index(es) without an ACCESS EXCLUSIVE lock on the table".into(),
        steps: names
            .iter()
            .map(|n| {
                outside(
                    format!("drop {} concurrently", n.quoted()),
                    format!("DROP INDEX CONCURRENTLY IF EXISTS {}", n.quoted()),
                    Some(sql::relation_absent(n)),
                    None,
                )
            })
            .collect(),
    })
}

/// REINDEX → REINDEX CONCURRENTLY (PG 12+).
pub(super) fn reindex_concurrently(target: ReindexTarget, name: &QualifiedName) -> Option<Plan> {
    let kw = match target {
        ReindexTarget::Index => "INDEX",
        ReindexTarget::Table => "TABLE",
        ReindexTarget::Schema => "SCHEMA",
        ReindexTarget::Database => "DATABASE",
        ReindexTarget::System => return None,
    };
    Some(Plan {
        summary: format!("rebuild {} without blocking reads or writes", name.quoted()),
        steps: vec![outside(
            "rebuild concurrently (on failure, drop the leftover *_ccnew INVALID index)".into(),
            format!("REINDEX {kw} CONCURRENTLY {}", name.quoted()),
            None,
            None,
        )],
    })
}

fn constraint_name(table: &QualifiedName, c: &ConstraintSpec) -> String {
    if let Some(n) = &c.name {
        return n.clone();
    }
    match &c.kind {
        ConstraintKind::ForeignKey { columns, .. } => {
            let mut parts: Vec<&str> = vec![&table.name];
            parts.extend(columns.iter().map(String::as_str));
            gen_name(&parts, "fkey")
        }
        ConstraintKind::Unique { columns } => {
            let mut parts: Vec<&str> = vec![&table.name];
            parts.extend(columns.iter().map(String::as_str));
            gen_name(&parts, "key")
        }
        ConstraintKind::PrimaryKey { .. } => gen_name(&[&table.name], "pkey"),
        _ => gen_name(&[&table.name], "check"),
    }
}

/// ADD CHECK / FOREIGN KEY → `… NOT VALID`, then `VALIDATE CONSTRAINT` in its own
/// transaction.
pub(super) fn not_valid_then_validate(table: &QualifiedName, c: &ConstraintSpec) -> Option<Plan> {
    let def = c.def_text.as_deref()?;
    let name = constraint_name(table, c);
    let t = table.quoted();
    let k = quote_ident(&name);
    Some(Plan {
        summary: format!("add constraint {k} without a long lock: NOT VALID, then VALIDATE"),
        steps: vec![
            Step {
                description:
                    "add the constraint NOT VALID (checked for new writes only; brief lock)".into(),
                sql: format!("ALTER TABLE {t} ADD CONSTRAINT {k} {def} NOT VALID"),
                tx: TxRequirement::InsideOk,
                lock_timeout: SHORT,
                idempotency_check: Some(sql::constraint_exists(table, &name, false)),
                rollback: Some(format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {k}")),
                kind: StepKind::Ddl,
            },
            Step {
                description:
                    "validate existing rows (SHARE UPDATE EXCLUSIVE: reads and writes continue)"
                        .into(),
                sql: format!("ALTER TABLE {t} VALIDATE CONSTRAINT {k}"),
                tx: TxRequirement::InsideOk,
                lock_timeout: DEADLINE,
                idempotency_check: Some(sql::constraint_exists(table, &name, true)),
                rollback: None,
                kind: StepKind::Ddl,
            },
        ],
    })
}

/// The definition is exactly `UNIQUE (a, b)` / `PRIMARY KEY (a, b)` — nothing this plan
/// would silently drop (INCLUDE, NULLS NOT DISTINCT, deferrability, index parameters).
fn plain_key_definition(def: &str, n_columns: usize, pk: bool) -> bool {
    let toks: Vec<_> = significant(def).collect();
    let head = if pk { 2 } else { 1 };
    let expected = head + 2 + n_columns + n_columns.saturating_sub(1);
    toks.len() == expected
        && toks.get(head).map(|t| t.kind) == Some(TokKind::LParen)
        && toks.last().map(|t| t.kind) == Some(TokKind::RParen)
}

/// ADD UNIQUE / PRIMARY KEY → CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT …
/// USING INDEX.
pub(super) fn unique_using_index(
    table: &QualifiedName,
    c: &ConstraintSpec,
    columns: &[String],
    pk: bool,
) -> Option<Plan> {
    if columns.is_empty() || !plain_key_definition(c.def_text.as_deref()?, columns.len(), pk) {
        return None;
    }
    let name = constraint_name(table, c);
    let t = table.quoted();
    let k = quote_ident(&name);
    let cols = columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let what = if pk { "PRIMARY KEY" } else { "UNIQUE" };
    let idx = QualifiedName {
        schema: table.schema.clone(),
        name: name.clone(),
    };
    Some(Plan {
        summary: format!("add {what} {k} from a concurrently built unique index"),
        steps: vec![
            outside(
                "build the unique index concurrently (if it fails, the INVALID index it leaves is dropped)".into(),
                format!("CREATE UNIQUE INDEX CONCURRENTLY {k} ON {t} ({cols})"),
                Some(sql::index_valid(table, table.schema.as_deref(), &name)),
                Some(format!("DROP INDEX CONCURRENTLY IF EXISTS {}", idx.quoted())),
            ),
            Step {
                description: format!(
                    "attach the index as the {what} constraint (brief ACCESS EXCLUSIVE{})",
                    if pk { "; key columns must already be NOT NULL or they are scanned" } else { "" }
                ),
                sql: format!("ALTER TABLE {t} ADD CONSTRAINT {k} {what} USING INDEX {k}"),
                tx: TxRequirement::InsideOk,
                lock_timeout: SHORT,
                idempotency_check: Some(sql::constraint_exists(table, &name, false)),
                rollback: Some(format!("ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {k}")),
                kind: StepKind::Ddl,
            },
        ],
    })
}

/// DETACH PARTITION → DETACH PARTITION … CONCURRENTLY (PG 14+).
pub(super) fn detach_concurrently(
    table: &QualifiedName,
    partition: &QualifiedName,
) -> Option<Plan> {
    Some(Plan {
        summary: format!(
            "detach {} without ACCESS EXCLUSIVE on {}",
            partition.quoted(),
            table.quoted()
        ),
        steps: vec![outside(
            "detach concurrently (if interrupted, run ALTER TABLE … DETACH PARTITION … FINALIZE)"
                .into(),
            format!(
                "ALTER TABLE {} DETACH PARTITION {} CONCURRENTLY",
                table.quoted(),
                partition.quoted()
            ),
            None,
            None,
        )],
    })
}
