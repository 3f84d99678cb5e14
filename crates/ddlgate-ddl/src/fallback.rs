//! Token-level rule table for DDL sqlparser 0.63 cannot parse (see the parser-fidelity study:
//! `DROP INDEX CONCURRENTLY`, `REINDEX`, `ATTACH/DETACH PARTITION`, `ALTER SEQUENCE`,
//! `SET STATISTICS`, `VACUUM (…)`, `CLUSTER`, `REFRESH MATERIALIZED VIEW`, `DO`, …), plus an
//! allow-list of harmless forms pg_dump and ORMs emit. Anything that matches no row is
//! [`Stmt::Unparseable`]: the caller fails closed.

use crate::ir::{AlterAction, DetachMode, QualifiedName, ReindexTarget, Stmt};
use crate::lexer::{ident_value, significant, TokKind, Token};

struct Toks<'a> {
    sql: &'a str,
    t: Vec<Token>,
}

impl Toks<'_> {
    fn kw(&self, i: usize, k: &str) -> bool {
        self.t.get(i).is_some_and(|t| t.is_kw(self.sql, k))
    }
    fn any_kw(&self, k: &str) -> bool {
        self.t.iter().any(|t| t.is_kw(self.sql, k))
    }
    fn pos_kw(&self, from: usize, k: &str) -> Option<usize> {
        (from..self.t.len()).find(|&i| self.kw(i, k))
    }
    /// Read a possibly qualified name at `i`; returns it and the next index.
    fn name(&self, i: usize) -> Option<(QualifiedName, usize)> {
        let mut parts = Vec::new();
        let mut j = i;
        loop {
            let t = self.t.get(j)?;
            if !matches!(t.kind, TokKind::Word | TokKind::QuotedIdent) {
                break;
            }
            parts.push(ident_value(t, self.sql));
            j += 1;
            if self.t.get(j).map(|t| t.kind) == Some(TokKind::Dot) {
                j += 1;
            } else {
                break;
            }
        }
        let name = parts.pop()?;
        Some((
            QualifiedName {
                schema: parts.pop(),
                name,
            },
            j,
        ))
    }
    /// Skip `IF EXISTS` / `IF NOT EXISTS` at `i`.
    fn skip_if(&self, i: usize) -> usize {
        if self.kw(i, "if") {
            if self.kw(i + 1, "not") {
                i + 3
            } else {
                i + 2
            }
        } else {
            i
        }
    }
    /// Skip a parenthesised option list at `i`, returning its upper-cased text.
    fn paren_opts(&self, i: usize) -> (String, usize) {
        if self.t.get(i).map(|t| t.kind) != Some(TokKind::LParen) {
            return (String::new(), i);
        }
        let mut j = i;
        let mut depth = 0;
        let mut text = String::new();
        while let Some(t) = self.t.get(j) {
            match t.kind {
                TokKind::LParen => depth += 1,
                TokKind::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        return (text, j + 1);
                    }
                }
                _ => {
                    text.push_str(&t.text(self.sql).to_ascii_uppercase());
                    text.push(' ');
                }
            }
            j += 1;
        }
        (text, j)
    }
}

type Build = fn(&Toks<'_>) -> Option<Stmt>;

/// The rule table: key-word prefix → builder. First match wins.
const TABLE: &[(&[&str], Build)] = &[
    (&["drop", "index"], drop_index),
    (&["reindex"], reindex),
    (&["alter", "table"], alter_table),
    (&["alter", "index"], alter_index),
    (&["alter", "sequence"], |_| Some(Stmt::Sequence)),
    (&["create", "sequence"], |_| Some(Stmt::Sequence)),
    (&["vacuum"], vacuum),
    (&["cluster"], cluster),
    (&["refresh", "materialized", "view"], refresh),
    (&["do"], |t| {
        Some(Stmt::Do {
            body: crate::dynamic::string_contents(t.sql),
        })
    }),
    (&["create", "index"], create_index),
    (&["create", "unique", "index"], create_index),
    (&["create", "table"], create_table),
    (&["create", "unlogged", "table"], create_table),
    (&["create", "temp", "table"], create_table),
    (&["create", "temporary", "table"], create_table),
    (&["alter", "domain"], |t| {
        Some(if t.any_kw("constraint") || t.any_kw("check") {
            Stmt::DomainConstraint
        } else {
            other(t)
        })
    }),
    (&["create", "domain"], |_| Some(Stmt::DomainConstraint)),
    (&["create", "role"], role),
    (&["create", "user"], role),
    (&["alter", "role"], role),
    (&["alter", "user"], role),
    (&["comment", "on"], |t| Some(other(t))),
    (&["create", "statistics"], |t| Some(other(t))),
    (&["drop", "statistics"], |t| Some(other(t))),
    (&["create", "extension"], |t| Some(other(t))),
    (&["alter", "extension"], |t| Some(other(t))),
    (&["analyze"], |t| Some(other(t))),
    (&["analyse"], |t| Some(other(t))),
    (&["grant"], |t| Some(other(t))),
    (&["revoke"], |t| Some(other(t))),
    (&["alter", "default", "privileges"], |t| Some(other(t))),
    (&["create", "or", "replace", "function"], routine),
    (&["create", "function"], routine),
    (&["create", "or", "replace", "procedure"], routine),
    (&["create", "procedure"], routine),
    (&["alter", "function"], |t| Some(other(t))),
    (&["alter", "type"], alter_type),
    (&["alter", "schema"], |t| Some(other(t))),
    (&["alter", "view"], |t| Some(other(t))),
    (&["alter", "materialized", "view"], |t| Some(other(t))),
    (&["create", "materialized", "view"], |t| Some(other(t))),
    (&["alter", "trigger"], |t| Some(other(t))),
    (&["call"], |_| Some(Stmt::Call)),
    (&["create", "rule"], create_rule),
    (&["create", "or", "replace", "rule"], create_rule),
    (&["create", "publication"], |t| Some(other(t))),
    (&["alter", "publication"], |t| Some(other(t))),
    (&["drop", "publication"], |t| Some(other(t))),
    (&["security", "label"], |t| Some(other(t))),
];

/// `CREATE [OR REPLACE] RULE name AS ON event TO table …`: takes ACCESS EXCLUSIVE on the
/// table for a moment (no rewrite, no scan), like an `ALTER TABLE` of that lock level.
fn create_rule(t: &Toks<'_>) -> Option<Stmt> {
    let on = t.pos_kw(0, "on")?;
    let to = t.pos_kw(on, "to")?;
    let (table, _) = t.name(to + 1)?;
    Some(Stmt::AlterTable {
        table,
        actions: vec![AlterAction::OtherAccessExclusive {
            what: "CREATE RULE".to_owned(),
        }],
    })
}

fn other(t: &Toks<'_>) -> Stmt {
    let what: Vec<String> =
        t.t.iter()
            .take(2)
            .map(|x| x.text(t.sql).to_ascii_uppercase())
            .collect();
    Stmt::OtherDdl {
        what: what.join(" "),
    }
}

/// Try the rule table on `sql`; `None` when no row matches.
#[must_use]
pub fn parse(sql: &str) -> Option<Stmt> {
    let toks = Toks {
        sql,
        t: significant(sql).collect(),
    };
    TABLE
        .iter()
        .find(|(prefix, _)| prefix.iter().enumerate().all(|(i, k)| toks.kw(i, k)))
        .and_then(|(_, build)| build(&toks))
}

fn drop_index(t: &Toks<'_>) -> Option<Stmt> {
    let mut i = 2;
    let concurrently = t.kw(i, "concurrently");
    if concurrently {
        i += 1;
    }
    let if_exists = t.kw(i, "if");
    i = t.skip_if(i);
    let mut names = Vec::new();
    while let Some((n, j)) = t.name(i) {
        if n.schema.is_none() && (n.name == "cascade" || n.name == "restrict") {
            break;
        }
        names.push(n);
        i = j;
        if t.t.get(i).map(|x| x.kind) == Some(TokKind::Comma) {
            i += 1;
        } else {
            break;
        }
    }
    Some(Stmt::DropIndex {
        names,
        concurrently,
        if_exists,
        cascade: t.any_kw("cascade"),
    })
}

fn reindex(t: &Toks<'_>) -> Option<Stmt> {
    let (opts, mut i) = t.paren_opts(1);
    let target = match t
        .t
        .get(i)
        .map(|x| x.text(t.sql).to_ascii_lowercase())?
        .as_str()
    {
        "index" => ReindexTarget::Index,
        "table" => ReindexTarget::Table,
        "schema" => ReindexTarget::Schema,
        "database" => ReindexTarget::Database,
        "system" => ReindexTarget::System,
        _ => return None,
    };
    i += 1;
    let mut concurrently = opts.contains("CONCURRENTLY");
    if t.kw(i, "concurrently") {
        concurrently = true;
        i += 1;
    }
    Some(Stmt::Reindex {
        target,
        name: t.name(i).map(|(n, _)| n),
        concurrently,
    })
}

fn alter_table(t: &Toks<'_>) -> Option<Stmt> {
    let mut i = t.skip_if(2);
    if t.kw(i, "only") {
        i += 1;
    }
    let (table, mut i) = t.name(i)?;
    if t.t.get(i).is_some_and(|x| x.text(t.sql) == "*") {
        i += 1;
    }
    // Only single-subcommand statements are understood here; a list with a part sqlparser
    // rejected is refused as a whole (fail closed).
    if t.t[i..].iter().any(|x| x.kind == TokKind::Comma) && !t.kw(i, "attach") {
        return None;
    }
    let action = if t.kw(i, "attach") && t.kw(i + 1, "partition") {
        let (partition, j) = t.name(i + 2)?;
        AlterAction::AttachPartition {
            partition,
            bound: t
                .t
                .get(j)
                .and_then(|first| t.sql.get(first.span.start..t.t.last()?.span.end))
                .map(str::to_owned),
        }
    } else if t.kw(i, "detach") && t.kw(i + 1, "partition") {
        let (partition, j) = t.name(i + 2)?;
        let mode = if t.kw(j, "concurrently") {
            DetachMode::Concurrently
        } else if t.kw(j, "finalize") {
            DetachMode::Finalize
        } else {
            DetachMode::Plain
        };
        AlterAction::DetachPartition { partition, mode }
    } else if t.kw(i, "alter") {
        let j = if t.kw(i + 1, "column") { i + 2 } else { i + 1 };
        if t.kw(j, "constraint") {
            return Some(Stmt::AlterTable {
                table,
                actions: vec![AlterAction::AlterConstraint {
                    name: t.name(j + 1)?.0.name,
                }],
            });
        }
        let column = ident_value(t.t.get(j)?, t.sql);
        let k = j + 1;
        if t.kw(k, "set")
            && (t.kw(k + 1, "statistics")
                || t.t.get(k + 1).map(|x| x.kind) == Some(TokKind::LParen))
            || t.kw(k, "reset")
        {
            AlterAction::SetColumnStatistics { column }
        } else if t.kw(k, "set") && (t.kw(k + 1, "storage") || t.kw(k + 1, "compression")) {
            AlterAction::SetColumnStorage { column }
        } else if t.kw(k, "drop") && t.kw(k + 1, "identity")
            || t.kw(k, "restart")
            || t.kw(k, "set") && t.kw(k + 1, "generated")
            // An identity column's sequence options (`SET INCREMENT BY 2`, `SET CACHE 10`, …).
            || t.kw(k, "set")
                && ["increment", "start", "minvalue", "maxvalue", "no", "cycle", "cache"]
                    .iter()
                    .any(|o| t.kw(k + 1, o))
        {
            AlterAction::AlterIdentity { column }
        } else if t.kw(k, "drop") && t.kw(k + 1, "expression") {
            AlterAction::AlterColumnExpression { column, drop: true }
        } else if t.kw(k, "set") && t.kw(k + 1, "expression") {
            AlterAction::AlterColumnExpression {
                column,
                drop: false,
            }
        } else if t.kw(k, "type") || t.kw(k, "set") && t.kw(k + 1, "data") {
            // `TYPE … COLLATE …`: a type change whose effect we cannot model → refuse.
            return None;
        } else {
            return None;
        }
    } else if t.kw(i, "set") && t.kw(i + 1, "tablespace") {
        AlterAction::SetTablespace {
            name: t.name(i + 2).map(|(n, _)| n.name),
        }
    } else if t.kw(i, "set") && t.kw(i + 1, "schema") {
        AlterAction::SetSchema
    } else if t.kw(i, "set") && t.kw(i + 1, "access") {
        AlterAction::SetAccessMethod {
            name: t.name(i + 3).map(|(n, _)| n.name),
        }
    } else if t.kw(i, "set") && t.kw(i + 1, "without") || t.kw(i, "cluster") {
        AlterAction::ClusterOn
    } else if t.kw(i, "reset") {
        let (opts, _) = t.paren_opts(i + 1);
        let weak = opts
            .split_whitespace()
            .all(|o| o == "FILLFACTOR" || o.starts_with("AUTOVACUUM_") || o == "TOAST" || o == ".");
        AlterAction::SetStorageParams { weak }
    } else if t.kw(i, "inherit")
        || t.kw(i, "no") && t.kw(i + 1, "inherit")
        || t.kw(i, "of")
        || t.kw(i, "not") && t.kw(i + 1, "of")
    {
        AlterAction::OtherAccessExclusive {
            what: "INHERIT/OF".to_owned(),
        }
    } else if t.kw(i, "add")
        && t.kw(i + 1, "constraint")
        && t.kw(i + 3, "not")
        && t.kw(i + 4, "null")
    {
        // PG 18 `ADD CONSTRAINT n NOT NULL col [NOT VALID]`.
        let column = ident_value(t.t.get(i + 5)?, t.sql);
        let not_valid = t.kw(i + 6, "not") && t.kw(i + 7, "valid");
        AlterAction::AddConstraint {
            constraint: crate::ir::ConstraintSpec {
                name: Some(ident_value(t.t.get(i + 2)?, t.sql)),
                kind: crate::ir::ConstraintKind::NotNull { column },
                def_text: None,
            },
            not_valid,
        }
    } else {
        return None;
    };
    Some(Stmt::AlterTable {
        table,
        actions: vec![action],
    })
}

fn alter_index(t: &Toks<'_>) -> Option<Stmt> {
    let i = t.skip_if(2);
    if t.kw(i, "all") {
        return None;
    }
    let (name, j) = t.name(i)?;
    Some(Stmt::AlterIndex {
        name,
        rename: t.kw(j, "rename"),
    })
}

fn vacuum(t: &Toks<'_>) -> Option<Stmt> {
    let (opts, mut i) = t.paren_opts(1);
    let mut full = opts.split_whitespace().next() == Some("FULL")
        || opts.contains(" FULL") && !opts.contains("FULL FALSE") && !opts.contains("FULL OFF");
    while ["full", "freeze", "verbose", "analyze", "analyse"]
        .iter()
        .any(|k| t.kw(i, k))
    {
        full |= t.kw(i, "full");
        i += 1;
    }
    let mut tables = Vec::new();
    while let Some((n, j)) = t.name(i) {
        tables.push(n);
        i = j;
        // Skip a column list.
        let (_, k) = t.paren_opts(i);
        i = k;
        if t.t.get(i).map(|x| x.kind) == Some(TokKind::Comma) {
            i += 1;
        } else {
            break;
        }
    }
    Some(Stmt::Vacuum { full, tables })
}

fn cluster(t: &Toks<'_>) -> Option<Stmt> {
    let (_, mut i) = t.paren_opts(1);
    if t.kw(i, "verbose") {
        i += 1;
    }
    Some(Stmt::Cluster {
        table: t.name(i).map(|(n, _)| n),
    })
}

fn refresh(t: &Toks<'_>) -> Option<Stmt> {
    let concurrently = t.kw(3, "concurrently");
    let i = if concurrently { 4 } else { 3 };
    Some(Stmt::RefreshMatView {
        name: t.name(i)?.0,
        concurrently,
    })
}

fn create_index(t: &Toks<'_>) -> Option<Stmt> {
    let unique = t.kw(1, "unique");
    let mut i = if unique { 3 } else { 2 };
    let concurrently = t.kw(i, "concurrently");
    if concurrently {
        i += 1;
    }
    let if_not_exists = t.kw(i, "if");
    i = t.skip_if(i);
    let name = if t.kw(i, "on") {
        None
    } else {
        let (n, j) = t.name(i)?;
        i = j;
        Some(n)
    };
    if !t.kw(i, "on") {
        return None;
    }
    i += 1;
    let only = t.kw(i, "only");
    if only {
        i += 1;
    }
    Some(Stmt::CreateIndex {
        name,
        table: t.name(i)?.0,
        unique,
        concurrently,
        if_not_exists,
        tail_text: None,
        only,
    })
}

fn create_table(t: &Toks<'_>) -> Option<Stmt> {
    let i = t.pos_kw(0, "table")? + 1;
    let i = t.skip_if(i);
    let (name, _) = t.name(i)?;
    let partition_of = t
        .pos_kw(i, "partition")
        .filter(|&p| t.kw(p + 1, "of"))
        .and_then(|p| t.name(p + 2))
        .map(|(n, _)| n);
    Some(Stmt::CreateTable {
        name,
        columns: Vec::new(),
        partition_of,
        references: Vec::new(),
        temporary: t.kw(1, "temp") || t.kw(1, "temporary"),
        partitioned: t.pos_kw(i, "partition").is_some_and(|p| t.kw(p + 1, "by")),
        partition_key: crate::partition_text::partition_key(t.sql),
    })
}

fn role(t: &Toks<'_>) -> Option<Stmt> {
    Some(Stmt::Role {
        has_password: crate::redact::has_password(t.sql),
    })
}

fn routine(t: &Toks<'_>) -> Option<Stmt> {
    Some(Stmt::CreateRoutine {
        body: Some(crate::dynamic::string_contents(t.sql)),
    })
}

fn alter_type(t: &Toks<'_>) -> Option<Stmt> {
    let (type_name, j) = t.name(2)?;
    Some(if t.kw(j, "add") && t.kw(j + 1, "value") {
        Stmt::AlterEnumAddValue { type_name }
    } else {
        Stmt::AlterType { type_name }
    })
}

/// A rename written against one kind of relation that the server carries out on whatever
/// relation the name resolves to: `ALTER INDEX t RENAME TO x`, `ALTER [MATERIALIZED] VIEW t
/// RENAME [COLUMN] a TO b` and `ALTER TYPE t RENAME ATTRIBUTE a TO b` all act on a *table* `t`
/// (measured on PostgreSQL 15). When the catalog says `t` is a table, the statement is
/// analysed as its `ALTER TABLE` equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationRename {
    /// The relation named.
    pub target: QualifiedName,
    /// The same rename written as `ALTER TABLE`.
    pub as_table: String,
}

/// Recognises a [`RelationRename`].
#[must_use]
pub fn relation_rename(sql: &str) -> Option<RelationRename> {
    // Every statement is asked: look at the first two words before lexing the whole text.
    let mut words = significant(sql);
    let kinds = ["index", "view", "materialized", "type"];
    let leads = words.next().is_some_and(|w| w.is_kw(sql, "alter"))
        && words
            .next()
            .is_some_and(|w| kinds.iter().any(|k| w.is_kw(sql, k)));
    if !leads {
        return None;
    }
    let t = Toks {
        sql,
        t: significant(sql).collect(),
    };
    let (kind_end, column_rename) = if t.kw(1, "index") {
        (2, false)
    } else if t.kw(1, "view") {
        (2, true)
    } else if t.kw(1, "materialized") && t.kw(2, "view") {
        (3, true)
    } else if t.kw(1, "type") {
        (2, true)
    } else {
        return None;
    };
    let start = t.skip_if(kind_end);
    let (target, j) = t.name(start)?;
    if !t.kw(j, "rename") {
        return None;
    }
    // What follows RENAME: `TO x` for an index; `[COLUMN] a TO b` or `ATTRIBUTE a TO b`.
    let (what, from) = match (column_rename, t.kw(j + 1, "to")) {
        (false, true) => ("", j + 1),
        (true, false) if t.kw(j + 1, "column") || t.kw(j + 1, "attribute") => ("COLUMN ", j + 2),
        (true, false) if t.kw(1, "view") || t.kw(1, "materialized") => ("COLUMN ", j + 1),
        _ => return None,
    };
    // `ALTER TYPE … RENAME ATTRIBUTE … [CASCADE | RESTRICT]`: ALTER TABLE takes no such word.
    let mut end = t.t.len();
    if end > from && (t.kw(end - 1, "cascade") || t.kw(end - 1, "restrict")) {
        end -= 1;
    }
    let span = |a: usize, b: usize| &sql[t.t[a].span.start..t.t[b - 1].span.end];
    let if_exists = if start > kind_end { "IF EXISTS " } else { "" };
    Some(RelationRename {
        as_table: format!(
            "ALTER TABLE {if_exists}{} RENAME {what}{}",
            span(start, j),
            span(from, end)
        ),
        target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_through_other_relation_kinds_read_as_alter_table() {
        let r = |sql: &str| relation_rename(sql).map(|r| (r.target.to_string(), r.as_table));
        assert_eq!(
            r("ALTER INDEX IF EXISTS app.t RENAME TO t2"),
            Some((
                "app.t".into(),
                "ALTER TABLE IF EXISTS app.t RENAME TO t2".into()
            ))
        );
        assert_eq!(
            r("alter view t rename column a to b"),
            Some(("t".into(), "ALTER TABLE t RENAME COLUMN a to b".into()))
        );
        assert_eq!(
            r("ALTER MATERIALIZED VIEW \"T\" RENAME a TO b"),
            Some(("T".into(), "ALTER TABLE \"T\" RENAME COLUMN a TO b".into()))
        );
        assert_eq!(
            r("ALTER TYPE t RENAME ATTRIBUTE a TO b CASCADE"),
            Some(("t".into(), "ALTER TABLE t RENAME COLUMN a TO b".into()))
        );
        // Forms the server refuses on a table, or that act on the named kind only.
        assert_eq!(r("ALTER VIEW v RENAME TO w"), None);
        assert_eq!(r("ALTER TYPE e RENAME VALUE 'a' TO 'b'"), None);
        assert_eq!(r("ALTER INDEX i SET TABLESPACE x"), None);
        assert_eq!(r("ALTER TABLE t RENAME TO u"), None);
    }

    #[test]
    fn table_rows() {
        assert!(matches!(
            parse("DROP INDEX CONCURRENTLY IF EXISTS a.idx"),
            Some(Stmt::DropIndex { concurrently: true, if_exists: true, ref names, .. }) if names.len() == 1
        ));
        assert!(matches!(
            parse("REINDEX (VERBOSE) TABLE CONCURRENTLY orders"),
            Some(Stmt::Reindex {
                target: ReindexTarget::Table,
                concurrently: true,
                ..
            })
        ));
        assert!(matches!(
            parse("ALTER TABLE o DETACH PARTITION o_2023 CONCURRENTLY"),
            Some(Stmt::AlterTable { ref actions, .. })
                if matches!(actions[0], AlterAction::DetachPartition { mode: DetachMode::Concurrently, .. })
        ));
        assert!(matches!(
            parse("VACUUM (FULL, ANALYZE) t"),
            Some(Stmt::Vacuum { full: true, .. })
        ));
        assert!(matches!(
            parse("CREATE PUBLICATION p FOR ALL TABLES"),
            Some(Stmt::OtherDdl { .. })
        ));
        assert!(parse("ALTER TABLE t ALTER COLUMN c TYPE text COLLATE \"C\"").is_none());
    }
}
