//! JSON and SARIF 2.1.0 output (OASIS SARIF v2.1.0, §3.13 `run`, §3.27 `result`).

use super::LintReport;
use crate::decision::Severity;
use crate::rules::RULES;
use serde_json::{json, Value};

/// JSON: an array of `{file, line, column, end_line, end_column, level, rule, message, help,
/// verdict}`.
#[must_use]
pub fn json(report: &LintReport) -> String {
    let items: Vec<Value> = report
        .diagnostics()
        .map(|(f, d)| {
            json!({
                "file": f.path,
                "line": d.start.line,
                "column": d.start.column,
                "end_line": d.end.line,
                "end_column": d.end.column,
                "level": d.severity.as_str(),
                "rule": d.rule.as_str(),
                "message": d.message,
                "help": d.help,
                "verdict": d.verdict,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".to_owned())
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0 log with one run, the whole rule catalogue as `tool.driver.rules`.
#[must_use]
pub fn sarif(report: &LintReport) -> String {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|r| {
            json!({
                "id": r.id.as_str(),
                "shortDescription": { "text": r.summary },
                "helpUri": format!("https://ddlgate.invalid/rules/{}", r.id),
                "defaultConfiguration": { "level": level(r.severity) },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .diagnostics()
        .map(|(f, d)| {
            json!({
                "ruleId": d.rule.as_str(),
                "ruleIndex": d.rule as usize,
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
            })
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "ddlgate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://ddlgate.invalid",
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&log).unwrap_or_else(|_| "{}".to_owned())
}
