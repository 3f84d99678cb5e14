//! JSON and SARIF 2.1.0 output (OASIS SARIF v2.1.0, §3.13 `run`, §3.27 `result`).

use super::LintReport;
use crate::decision::Severity;
use crate::rules::RULES;
use serde_json::{json, Value};

/// JSON: an array of `{file, line, column, end_line, end_column, level, rule, message, help,
/// docs, verdict}` (`docs`: the rule's page, `docs/rules/<id>.md`, repository-relative), and
/// `scopes` for a policy scope's finding (`rule` = `policy-scope`, `lint --config`).
#[must_use]
pub fn json(report: &LintReport) -> String {
    let items: Vec<Value> = with_lines(report)
        .map(|(f, lines, d)| {
            let mut item = json!({
                "file": f.path,
                "line": d.start.line,
                "column": d.start.column,
                "end_line": d.end.line,
                "end_column": d.end.column,
                "level": d.severity.as_str(),
                "rule": d.id(),
                "message": d.message,
                "help": d.help,
                "docs": report.link(d),
                "verdict": d.verdict,
            });
            if !d.scopes.is_empty() {
                item["scopes"] = json!(d.scopes);
            }
            if let Some(fix) = &d.fix {
                item["fix"] = json!({
                    "title": fix.title,
                    "edits": edits(&lines, fix),
                });
            }
            item
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned())
}

/// Every diagnostic with its file and that file's line index (built once per file).
fn with_lines(
    report: &LintReport,
) -> impl Iterator<
    Item = (
        &super::FileReport,
        std::rc::Rc<super::LineIndex<'_>>,
        &super::Diagnostic,
    ),
> {
    report.files.iter().flat_map(|f| {
        let lines = std::rc::Rc::new(super::LineIndex::new(&f.source));
        f.diagnostics.iter().map(move |d| (f, lines.clone(), d))
    })
}

/// A fix's edits with line and column positions (1-based, columns in characters).
fn edits(lines: &super::LineIndex<'_>, fix: &super::Fix) -> Vec<Value> {
    fix.edits
        .iter()
        .map(|e| {
            let (a, b) = (lines.position(e.range.start), lines.position(e.range.end));
            json!({
                "line": a.line, "column": a.column,
                "end_line": b.line, "end_column": b.column,
                "text": e.text,
            })
        })
        .collect()
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0 log with one run, the whole rule catalogue as `tool.driver.rules`.
///
/// Each rule's `help` names its documentation page, `docs/rules/<id>.md` in the ddlgate
/// repository; with a docs base URL (`--docs-url`) it is also the rule's `helpUri`, which SARIF
/// requires to be absolute (§3.49.12).
#[must_use]
pub fn sarif(report: &LintReport) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            let docs = r.id.docs_path();
            let mut rule = json!({
                "id": r.id.as_str(),
                "shortDescription": { "text": r.summary },
                "help": {
                    "text": format!("See {docs} in the ddlgate repository."),
                    "markdown": format!("See [`{docs}`]({docs}) in the ddlgate repository."),
                },
                "properties": { "docs": docs },
                "defaultConfiguration": { "level": level(r.severity) },
            });
            if let Some(base) = &report.docs_url {
                rule["helpUri"] = json!(format!("{}/{docs}", base.trim_end_matches('/')));
            }
            rule
        })
        .collect();
    let results: Vec<Value> = with_lines(report)
        .map(|(f, lines, d)| {
            let mut result = json!({
                "ruleId": d.id(),
                "level": level(d.severity),
                "message": { "text": format!("{}\nhelp: {}", d.message, d.help) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": f.path },
                        "region": {
                            "startLine": d.start.line,
                            "startColumn": d.start.column,
                            "endLine": d.end.line,
                            "endColumn": d.end.column,
                        }
                    }
                }],
            });
            if let Some(rule) = d.rule {
                result["ruleIndex"] = json!(rule as usize);
            }
            if let Some(fix) = &d.fix {
                let replacements: Vec<Value> = edits(&lines, fix)
                    .into_iter()
                    .map(|e| {
                        json!({
                            "deletedRegion": {
                                "startLine": e["line"], "startColumn": e["column"],
                                "endLine": e["end_line"], "endColumn": e["end_column"],
                            },
                            "insertedContent": { "text": e["text"] },
                        })
                    })
                    .collect();
                result["fixes"] = json!([{
                    "description": { "text": fix.title },
                    "artifactChanges": [{
                        "artifactLocation": { "uri": f.path },
                        "replacements": replacements,
                    }],
                }]);
            }
            if !d.scopes.is_empty() {
                result["properties"] = json!({ "scopes": d.scopes });
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "ddlgate",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_owned())
}
