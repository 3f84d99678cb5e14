//! What the gateway decides for a text a client sends as one simple Query: its statements
//! judged as one string (one implicit transaction); when there are several and one of them
//! would be rewritten or blocked, the gateway runs them one by one — and judges them that way,
//! so that a `CONCURRENTLY` plan is not refused for sharing a string with others. `ddlgate
//! plan` shows this decision, the one the gateway makes under the default policy.

use crate::decision::{Decision, Verdict};
use crate::facts::{Facts, Submission};
use crate::rules::AnalysisConfig;

/// The decisions for `sql` sent as one simple Query.
#[must_use]
pub fn analyze_query(sql: &str, facts: &Facts, cfg: &AnalysisConfig) -> Vec<Decision> {
    let decisions = crate::analyze(sql, facts, cfg);
    let acts = |d: &Decision| matches!(d.verdict, Verdict::Rewrite | Verdict::Block);
    if decisions.len() < 2 || !decisions.iter().any(acts) {
        return decisions;
    }
    let one_by_one = Facts {
        submission: Submission::StatementByStatement,
        ..facts.clone()
    };
    let by_one = crate::analyze(sql, &one_by_one, cfg);
    if by_one.iter().any(|d| d.verdict == Verdict::Rewrite) {
        by_one
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
