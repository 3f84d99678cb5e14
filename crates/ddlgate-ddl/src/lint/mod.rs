//! `ddlgate lint` and `ddlgate plan` as pure functions: the binary reads files and prints;
//! everything else is here. Inputs are `(path, contents)` pairs; outputs are a
//! [`LintReport`], rendered by [`render`] in one of four [`Format`]s, and an exit status.

mod format;
mod plan_text;
mod sarif;

pub use plan_text::render_plan;

use crate::decision::{Decision, Severity, Verdict};
use crate::facts::{Facts, TxState};
use crate::rules::{AnalysisConfig, RuleId};
use serde::Serialize;
use std::ops::Range;

/// Linter options (the CLI flags).
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Facts to analyse under (server version, transaction state, submission mode).
    pub facts: Facts,
    /// Analysis configuration (suppressions are always honoured by the linter).
    pub cfg: AnalysisConfig,
}

impl LintOptions {
    /// `--pg-version <major>` and `--assume-in-transaction`.
    #[must_use]
    pub fn new(pg_major: u32, assume_in_transaction: bool) -> Self {
        let mut facts = Facts::for_major(pg_major);
        if assume_in_transaction {
            facts.tx_state = TxState::InBlock;
        }
        LintOptions {
            facts,
            cfg: AnalysisConfig::default(),
        }
    }
}

/// A 1-based line/column position (column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1, in characters.
    pub column: usize,
}

/// The position of byte `offset` in `src`.
#[must_use]
pub fn position(src: &str, offset: usize) -> Position {
    let offset = offset.min(src.len());
    let before = src.get(..offset).unwrap_or(src);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    let column = before
        .get(line_start..)
        .map_or(1, |s| s.chars().count() + 1);
    Position { line, column }
}

/// One finding located in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Rule.
    pub rule: RuleId,
    /// Severity.
    pub severity: Severity,
    /// Message.
    pub message: String,
    /// Help.
    pub help: String,
    /// Verdict of the statement.
    pub verdict: Verdict,
    /// Byte span of the statement.
    pub span: Range<usize>,
    /// Start position.
    pub start: Position,
    /// End position.
    pub end: Position,
}

/// The lint result for one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Path as given.
    pub path: String,
    /// Diagnostics, in statement order.
    pub diagnostics: Vec<Diagnostic>,
    /// Per-statement decisions.
    #[serde(skip)]
    pub decisions: Vec<Decision>,
    /// The file contents (for carets).
    #[serde(skip)]
    pub source: String,
}

/// The lint result for all files.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    /// Files, in input order.
    pub files: Vec<FileReport>,
}

impl LintReport {
    /// All diagnostics with their file.
    pub fn diagnostics(&self) -> impl Iterator<Item = (&FileReport, &Diagnostic)> {
        self.files
            .iter()
            .flat_map(|f| f.diagnostics.iter().map(move |d| (f, d)))
    }

    /// Count diagnostics of `severity`.
    #[must_use]
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics()
            .filter(|(_, d)| d.severity == severity)
            .count()
    }

    /// Would any statement be blocked or rewritten under the policy? (Warnings alone: no.)
    #[must_use]
    pub fn should_fail(&self) -> bool {
        self.files.iter().any(|f| {
            f.decisions
                .iter()
                .any(|d| matches!(d.verdict, Verdict::Block | Verdict::Rewrite))
        })
    }

    /// Process exit status: 1 when [`Self::should_fail`], else 0.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        i32::from(self.should_fail())
    }
}

/// Lint `(path, contents)` pairs. Each file is analysed as one text under `opts.facts`
/// (by default as one simple Query, as sqlx and golang-migrate send it).
#[must_use]
pub fn lint(files: &[(&str, &str)], opts: &LintOptions) -> LintReport {
    let cfg = AnalysisConfig {
        honor_suppressions: true,
        ..opts.cfg.clone()
    };
    let files = files
        .iter()
        .map(|(path, src)| {
            let decisions = crate::analyze(src, &opts.facts, &cfg);
            let diagnostics = decisions
                .iter()
                .flat_map(|d| {
                    d.findings.iter().map(|f| Diagnostic {
                        rule: f.rule,
                        severity: f.severity,
                        message: f.message.clone(),
                        help: f.help.clone(),
                        verdict: d.verdict,
                        span: d.span.clone(),
                        start: position(src, d.span.start),
                        end: position(src, d.span.end),
                    })
                })
                .collect();
            FileReport {
                path: (*path).to_owned(),
                diagnostics,
                decisions,
                source: (*src).to_owned(),
            }
        })
        .collect();
    LintReport { files }
}

/// Output formats of `ddlgate lint --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// rustc-like text with carets.
    Text,
    /// JSON array of diagnostics.
    Json,
    /// SARIF 2.1.0.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…`).
    Github,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "github" => Ok(Format::Github),
            other => Err(format!(
                "unknown format `{other}` (text, json, sarif, github)"
            )),
        }
    }
}

/// Render a report.
#[must_use]
pub fn render(report: &LintReport, format: Format) -> String {
    match format {
        Format::Text => format::text(report),
        Format::Github => format::github(report),
        Format::Json => sarif::json(report),
        Format::Sarif => sarif::sarif(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        let s = "ab\ncdé\nf";
        assert_eq!(position(s, 0), Position { line: 1, column: 1 });
        assert_eq!(position(s, 3), Position { line: 2, column: 1 });
        assert_eq!(position(s, s.len()), Position { line: 3, column: 2 });
        assert_eq!(position(s, 8), Position { line: 3, column: 1 });
    }
}
