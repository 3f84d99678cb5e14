//! The orchestrator: split → classify → parse (sqlparser, then the fallback table, then fail
//! closed) → lock/rewrite model → rules → suppressions → plan → verdict, while tracking the
//! transaction across the statements of the text.

use crate::classify::{classify, StatementClass};
use crate::decision::{Decision, Finding, Severity, Verdict};
use crate::facts::{Facts, RelKind, Submission, TxState};
use crate::ir::{AlterAction, ConstraintKind, Stmt, TxCommand};
use crate::locks::LockMode;
use crate::model::{self, Effects, Rewrite, Scan};
pub use crate::parse::parse_statement;
use crate::rules::{AnalysisConfig, Ctx, RuleId, RuleMode, RULES};
use crate::session::Savepoints;
use crate::split::split;
use crate::tx::TxView;

/// Rules whose blocking findings a plan can fix.
const PLANNABLE: &[RuleId] = &[
    RuleId::AddingFieldWithVolatileDefault,
    RuleId::SettingNotNull,
    RuleId::AddingCheckConstraint,
    RuleId::AddingForeignKeyConstraint,
    RuleId::AddingUniqueConstraint,
    RuleId::AddingPrimaryKeyConstraint,
    RuleId::RequireConcurrentIndexCreation,
    RuleId::RequireConcurrentIndexDeletion,
    RuleId::RequireConcurrentReindex,
    RuleId::RequireConcurrentPartitionDetach,
];

/// Analyse every statement of `sql`. One [`Decision`] per statement (segments holding only
/// comments produce none). Never panics.
#[must_use]
pub fn analyze(sql: &str, facts: &Facts, cfg: &AnalysisConfig) -> Vec<Decision> {
    analyze_replaying(sql, &mut Fixed(facts), cfg)
}

/// Facts that the statements of a text change as they are analysed: the linter replays each
/// statement's effect on the schema it knows, so the next statement is judged against it.
pub trait Replay {
    /// The facts the next statement is judged under.
    fn facts(&self) -> &Facts;
    /// Records what `stmt` did.
    fn apply(&mut self, stmt: &Stmt);
}

/// Facts owned by the caller, which no statement changes.
impl Replay for Facts {
    fn facts(&self) -> &Facts {
        self
    }
    fn apply(&mut self, _: &Stmt) {}
}

/// Facts no statement changes (the gateway's: it asks the catalog before each text).
struct Fixed<'a>(&'a Facts);

impl Replay for Fixed<'_> {
    fn facts(&self) -> &Facts {
        self.0
    }
    fn apply(&mut self, _: &Stmt) {}
}

/// [`analyze`], with facts that each statement updates ([`Replay`]).
pub fn analyze_replaying(
    sql: &str,
    replay: &mut impl Replay,
    cfg: &AnalysisConfig,
) -> Vec<Decision> {
    let facts = replay.facts();
    let segments = split(sql);
    let n_stmts = segments.iter().filter(|s| s.stmt.is_some()).count();
    let multi = n_stmts > 1 && facts.submission == Submission::OneQuery;
    let mut tracker = Tracker {
        view: TxView {
            in_block: facts.tx_state == TxState::InBlock,
            implicit_multi: facts.tx_state == TxState::ImplicitMulti || multi,
            created_in_tx: facts.created_in_tx.clone(),
            access_exclusive_held: facts.access_exclusive_held.clone(),
            lock_timeout_ms: facts.lock_timeout_ms,
            statement_timeout_ms: facts.statement_timeout_ms,
            not_valid_added: Default::default(),
        },
        session_lock_timeout: facts.lock_timeout_ms,
        session_statement_timeout: facts.statement_timeout_ms,
        savepoints: Savepoints::default(),
    };
    let unclosed = unclosed_begin(sql, &segments, facts);
    let mut out = Vec::with_capacity(n_stmts);
    for (i, seg) in segments.iter().enumerate() {
        let Some(span) = seg.stmt.clone() else {
            continue;
        };
        let facts = replay.facts();
        let text = sql.get(span.clone()).unwrap_or("");
        let (class, stmt) = parse_statement(text);
        // A rename written against another relation kind acts on a table when the name is one.
        // Only the catalog's facts can say so: without them (lint) nothing is asked.
        let rename = if facts.tables.is_empty() {
            None
        } else {
            crate::fallback::relation_rename(text)
        };
        let (class, stmt) = match rename {
            Some(r)
                if facts
                    .tables
                    .get(&r.target)
                    .and_then(|t| t.kind)
                    .is_some_and(RelKind::is_table) =>
            {
                parse_statement(&r.as_table)
            }
            _ => (class, stmt),
        };
        let fx = model::effects(&stmt, facts);
        let mut findings = Vec::new();
        if !matches!(stmt, Stmt::NotDdl) || !tracker.view.access_exclusive_held.is_empty() {
            let ctx = Ctx {
                text,
                stmt: &stmt,
                fx: &fx,
                facts,
                cfg,
                tx: &tracker.view,
                begin_never_closed: unclosed == Some(i),
            };
            for rule in RULES {
                (rule.check)(&ctx, &mut findings);
            }
        }
        apply_modes(&mut findings, cfg);
        let suppressed = if cfg.honor_suppressions {
            crate::suppress::apply(seg.leading(sql), &mut findings)
        } else {
            Vec::new()
        };
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let (plan, verdict) = decide(&stmt, &findings, facts, &tracker.view);
        tracker.after(&stmt, &fx);
        if stmt == Stmt::Tx(TxCommand::Savepoint) {
            tracker.savepoint(text);
        }
        let Effects {
            applied,
            locks,
            rewrite,
            scan,
            ..
        } = fx;
        out.push(Decision {
            span,
            class,
            forms: applied,
            locks,
            rewrite: rewrite.unwrap_or(Rewrite::No),
            scan: scan.unwrap_or(Scan::No),
            statement: stmt,
            findings,
            suppressed,
            plan,
            verdict,
        });
        if let Some(d) = out.last() {
            replay.apply(&d.statement);
        }
    }
    out
}

/// The segment index of a `BEGIN` in the text whose transaction block no later statement of
/// the text ends, when other statements follow it (a lone `BEGIN` query is how drivers and
/// interactive clients open a transaction). Only transaction-control statements are parsed.
fn unclosed_begin(sql: &str, segments: &[crate::split::Segment], facts: &Facts) -> Option<usize> {
    let mut in_block = facts.tx_state == TxState::InBlock;
    let mut open = None;
    let mut followed = false;
    for (i, seg) in segments.iter().enumerate() {
        let Some(span) = seg.stmt.clone() else {
            continue;
        };
        followed = open.is_some();
        let text = sql.get(span).unwrap_or("");
        if classify(text) != StatementClass::Transaction {
            continue;
        }
        match crate::session::parse(text) {
            Stmt::Tx(TxCommand::Begin) if !in_block => {
                in_block = true;
                open = Some(i);
            }
            Stmt::Tx(TxCommand::Commit | TxCommand::Rollback) => {
                in_block = false;
                open = None;
            }
            _ => {}
        }
    }
    open.filter(|_| followed)
}

fn apply_modes(findings: &mut Vec<Finding>, cfg: &AnalysisConfig) {
    if cfg.rule_modes.is_empty() {
        return;
    }
    findings.retain_mut(|f| match cfg.rule_modes.get(&f.rule) {
        Some(RuleMode::Off) => false,
        Some(RuleMode::Severity(s)) => {
            f.severity = *s;
            true
        }
        None => true,
    });
}

fn decide(
    stmt: &Stmt,
    findings: &[Finding],
    facts: &Facts,
    tx: &TxView,
) -> (Option<crate::plan::Plan>, Verdict) {
    let errors: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect();
    if errors.is_empty() {
        let verdict = if findings.iter().any(|f| f.severity == Severity::Warning) {
            Verdict::Warn
        } else {
            Verdict::Allow
        };
        return (None, verdict);
    }
    let all_plannable = errors.iter().all(|f| PLANNABLE.contains(&f.rule));
    let plan = if errors.iter().any(|f| PLANNABLE.contains(&f.rule)) {
        crate::plan::build(stmt, facts)
    } else {
        None
    };
    let verdict = match &plan {
        Some(p) if all_plannable && p.runnable_in(tx) => Verdict::Rewrite,
        _ => Verdict::Block,
    };
    (plan, verdict)
}

/// Transaction state across the statements of one text.
struct Tracker {
    view: TxView,
    session_lock_timeout: Option<u64>,
    session_statement_timeout: Option<u64>,
    /// Savepoints set in the text, with the transaction as it stood then.
    savepoints: Savepoints<TxView>,
}

impl Tracker {
    /// `ROLLBACK TO` undoes what ran after the savepoint, locks and `SET LOCAL` included
    /// (<https://www.postgresql.org/docs/current/sql-rollback-to.html>); `RELEASE` forgets it
    /// and the later ones.
    fn savepoint(&mut self, text: &str) {
        let Some(cmd) = crate::session::savepoint(text) else {
            return;
        };
        let view = &self.view;
        if let Some(saved) = self.savepoints.apply(&cmd, || view.clone()) {
            self.view = saved.clone();
        }
    }

    fn end_tx(&mut self) {
        self.savepoints.clear();
        let v = &mut self.view;
        v.in_block = false;
        v.created_in_tx.clear();
        v.access_exclusive_held.clear();
        v.not_valid_added.clear();
        v.lock_timeout_ms = self.session_lock_timeout;
        v.statement_timeout_ms = self.session_statement_timeout;
    }

    fn after(&mut self, stmt: &Stmt, fx: &Effects) {
        match stmt {
            Stmt::Tx(TxCommand::Begin) => self.view.in_block = true,
            Stmt::Tx(TxCommand::Commit | TxCommand::Rollback) => {
                self.end_tx();
                return;
            }
            // The transaction ends and a new one begins at once.
            Stmt::Tx(TxCommand::CommitAndChain | TxCommand::RollbackAndChain) => {
                self.end_tx();
                self.view.in_block = true;
                return;
            }
            Stmt::Set {
                name,
                value_ms,
                local,
            } if name == "lock_timeout" => {
                self.view.lock_timeout_ms = *value_ms;
                if !*local {
                    self.session_lock_timeout = *value_ms;
                }
            }
            Stmt::Set {
                name,
                value_ms,
                local,
            } if name == "statement_timeout" => {
                self.view.statement_timeout_ms = *value_ms;
                if !*local {
                    self.session_statement_timeout = *value_ms;
                }
            }
            Stmt::Reset { name } if name == "lock_timeout" => {
                self.view.lock_timeout_ms = None;
                self.session_lock_timeout = None;
            }
            Stmt::Reset { name } if name == "statement_timeout" => {
                self.view.statement_timeout_ms = None;
                self.session_statement_timeout = None;
            }
            Stmt::Reset { name } if name == "all" => {
                self.view.lock_timeout_ms = None;
                self.session_lock_timeout = None;
                self.view.statement_timeout_ms = None;
                self.session_statement_timeout = None;
            }
            Stmt::CreateTable { .. } | Stmt::CreateIndex { name: Some(_), .. } => {
                self.view.created_in_tx.extend(stmt.created_relation());
            }
            Stmt::AlterTable { table, actions } => {
                for a in actions {
                    if let AlterAction::AddConstraint {
                        constraint,
                        not_valid: true,
                    } = a
                    {
                        if let (Some(n), false) = (
                            &constraint.name,
                            matches!(constraint.kind, ConstraintKind::Exclude),
                        ) {
                            self.view.not_valid_added.insert((table.clone(), n.clone()));
                        }
                    }
                }
            }
            _ => {}
        }
        if self.view.in_transaction() {
            for (rel, mode) in &fx.locks {
                if *mode == LockMode::AccessExclusive {
                    self.view.access_exclusive_held.insert(rel.clone());
                }
            }
        } else {
            // Autocommit: the statement's own transaction ended; new tables stay "new" for the
            // rest of the script (they are empty), but locks are released.
            self.view.access_exclusive_held.clear();
            self.view.not_valid_added.clear();
        }
    }
}
