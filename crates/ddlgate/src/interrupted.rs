//! At start, plans a previous run of this gateway left mid-way: the tail of `[log] audit_file`
//! is read for `plan-started` events with no final event of the same plan id (the gateway was
//! killed, or its machine went down, while the plan ran), and each gets its `interrupted`
//! event and a WARN line. One audit file per gateway instance: another live gateway's running
//! plan would look interrupted.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde_json::Value;

/// How much of the end of the audit file is read.
const TAIL_BYTES: u64 = 16 << 20;

/// Events of a plan run that are not its end.
const NOT_FINAL: [&str; 2] = ["plan-started", "step-ended"];

/// The `interrupted` events (JSON lines) for the runs `lines` started and never ended.
fn unfinished(lines: &str, now: &str) -> Vec<Value> {
    let mut open: BTreeMap<String, Value> = BTreeMap::new();
    let mut done: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in lines.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue; // a line cut by the crash, or the tail's first partial line
        };
        let (Some(id), Some(outcome)) = (event["plan_id"].as_str(), event["outcome"].as_str())
        else {
            continue;
        };
        let id = id.to_owned();
        match outcome {
            "plan-started" => {
                open.insert(id, event);
            }
            "step-ended" => done
                .entry(id)
                .or_default()
                .extend(event["steps"].as_array().cloned().unwrap_or_default()),
            _ if !NOT_FINAL.contains(&outcome) => {
                open.remove(&id);
            }
            _ => {}
        }
    }
    open.into_iter()
        .map(|(id, mut event)| {
            event["time"] = Value::from(now);
            event["outcome"] = Value::from("interrupted");
            event["steps"] = Value::from(done.remove(&id).unwrap_or_default());
            event["cause"] = Value::from(
                "the gateway stopped before the plan ended (found when it started again); the steps listed are the ones that ended",
            );
            event
        })
        .collect()
}

/// Emits an `interrupted` event (and a WARN line) for each plan the audit file at `path`
/// shows as started and never ended.
pub fn report(path: &Path) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return;
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if file
        .seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .is_err()
    {
        return;
    }
    let mut bytes = Vec::new();
    if file.read_to_end(&mut bytes).is_err() {
        return;
    }
    let now = ddlgate_proxy::enforce::now_rfc3339();
    for event in unfinished(&String::from_utf8_lossy(&bytes), &now) {
        tracing::warn!(
            plan_id = event["plan_id"].as_str().unwrap_or_default(),
            sql = event["sql"].as_str().unwrap_or_default(),
            "a plan was interrupted when this gateway last stopped; its remaining steps did not run (re-run the migration: completed steps are skipped)"
        );
        tracing::info!(target: "ddlgate::audit", "{event}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_plan_without_an_end_is_interrupted() {
        let lines = [
            r#"{"plan_id":"a","outcome":"plan-started","sql":"ALTER 1","steps":[]}"#,
            r#"{"plan_id":"a","outcome":"step-ended","step":0,"steps":[{"description":"s0","outcome":"done"}]}"#,
            r#"{"plan_id":"b","outcome":"plan-started","sql":"ALTER 2"}"#,
            r#"{"plan_id":"b","outcome":"completed"}"#,
            r#"{"outcome":"blocked","sql":"DROP TABLE t"}"#,
            r#"{"plan_id":"a","outcome":"step-en"#,
        ]
        .join("\n");
        let out = unfinished(&lines, "now");
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0]["plan_id"], "a");
        assert_eq!(out[0]["sql"], "ALTER 1");
        assert_eq!(out[0]["outcome"], "interrupted");
        assert_eq!(out[0]["steps"][0]["description"], "s0");
        assert_eq!(out[0]["time"], "now");
    }
}
