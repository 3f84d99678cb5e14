//! What the gateway decides for a text a client sends as one simple Query: its statements
//! judged as one string (one implicit transaction); when there are several and one of them
//! would be rewritten or blocked, the gateway runs them one by one — and judges them that way,
//! so that a `CONCURRENTLY` plan is not refused for sharing a string with others. `ddlgate
//! plan` shows this decision, the one the gateway makes under the default policy.

use crate::analyze::Replay;
use crate::decision::{Decision, Verdict};
use crate::facts::{Facts, Submission};
use crate::rules::AnalysisConfig;

/// The decisions for `sql` sent as one simple Query.
#[must_use]
pub fn analyze_query(sql: &str, facts: &Facts, cfg: &AnalysisConfig) -> Vec<Decision> {
    let mut facts = facts.clone();
    analyze_query_replaying(
        sql,
        &mut facts,
        |f| f.submission = Submission::StatementByStatement,
        cfg,
    )
}

/// [`analyze_query`] with facts the statements update (the linter's replayed schema):
/// `one_by_one` switches `replay` to statement-by-statement submission; `replay` is left as the
/// way the gateway runs the string leaves it.
pub fn analyze_query_replaying<R: Replay + Clone>(
    sql: &str,
    replay: &mut R,
    one_by_one: impl FnOnce(&mut R),
    cfg: &AnalysisConfig,
) -> Vec<Decision> {
    let several = crate::split(sql)
        .iter()
        .filter(|s| s.stmt.is_some())
        .count()
        > 1;
    let before = several.then(|| replay.clone());
    let decisions = crate::analyze_replaying(sql, replay, cfg);
    let acts = |d: &Decision| matches!(d.verdict, Verdict::Rewrite | Verdict::Block);
    let Some(mut split_replay) = before.filter(|_| decisions.iter().any(acts)) else {
        return decisions;
    };
    one_by_one(&mut split_replay);
    let split = crate::analyze_replaying(sql, &mut split_replay, cfg);
    if split.iter().any(|d| d.verdict == Verdict::Rewrite) {
        *replay = split_replay;
        split
    } else {
        decisions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_the_gateway_splits_is_judged_statement_by_statement() {
        let sql = "SET lock_timeout = '2s'; CREATE INDEX i ON t (a)";
        let facts = Facts::default();
        let together = crate::analyze(sql, &facts, &AnalysisConfig::default());
        assert_eq!(
            together[1].verdict,
            Verdict::Block,
            "CONCURRENTLY cannot share a string"
        );
        let sent = analyze_query(sql, &facts, &AnalysisConfig::default());
        assert_eq!(
            sent[1].verdict,
            Verdict::Rewrite,
            "the gateway splits it and builds CONCURRENTLY"
        );
        let one = "CREATE INDEX i ON t (a)";
        assert_eq!(
            analyze_query(one, &facts, &AnalysisConfig::default())[0].verdict,
            Verdict::Rewrite
        );
    }
}
