//! Tamper evidence for the audit log: each JSON line carries `seq` (1, 2, …), `prev` (the
//! previous line's `chain`, 64 zeros for the first) and `chain`, the SHA-256 of the line
//! without its `chain` field. An altered line no longer matches its `chain`; a removed one
//! leaves a gap in `seq` and a `prev` that does not match. (Lines cut off the end of the file
//! leave no trace in the file itself: compare the last `seq` with the one the metrics or a
//! copy elsewhere saw.) `ddlgate audit verify FILE` checks a file.

use sha2::{Digest, Sha256};

/// `prev` of the first record of a chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where a chain stands: the last record's `seq` and `chain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Its `seq` (0 before the first record).
    pub seq: u64,
    /// Its `chain` ([`GENESIS`] before the first record).
    pub chain: String,
}

impl Default for Head {
    fn default() -> Self {
        Self {
            seq: 0,
            chain: GENESIS.to_owned(),
        }
    }
}

fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Seals the JSON object `event` as the record after `head`: the line to write (no newline)
/// and the new head. `None` when `event` is not a JSON object.
pub fn seal(event: &str, head: &Head) -> Option<(String, Head)> {
    let body = event.trim().strip_suffix('}')?;
    if !body.starts_with('{') {
        return None;
    }
    let sep = if body.trim_end().ends_with('{') {
        ""
    } else {
        ","
    };
    let seq = head.seq + 1;
    let hashed = format!("{body}{sep}\"seq\":{seq},\"prev\":\"{}\"}}", head.chain);
    let chain = sha256_hex(&hashed);
    let line = format!("{},\"chain\":\"{chain}\"}}", &hashed[..hashed.len() - 1]);
    Some((line, Head { seq, chain }))
}

/// The head a sealed `line` leaves, if it is one.
pub fn head_of(line: &str) -> Option<Head> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(Head {
        seq: v.get("seq")?.as_u64()?,
        chain: v.get("chain")?.as_str()?.to_owned(),
    })
}

/// What verifying found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every record is intact and in sequence: how many, and the first and last `seq`.
    Intact {
        /// Records.
        records: u64,
        /// The first record's `seq`.
        first: u64,
        /// The last record's `seq`.
        last: u64,
    },
    /// The first problem, at a 1-based line number.
    Broken {
        /// Line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Verifies the lines of an audit file.
pub fn verify(text: &str) -> Verdict {
    let mut prev: Option<Head> = None;
    let (mut records, mut first) = (0u64, 0u64);
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let n = i + 1;
        let broken = |problem: String| Verdict::Broken { line: n, problem };
        let Some(at) = line.rfind(",\"chain\":\"") else {
            return broken("not a sealed record (no chain)".into());
        };
        let hashed = format!("{}}}", &line[..at]);
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => return broken(format!("not JSON ({e})")),
        };
        let (Some(seq), Some(p), Some(chain)) = (
            v.get("seq").and_then(serde_json::Value::as_u64),
            v.get("prev").and_then(serde_json::Value::as_str),
            v.get("chain").and_then(serde_json::Value::as_str),
        ) else {
            return broken("a record without seq, prev or chain".into());
        };
        if sha256_hex(&hashed) != chain {
            return broken(format!(
                "record seq {seq} was altered (its chain does not match its content)"
            ));
        }
        match &prev {
            Some(h) if seq != h.seq + 1 => {
                return broken(format!(
                    "records missing before seq {seq}: the previous record is seq {}",
                    h.seq
                ))
            }
            Some(h) if p != h.chain => {
                return broken(format!(
                    "record seq {seq} does not follow seq {}: prev does not match its chain",
                    h.seq
                ))
            }
            None => first = seq,
            _ => {}
        }
        records += 1;
        prev = Some(Head {
            seq,
            chain: chain.to_owned(),
        });
    }
    Verdict::Intact {
        records,
        first,
        last: prev.map_or(0, |h| h.seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(events: &[&str]) -> String {
        let mut head = Head::default();
        let mut out = String::new();
        for e in events {
            let (line, h) = seal(e, &head).expect("object");
            out.push_str(&line);
            out.push('\n');
            head = h;
        }
        out
    }

    #[test]
    fn an_intact_chain_verifies() {
        let text = chain(&[r#"{"event":"a"}"#, "{}", r#"{"event":"c","n":3}"#]);
        assert_eq!(
            verify(&text),
            Verdict::Intact {
                records: 3,
                first: 1,
                last: 3
            }
        );
        let last = text.lines().last().expect("line");
        assert_eq!(head_of(last).map(|h| h.seq), Some(3));
        assert!(serde_json::from_str::<serde_json::Value>(last).is_ok());
    }

    #[test]
    fn an_altered_or_missing_record_is_named() {
        let text = chain(&[r#"{"event":"a"}"#, r#"{"event":"b"}"#, r#"{"event":"c"}"#]);
        let altered = text.replacen("\"b\"", "\"B\"", 1);
        assert_eq!(
            verify(&altered),
            Verdict::Broken {
                line: 2,
                problem: "record seq 2 was altered (its chain does not match its content)".into()
            }
        );
        let lines: Vec<&str> = text.lines().collect();
        let removed = format!("{}\n{}\n", lines[0], lines[2]);
        assert!(
            matches!(verify(&removed), Verdict::Broken { line: 2, ref problem } if problem.contains("missing before seq 3"))
        );
        assert!(seal("not json", &Head::default()).is_none());
    }
}
