//! Blocked statements leave the gateway as a server-side RAISE of their error, in place, so
//! that a multi-statement Query keeps its other statements and the server answers exactly as
//! it would have at that statement. Pure: texts and frames in, texts and frames out.

use bytes::{BufMut, Bytes, BytesMut};
use ddlgate_ddl::{Decision, QualifiedName};
use ddlgate_wire::encode::{self, Notice};

use crate::enforce::{self, Action};

/// A Query frame carrying `sql`.
pub fn query_frame(sql: &[u8]) -> Bytes {
    Bytes::from(encode::query(sql))
}

/// A Parse frame with its query text replaced (name and parameter types kept).
pub fn parse_frame_with(original: &[u8], sql: &str) -> Bytes {
    let body = &original[5..];
    let name_end = body.iter().position(|&c| c == 0).unwrap_or(0);
    let query_end = name_end
        + 1
        + body[name_end + 1..]
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(0);
    let rest = &body[query_end + 1..];
    let mut b = BytesMut::new();
    b.put_u8(b'P');
    b.put_u32((4 + name_end + 1 + sql.len() + 1 + rest.len()) as u32);
    b.put_slice(&body[..=name_end]);
    b.put_slice(sql.as_bytes());
    b.put_u8(0);
    b.put_slice(rest);
    b.freeze()
}

/// The error each blocked statement gets: its rule's, or the deferral conflict's.
pub fn block_notices(
    decisions: &[Decision],
    actions: &[Action],
    conflicts: &[Option<Notice>],
) -> Vec<Option<Notice>> {
    decisions
        .iter()
        .zip(actions)
        .zip(conflicts)
        .map(|((d, a), c)| match (a, c) {
            (_, Some(n)) => Some(n.clone()),
            (Action::Block, None) => Some(enforce::block_notice(d, None)),
            _ => None,
        })
        .collect()
}

/// The text with every blocked statement replaced by a server-side RAISE of its error; `None`
/// when nothing is blocked. A text that was not valid UTF-8 (`exact` false) is refused whole:
/// its spans cannot be trusted.
pub fn substitute_blocked(
    sql: &str,
    exact: bool,
    decisions: &[Decision],
    notices: &[Option<Notice>],
) -> Option<String> {
    let blocked: Vec<(&Decision, &Notice)> = decisions
        .iter()
        .zip(notices)
        .filter_map(|(d, n)| n.as_ref().map(|n| (d, n)))
        .collect();
    let (_, first) = blocked.first()?;
    if !exact {
        return Some(enforce::raise_statement(first));
    }
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (d, notice) in &blocked {
        out.push_str(&sql[at..d.span.start]);
        out.push_str(&enforce::raise_statement(notice));
        at = d.span.end;
    }
    out.push_str(&sql[at..]);
    Some(out)
}

/// Relations the decisions touch (for the catalog query), each once.
pub fn relations(decisions: &[Decision]) -> Vec<QualifiedName> {
    let mut out: Vec<QualifiedName> = Vec::new();
    for d in decisions {
        for t in d.locks.keys() {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlgate_ddl::{analyze, Facts};

    fn decide(sql: &str) -> Vec<Decision> {
        analyze(sql, &Facts::default(), &Default::default())
    }

    #[test]
    fn a_parse_frame_keeps_its_name_and_parameter_types() {
        let original = encode::frame(b'P', b"s1\0SELECT $1\0\0\x01\0\0\0\x17");
        let replaced = parse_frame_with(&original, "SELECT 2");
        assert_eq!(
            &replaced[..],
            &encode::frame(b'P', b"s1\0SELECT 2\0\0\x01\0\0\0\x17")[..]
        );
    }

    #[test]
    fn only_blocked_statements_are_replaced_in_place() {
        let sql = "SELECT 1; DROP TABLE t; SELECT 2";
        let d = decide(sql);
        assert_eq!(d.len(), 3);
        let actions = [Action::Allow, Action::Block, Action::Allow];
        let notices = block_notices(&d, &actions, &[None, None, None]);
        assert!(notices[0].is_none() && notices[1].is_some() && notices[2].is_none());
        let out = substitute_blocked(sql, true, &d, &notices).expect("replaced");
        assert!(out.starts_with("SELECT 1; DO "), "{out}");
        assert!(out.ends_with("; SELECT 2"), "{out}");
        assert!(!out.contains("DROP TABLE"), "{out}");
        assert_eq!(substitute_blocked(sql, true, &d, &[None, None, None]), None);
    }

    #[test]
    fn an_inexact_text_is_refused_whole() {
        let sql = "SELECT 1; DROP TABLE t";
        let d = decide(sql);
        let notices = block_notices(&d, &[Action::Allow, Action::Block], &[None, None]);
        let out = substitute_blocked(sql, false, &d, &notices).expect("replaced");
        assert!(!out.contains("SELECT 1"), "{out}");
    }

    #[test]
    fn a_deferral_conflict_blocks_even_an_allowed_statement() {
        let d = decide("SELECT 1");
        let conflict = Notice::new(
            ddlgate_wire::encode::Severity::Error,
            ddlgate_wire::SqlState::ObjectNotInPrerequisiteState,
            "x",
        );
        let notices = block_notices(&d, &[Action::Allow], &[Some(conflict)]);
        assert!(notices[0].is_some());
    }

    #[test]
    fn relations_are_listed_once() {
        let d = decide("ALTER TABLE a ADD c int; ALTER TABLE a ADD d int; CREATE INDEX i ON b (x)");
        let names: Vec<String> = relations(&d).iter().map(|q| q.name.clone()).collect();
        assert_eq!(names, vec!["a", "b"]);
    }
}
