//! Text (rustc-like) and GitHub Actions annotation output.

use super::{Diagnostic, FileReport, LineIndex, LintReport};
use crate::decision::Severity;
use std::fmt::Write as _;

fn label(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn one(out: &mut String, f: &FileReport, lines: &LineIndex<'_>, (d, link): (&Diagnostic, String)) {
    let _ = writeln!(out, "{}[{}]: {}", label(d.severity), d.id(), d.message);
    let _ = writeln!(out, "  --> {}:{}:{}", f.path, d.start.line, d.start.column);
    let width = d.end.line.to_string().len();
    let pad = " ".repeat(width);
    let _ = writeln!(out, "{pad} |");
    let last = d.end.line.min(d.start.line + 2);
    for ln in d.start.line..=last {
        let Some(text) = lines.line(ln) else { break };
        let _ = writeln!(out, "{ln:>width$} | {text}");
        let (from, to) = if ln == d.start.line && ln == d.end.line {
            (d.start.column, d.end.column)
        } else if ln == d.start.line {
            (d.start.column, text.chars().count() + 1)
        } else if ln == d.end.line {
            (1, d.end.column)
        } else {
            (1, text.chars().count() + 1)
        };
        let carets = "^".repeat(to.saturating_sub(from).max(1));
        let _ = writeln!(
            out,
            "{pad} | {}{carets}",
            " ".repeat(from.saturating_sub(1))
        );
    }
    if d.end.line > last {
        let _ = writeln!(out, "{pad} | ...");
    }
    let _ = writeln!(out, "{pad} |");
    let _ = writeln!(out, "{pad} = help: {}", d.help);
    if let Some(fix) = &d.fix {
        let _ = writeln!(out, "{pad} = fix: {}", fix.title);
        let (before, after) = super::fixes::diff(&f.source, fix);
        for l in before {
            let _ = writeln!(out, "{pad} - {l}");
        }
        for l in after {
            let _ = writeln!(out, "{pad} + {l}");
        }
    }
    let _ = writeln!(out, "{pad} = note: see {link}");
    out.push('\n');
}

/// rustc-like text.
#[must_use]
pub fn text(report: &LintReport) -> String {
    let mut out = String::new();
    for f in &report.files {
        let lines = LineIndex::new(&f.source);
        for d in &f.diagnostics {
            one(&mut out, f, &lines, (d, report.link(d)));
        }
    }
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let blocked = report.stopped();
    let _ = writeln!(
        out,
        "{} file(s): {errors} error(s), {warnings} warning(s); {blocked} statement(s) would be blocked or rewritten",
        report.files.len()
    );
    out
}

/// Escape data for a workflow command message.
fn esc_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command property value.
fn esc_prop(s: &str) -> String {
    esc_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub Actions workflow commands, one per diagnostic.
#[must_use]
pub fn github(report: &LintReport) -> String {
    let mut out = String::new();
    for (f, d) in report.diagnostics() {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let _ = writeln!(
            out,
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            esc_prop(&f.path),
            d.start.line,
            d.start.column,
            d.end.line,
            d.end.column,
            esc_prop(d.id()),
            esc_data(&format!(
                "{}\nhelp: {}\nsee {}",
                d.message,
                d.help,
                report.link(d)
            ))
        );
    }
    out
}
