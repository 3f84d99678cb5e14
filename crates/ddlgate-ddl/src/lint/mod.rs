//! `ddlgate lint` and `ddlgate plan` as pure functions: the binary reads files and prints;
//! everything else is here. Inputs are `(path, contents)` pairs; outputs are a
//! [`LintReport`], rendered by [`render`] in one of four [`Format`]s, and an exit status.

mod fixes;
mod format;
mod lines;
mod locate;
mod plan_text;
mod sarif;
pub mod schema;
pub mod sending;

pub use fixes::{Edit, Fix};
pub use plan_text::render_plan;
pub use schema::Schema;
pub use sending::{Sending, SentAs, Tool};

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
    /// How files are sent (`--tool`, `--sent-as`; markers in the files).
    pub sending: Sending,
    /// SQL whose effect on the schema is replayed before the first file (`--schema`).
    pub schema_sql: Vec<String>,
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
            sending: Sending::default(),
            schema_sql: Vec::new(),
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

pub use lines::LineIndex;

/// The position of byte `offset` in `src` (a scan from the start: for many positions in one
/// text, use a [`LineIndex`]).
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
    /// The analyser's rule; `None` for a policy scope's finding.
    pub rule: Option<RuleId>,
    /// The `[[policy.scope]]` names behind a policy finding (`lint --config`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
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
    /// A suggested fix, when the remedy is mechanical.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

/// The id a policy scope's finding is reported under.
pub const POLICY_SCOPE: &str = "policy-scope";

impl Diagnostic {
    /// The rule id shown: the analyser's rule, or [`POLICY_SCOPE`].
    #[must_use]
    pub fn id(&self) -> &'static str {
        self.rule.map_or(POLICY_SCOPE, RuleId::as_str)
    }

    /// The documentation page, repository-relative.
    #[must_use]
    pub fn docs(&self) -> String {
        self.rule.map_or_else(
            || "README.md#central-policy-who-may-run-what-where".to_owned(),
            |r| r.docs_path(),
        )
    }
}

/// What a gateway configuration does with one statement (`ddlgate lint --config`): its
/// verdict, and the scopes that made it stricter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyOutcome {
    /// What the gateway does with the statement.
    pub verdict: Verdict,
    /// A policy finding to report (scopes that refuse, hold or warn), if any.
    pub scope: Option<ScopeFinding>,
}

/// A policy scope's finding on one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeFinding {
    /// The scopes.
    pub names: Vec<String>,
    /// How serious.
    pub severity: Severity,
    /// What happens.
    pub message: String,
    /// What to do.
    pub help: String,
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
    /// What the policy does with each statement: the analyser's verdict, or the gateway
    /// configuration's (`lint --config`).
    #[serde(skip)]
    pub verdicts: Vec<Verdict>,
    /// The file contents (for carets).
    #[serde(skip)]
    pub source: String,
}

/// The lint result for all files.
#[derive(Debug, Clone, Serialize)]
pub struct LintReport {
    /// Files, in input order.
    pub files: Vec<FileReport>,
    /// Base URL the repository-relative docs paths are joined to (`--docs-url`), so that
    /// every finding links to its page; `None`: the paths as they are.
    #[serde(skip)]
    pub docs_url: Option<String>,
}

impl LintReport {
    /// Where a finding's documentation is: `docs/rules/<id>.md` under the docs base URL.
    #[must_use]
    pub fn link(&self, d: &Diagnostic) -> String {
        match &self.docs_url {
            Some(base) => format!("{}/{}", base.trim_end_matches('/'), d.docs()),
            None => d.docs(),
        }
    }

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
        self.stopped() > 0
    }

    /// How many statements the policy would block or rewrite.
    #[must_use]
    pub fn stopped(&self) -> usize {
        self.files
            .iter()
            .flat_map(|f| &f.verdicts)
            .filter(|v| matches!(v, Verdict::Block | Verdict::Rewrite))
            .count()
    }

    /// Replaces each statement's verdict by what `policy` says of it (given its text and
    /// decision), adding the policy's findings in statement order.
    pub fn apply_policy(&mut self, policy: impl Fn(&str, &Decision) -> PolicyOutcome) {
        for f in &mut self.files {
            let lines = LineIndex::new(&f.source);
            let mut diagnostics = Vec::with_capacity(f.diagnostics.len());
            let mut rest = std::mem::take(&mut f.diagnostics).into_iter().peekable();
            for (i, d) in f.decisions.iter().enumerate() {
                let outcome = policy(d.text(&f.source), d);
                f.verdicts[i] = outcome.verdict;
                while let Some(x) = rest.next_if(|x| within(&x.span, &d.span)) {
                    diagnostics.push(Diagnostic {
                        verdict: outcome.verdict,
                        ..x
                    });
                }
                if let Some(sc) = outcome.scope {
                    diagnostics.push(Diagnostic {
                        rule: None,
                        scopes: sc.names,
                        severity: sc.severity,
                        message: sc.message,
                        help: sc.help,
                        verdict: outcome.verdict,
                        span: d.span.clone(),
                        start: lines.position(d.span.start),
                        end: lines.position(d.span.end),
                        fix: None,
                    });
                }
            }
            diagnostics.extend(rest);
            f.diagnostics = diagnostics;
        }
    }

    /// Process exit status: 1 when [`Self::should_fail`], else 0.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        i32::from(self.should_fail())
    }
}

/// Lint `(path, contents)` pairs. Each file is cut into the parts that run as units
/// ([`sending::parts`]: by default the whole file, statement by statement, as `psql -f` sends
/// it), each analysed under `opts.facts` with its own submission and transaction state.
#[must_use]
pub fn lint(files: &[(&str, &str)], opts: &LintOptions) -> LintReport {
    let cfg = AnalysisConfig {
        honor_suppressions: true,
        ..opts.cfg.clone()
    };
    // The schema the files build, in order, from what `--schema` and the catalog gave.
    let mut schema = Schema::new(opts.facts.clone());
    for sql in &opts.schema_sql {
        // A migration file given as schema counts for its up section only.
        for part in sending::parts(sql, Sending::default(), &opts.facts) {
            schema.replay_sql(sql.get(part.range).unwrap_or(""));
        }
    }
    let files = files
        .iter()
        .filter(|(path, _)| !opts.sending.tool.is_some_and(|t| t.skips(path)))
        .map(|(path, src)| {
            let decisions = analyze_file(src, opts, &mut schema, &file_config(src, &cfg));
            let lines = LineIndex::new(src);
            let diagnostics = decisions
                .iter()
                .flat_map(|d| {
                    d.findings.iter().map(|f| {
                        let span = finding_span(src, d, f);
                        Diagnostic {
                            rule: Some(f.rule),
                            scopes: Vec::new(),
                            severity: f.severity,
                            message: f.message.clone(),
                            help: f.help.clone(),
                            verdict: d.verdict,
                            start: lines.position(span.start),
                            end: lines.position(span.end),
                            span,
                            fix: fixes::fix(src, d, f),
                        }
                    })
                })
                .collect();
            FileReport {
                path: (*path).to_owned(),
                diagnostics,
                verdicts: decisions.iter().map(|d| d.verdict).collect(),
                decisions,
                source: (*src).to_owned(),
            }
        })
        .collect();
    LintReport {
        files,
        docs_url: None,
    }
}

/// Whether a finding's span lies in its statement's.
fn within(inner: &Range<usize>, outer: &Range<usize>) -> bool {
    inner.start >= outer.start && inner.end <= outer.end
}

/// Where a finding is in the file: the definition of the column it is about, or else its
/// statement.
fn finding_span(src: &str, d: &Decision, f: &crate::Finding) -> Range<usize> {
    f.column
        .as_deref()
        .and_then(|c| locate::column_span(d.text(src), c))
        .map_or_else(
            || d.span.clone(),
            |r| r.start + d.span.start..r.end + d.span.start,
        )
}

/// `cfg` with the rules a file's `-- squawk-ignore-file` comments silence turned off.
fn file_config(src: &str, cfg: &AnalysisConfig) -> AnalysisConfig {
    let ignored = crate::suppress::file_ignores(src);
    let mut cfg = cfg.clone();
    for rule in crate::RULES.iter().map(|r| r.id) {
        if ignored.iter().any(|i| i.is_none_or(|r| r == rule)) {
            cfg.rule_modes.insert(rule, crate::RuleMode::Off);
        }
    }
    cfg
}

/// The decisions for one file, part by part, with spans in the file.
fn analyze_file(
    src: &str,
    opts: &LintOptions,
    schema: &mut Schema,
    cfg: &AnalysisConfig,
) -> Vec<Decision> {
    let mut out = Vec::new();
    for part in sending::parts(src, opts.sending, &opts.facts) {
        let facts = schema.facts_mut();
        facts.submission = part.submission;
        facts.tx_state = match opts.facts.tx_state {
            TxState::Idle => part.tx,
            assumed => assumed,
        };
        let text = src.get(part.range.clone()).unwrap_or("");
        for mut d in analyze_part(text, part.submission, schema, cfg) {
            d.span = d.span.start + part.range.start..d.span.end + part.range.start;
            out.push(d);
        }
    }
    out
}

/// One part's decisions. A part sent as one Query is decided as the gateway decides such a
/// string ([`crate::as_sent`]).
fn analyze_part(
    text: &str,
    submission: crate::facts::Submission,
    schema: &mut Schema,
    cfg: &AnalysisConfig,
) -> Vec<Decision> {
    use crate::facts::Submission;
    if submission != Submission::OneQuery {
        return crate::analyze_replaying(text, schema, cfg);
    }
    let one_by_one = |s: &mut Schema| s.facts_mut().submission = Submission::StatementByStatement;
    crate::as_sent::analyze_query_replaying(text, schema, one_by_one, cfg)
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
