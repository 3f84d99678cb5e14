//! How a migration file reaches the server: which parts of it run (a tool's "up" section, a
//! changeset), statement by statement or as one multi-statement Query, and inside a
//! transaction the tool opens or not. The linter judges each part as it will really run: a
//! `CREATE INDEX CONCURRENTLY` is an error in a wrapped or multi-statement part and fine on its
//! own.
//!
//! Markers are honoured in every file whatever the tool (they are unambiguous): goose's
//! `-- +goose Up|Down|NO TRANSACTION`, dbmate's `-- migrate:up [transaction:false]` and
//! `-- migrate:down`, Liquibase's `--liquibase formatted sql` with `--changeset …
//! [runInTransaction:false] [splitStatements:false]`, sqlx's first-line `-- no-transaction`.

use std::ops::Range;

use crate::facts::{Facts, Submission, TxState};

/// How statements are sent (`--sent-as`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SentAs {
    /// One at a time, as `psql -f` does: each outside `BEGIN … COMMIT` is its own transaction.
    Statements,
    /// The whole part as one simple Query: its statements form one implicit transaction.
    Script,
}

impl std::str::FromStr for SentAs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "statements" => Ok(Self::Statements),
            "script" => Ok(Self::Script),
            other => Err(format!("unknown --sent-as `{other}` (statements, script)")),
        }
    }
}

impl SentAs {
    fn submission(self) -> Submission {
        match self {
            Self::Statements => Submission::StatementByStatement,
            Self::Script => Submission::OneQuery,
        }
    }
}

/// Migration tools whose way of sending files `--tool` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `psql -f`: statements, no transaction of its own (the file's `BEGIN` is honoured).
    Psql,
    /// Flyway: statements, the file in a transaction unless it holds a statement that cannot
    /// run in one (then, as Flyway does, without).
    Flyway,
    /// Liquibase formatted SQL: each changeset in a transaction unless
    /// `runInTransaction:false`.
    LiquibaseSql,
    /// goose: the Up section, statements, in a transaction unless `-- +goose NO TRANSACTION`.
    Goose,
    /// dbmate: the up section as one Query, in a transaction unless `transaction:false`.
    Dbmate,
    /// golang-migrate: the file as one Query, no transaction of its own.
    GolangMigrate,
    /// sqlx: the file as one Query in a transaction, unless it starts `-- no-transaction`.
    Sqlx,
    /// Django's `sqlmigrate` output (it prints its own `BEGIN`/`COMMIT`).
    Django,
    /// Alembic's `--sql` output (it prints its own `BEGIN`/`COMMIT`).
    Alembic,
    /// Rails: statements in the migration's transaction (`disable_ddl_transaction!` aside).
    Rails,
}

impl std::str::FromStr for Tool {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "psql" => Self::Psql,
            "flyway" => Self::Flyway,
            "liquibase-sql" | "liquibase" => Self::LiquibaseSql,
            "goose" => Self::Goose,
            "dbmate" => Self::Dbmate,
            "golang-migrate" | "migrate" => Self::GolangMigrate,
            "sqlx" => Self::Sqlx,
            "django" => Self::Django,
            "alembic" => Self::Alembic,
            "rails" => Self::Rails,
            other => {
                return Err(format!(
                    "unknown --tool `{other}` (psql, flyway, liquibase-sql, goose, dbmate, golang-migrate, sqlx, django, alembic, rails)"
                ))
            }
        })
    }
}

/// Whether the tool opens a transaction around a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrap {
    /// No transaction of the tool's.
    Bare,
    /// `BEGIN` before the part, `COMMIT` after.
    Transaction,
    /// Flyway: a transaction unless the part holds a statement that cannot run in one.
    UnlessNonTransactional,
}

impl Tool {
    /// How the tool sends a file with no marker of its own.
    fn defaults(self) -> (SentAs, Wrap) {
        match self {
            Self::Psql | Self::Django | Self::Alembic => (SentAs::Statements, Wrap::Bare),
            Self::Flyway => (SentAs::Statements, Wrap::UnlessNonTransactional),
            Self::LiquibaseSql | Self::Goose | Self::Rails => {
                (SentAs::Statements, Wrap::Transaction)
            }
            Self::Dbmate | Self::Sqlx => (SentAs::Script, Wrap::Transaction),
            Self::GolangMigrate => (SentAs::Script, Wrap::Bare),
        }
    }

    /// Files the tool runs only to undo (`*.down.sql` of golang-migrate, sqlx, dbmate-style
    /// pairs): not linted as migrations forward.
    #[must_use]
    pub fn skips(self, path: &str) -> bool {
        matches!(self, Self::GolangMigrate | Self::Sqlx) && path.ends_with(".down.sql")
    }
}

/// What the linter was told about sending (the CLI flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sending {
    /// `--tool`.
    pub tool: Option<Tool>,
    /// `--sent-as`: overrides the tool's.
    pub sent_as: Option<SentAs>,
}

/// One part of a file that runs as a unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Byte range in the file.
    pub range: Range<usize>,
    /// How its statements are sent.
    pub submission: Submission,
    /// The transaction state it starts in.
    pub tx: TxState,
}

/// The file's parts, in order. `facts` gives the server version (for Flyway's test of what
/// cannot run in a transaction).
#[must_use]
pub fn parts(src: &str, sending: Sending, facts: &Facts) -> Vec<Part> {
    let lines = marker_lines(src);
    let first = lines.first().map(|l| l.text.to_ascii_lowercase());
    let (sections, tool_default) = if let Some(s) = goose(src, &lines) {
        (s, Tool::Goose)
    } else if let Some(s) = dbmate(src, &lines) {
        (s, Tool::Dbmate)
    } else if first.as_deref().is_some_and(is_liquibase_header) {
        (liquibase(src, &lines), Tool::LiquibaseSql)
    } else {
        let tool = sending.tool.unwrap_or(Tool::Psql);
        let mut wrap = tool.defaults().1;
        if tool == Tool::Sqlx && first.as_deref() == Some("-- no-transaction") {
            wrap = Wrap::Bare;
        }
        (
            vec![Section {
                range: 0..src.len(),
                sent_as: None,
                wrap: Some(wrap),
            }],
            tool,
        )
    };
    let (default_sent_as, default_wrap) = tool_default.defaults();
    sections
        .into_iter()
        .map(|s| {
            let sent_as = sending.sent_as.or(s.sent_as).unwrap_or(default_sent_as);
            let text = src.get(s.range.clone()).unwrap_or("");
            let wrapped = match s.wrap.unwrap_or(default_wrap) {
                Wrap::Bare => false,
                Wrap::Transaction => true,
                Wrap::UnlessNonTransactional => !holds_non_transactional(text, facts),
            };
            Part {
                range: s.range,
                submission: sent_as.submission(),
                tx: if wrapped {
                    TxState::InBlock
                } else {
                    TxState::Idle
                },
            }
        })
        .collect()
}

/// A section a marker delimits, with what its marker says.
struct Section {
    range: Range<usize>,
    sent_as: Option<SentAs>,
    wrap: Option<Wrap>,
}

/// A line that is a `--` comment: its text (trimmed) and byte range, newline included.
struct Line<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

/// The file's comment lines (the only ones markers live on).
fn marker_lines(src: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in src.split_inclusive('\n') {
        let text = line.trim();
        if text.starts_with("--") {
            out.push(Line {
                text,
                start,
                end: start + line.len(),
            });
        }
        start += line.len();
    }
    out
}

/// The command of a `-- +goose CMD` line, lower-case.
fn goose_command(text: &str) -> Option<String> {
    let rest = text.strip_prefix("--")?.trim_start();
    let cmd = rest.strip_prefix("+goose")?;
    Some(cmd.trim().to_ascii_lowercase())
}

/// goose: the Up section (to `-- +goose Down`), wrapped unless `NO TRANSACTION`.
fn goose(src: &str, lines: &[Line<'_>]) -> Option<Vec<Section>> {
    let up = lines
        .iter()
        .find(|l| goose_command(l.text).as_deref() == Some("up"))?;
    let down = lines
        .iter()
        .find(|l| l.start > up.start && goose_command(l.text).as_deref() == Some("down"))
        .map_or(src.len(), |l| l.start);
    let bare = lines
        .iter()
        .any(|l| goose_command(l.text).as_deref() == Some("no transaction"));
    Some(vec![Section {
        range: up.end..down,
        sent_as: None,
        wrap: Some(if bare { Wrap::Bare } else { Wrap::Transaction }),
    }])
}

/// The options of a `-- migrate:up …` line, when it is one.
fn dbmate_up(text: &str) -> Option<&str> {
    text.strip_prefix("--")?
        .trim_start()
        .strip_prefix("migrate:up")
}

/// dbmate: the up section (to `-- migrate:down`), wrapped unless `transaction:false`.
fn dbmate(src: &str, lines: &[Line<'_>]) -> Option<Vec<Section>> {
    let (up, options) = lines
        .iter()
        .find_map(|l| dbmate_up(l.text).map(|o| (l, o)))?;
    let down = lines
        .iter()
        .find(|l| {
            l.start > up.start
                && l.text
                    .strip_prefix("--")
                    .is_some_and(|t| t.trim_start().starts_with("migrate:down"))
        })
        .map_or(src.len(), |l| l.start);
    let bare = options
        .split_whitespace()
        .any(|o| o.eq_ignore_ascii_case("transaction:false"));
    Some(vec![Section {
        range: up.end..down,
        sent_as: None,
        wrap: Some(if bare { Wrap::Bare } else { Wrap::Transaction }),
    }])
}

fn is_liquibase_header(first: &str) -> bool {
    first
        .strip_prefix("--")
        .is_some_and(|t| t.trim_start().starts_with("liquibase formatted sql"))
}

/// Liquibase formatted SQL: one section per `--changeset`.
fn liquibase(src: &str, lines: &[Line<'_>]) -> Vec<Section> {
    let heads: Vec<&Line<'_>> = lines
        .iter()
        .filter(|l| {
            l.text
                .strip_prefix("--")
                .is_some_and(|t| t.trim_start().starts_with("changeset "))
        })
        .collect();
    heads
        .iter()
        .enumerate()
        .map(|(i, head)| {
            let end = heads.get(i + 1).map_or(src.len(), |next| next.start);
            let set_false = |name: &str| {
                head.text.split_whitespace().find_map(|w| {
                    let (k, v) = w.split_once(':')?;
                    k.eq_ignore_ascii_case(name)
                        .then(|| v.eq_ignore_ascii_case("false"))
                })
            };
            Section {
                range: head.end..end,
                sent_as: (set_false("splitStatements") == Some(true)).then_some(SentAs::Script),
                wrap: Some(if set_false("runInTransaction") == Some(true) {
                    Wrap::Bare
                } else {
                    Wrap::Transaction
                }),
            }
        })
        .collect()
}

/// Whether `text` holds a statement that "cannot run inside a transaction block".
fn holds_non_transactional(text: &str, facts: &Facts) -> bool {
    let idle = Facts {
        tx_state: TxState::Idle,
        submission: Submission::StatementByStatement,
        ..facts.clone()
    };
    crate::split(text).iter().any(|seg| {
        seg.stmt.clone().is_some_and(|span| {
            let (_, stmt) = crate::parse_statement(text.get(span).unwrap_or(""));
            crate::model::effects(&stmt, &idle).outside_tx_only
        })
    })
}

#[cfg(test)]
mod tests;
