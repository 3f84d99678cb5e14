//! The gateway refuses a statement by having the server raise its error from a `DO` block
//! (so the transaction fails there too). PostgreSQL adds fields that name the block, not the
//! statement: `CONTEXT: PL/pgSQL function inline_code_block line 1 at RAISE` (`W`) and the
//! source location (`F`, `L`, `R`: `exec_stmt_raise`, `pl_exec.c`). The client must see only
//! the gateway's error fields, exactly as if it had sent them
//! ([ErrorResponse fields](https://www.postgresql.org/docs/current/protocol-error-fields.html)).

/// The context PL/pgSQL gives an exception raised at the top of an anonymous `DO` block.
const RAISE_CONTEXT: &[u8] = b"PL/pgSQL function inline_code_block line 1 at RAISE";

/// The routine PostgreSQL reports for a `RAISE`.
const RAISE_ROUTINE: &[u8] = b"exec_stmt_raise";

/// Fields the `DO` block adds to the gateway's own error.
const ADDED: &[u8] = b"WFLR";

/// `frame` (an ErrorResponse) without the fields the `DO` block added, when it is the
/// gateway's own refusal (message starting `ddlgate`, raised at the top of an anonymous block);
/// `None` for any other message, which is relayed as the server sent it.
#[must_use]
pub fn strip_raise_context(frame: &[u8]) -> Option<Vec<u8>> {
    if frame.first() != Some(&b'E') || frame.len() < 5 {
        return None;
    }
    let fields = split_fields(&frame[5..])?;
    let value = |code: u8| fields.iter().find(|(c, _)| *c == code).map(|(_, v)| *v);
    let ours = value(b'M').is_some_and(|m| m.starts_with(b"ddlgate"))
        && value(b'W') == Some(RAISE_CONTEXT)
        && value(b'R').is_none_or(|r| r == RAISE_ROUTINE);
    if !ours {
        return None;
    }
    let mut body = Vec::with_capacity(frame.len());
    for (code, v) in fields.iter().filter(|(c, _)| !ADDED.contains(c)) {
        body.push(*code);
        body.extend_from_slice(v);
        body.push(0);
    }
    body.push(0);
    Some(crate::encode::frame(b'E', &body))
}

/// The `(code, value)` fields of an ErrorResponse body, or `None` when it is malformed.
fn split_fields(mut body: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut out = Vec::new();
    loop {
        let (&code, rest) = body.split_first()?;
        if code == 0 {
            return Some(out);
        }
        let end = rest.iter().position(|&b| b == 0)?;
        out.push((code, &rest[..end]));
        body = &rest[end + 1..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(fields: &[(u8, &str)]) -> Vec<u8> {
        let mut body = Vec::new();
        for (c, v) in fields {
            body.push(*c);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
        body.push(0);
        crate::encode::frame(b'E', &body)
    }

    #[test]
    fn the_gateways_refusal_loses_what_the_do_block_added() {
        let raised = error(&[
            (b'S', "ERROR"),
            (b'V', "ERROR"),
            (b'C', "55000"),
            (b'M', "ddlgate: x [rule]"),
            (b'D', "rule rule"),
            (b'H', "h"),
            (b'W', "PL/pgSQL function inline_code_block line 1 at RAISE"),
            (b'F', "pl_exec.c"),
            (b'L', "3891"),
            (b'R', "exec_stmt_raise"),
        ]);
        let want = error(&[
            (b'S', "ERROR"),
            (b'V', "ERROR"),
            (b'C', "55000"),
            (b'M', "ddlgate: x [rule]"),
            (b'D', "rule rule"),
            (b'H', "h"),
        ]);
        assert_eq!(strip_raise_context(&raised), Some(want));
    }

    #[test]
    fn other_errors_are_left_alone() {
        let theirs = error(&[
            (b'M', "division by zero"),
            (b'W', "PL/pgSQL function inline_code_block line 1 at RAISE"),
        ]);
        assert_eq!(strip_raise_context(&theirs), None);
        let nested = error(&[
            (b'M', "ddlgate: x"),
            (b'W', "PL/pgSQL function f() line 3 at RAISE"),
        ]);
        assert_eq!(strip_raise_context(&nested), None);
        assert_eq!(strip_raise_context(b"E\0\0\0\x05"), None);
        assert_eq!(strip_raise_context(b"E\0\0\0\x06M"), None);
    }
}
