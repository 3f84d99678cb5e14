//! `VACUUM FULL` and `CLUSTER` rewrite the table under ACCESS EXCLUSIVE (docs, `VACUUM`,
//! `CLUSTER`).

use super::{Category, Ctx, Finding, RuleDef, RuleId, Severity};
use crate::ir::{QualifiedName, Stmt};

pub(super) const DEF: RuleDef = RuleDef {
    id: RuleId::VacuumFullOrCluster,
    aliases: &["prefer-repack"],
    severity: Severity::Error,
    category: Category::Locking,
    summary: "VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE",
    check,
};

fn check(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let all = QualifiedName::bare("*");
    let (what, tables): (&str, Vec<&QualifiedName>) = match ctx.stmt {
        Stmt::Vacuum { full: true, tables } if tables.is_empty() => ("VACUUM FULL", vec![&all]),
        Stmt::Vacuum { full: true, tables } => ("VACUUM FULL", tables.iter().collect()),
        Stmt::Cluster { table } => ("CLUSTER", vec![table.as_ref().unwrap_or(&all)]),
        _ => return,
    };
    let help = if ctx.facts.server_version_num >= 190_000 {
        "use REPACK (CONCURRENTLY)"
    } else {
        "use pg_repack / pg_squeeze for an online rewrite, or plain VACUUM"
    };
    for t in tables {
        let msg = if t == &all {
            format!("{what} of every table rewrites each one under ACCESS EXCLUSIVE")
        } else {
            format!("{what} rewrites `{t}` under ACCESS EXCLUSIVE: all reads and writes wait")
        };
        ctx.sized(out, DEF.id, t, msg, help);
    }
}
