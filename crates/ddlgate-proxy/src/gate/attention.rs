//! The first look at a Query or Parse text: could it hold DDL or transaction control? Most
//! traffic is answered by its first key word alone, and a repeated text by one comparison.

use ddlgate_ddl::{classify, classify_bytes, split, StatementClass};

/// What the first look at a Query or Parse text found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attention {
    /// Nothing the gateway acts on: forward it.
    None,
    /// Possibly DDL: analyse it.
    Ddl,
    /// Transaction control (BEGIN, COMMIT, SAVEPOINT, …) and no DDL: forwarded, but the
    /// block's bookkeeping may change.
    TransactionControl,
}

/// Cheap test run on every Query and Parse: could this text hold DDL or transaction
/// control?
pub fn needs_attention(text: &[u8]) -> Attention {
    let first = match classify_bytes(text) {
        StatementClass::MaybeDdl => return Attention::Ddl,
        StatementClass::Empty => return Attention::None,
        class => class,
    };
    let one = match first {
        StatementClass::Transaction => Attention::TransactionControl,
        _ => Attention::None,
    };
    // Only a string with a `;` followed by more text can hide a second statement.
    let Some(semi) = memchr::memchr(b';', text) else {
        return one;
    };
    if text[semi + 1..].iter().all(u8::is_ascii_whitespace) {
        return one;
    }
    let sql = String::from_utf8_lossy(text);
    let mut found = Attention::None;
    for span in split(&sql).iter().filter_map(|seg| seg.stmt.clone()) {
        match classify(&sql[span]) {
            StatementClass::MaybeDdl => return Attention::Ddl,
            StatementClass::Transaction => found = Attention::TransactionControl,
            _ => {}
        }
    }
    found
}

/// Longest text [`LastPlain`] remembers.
const MAX_LEN: usize = 1024;

/// The last statement text found to need no attention. Applications repeat their statements,
/// and the answer depends on the text alone, so a repeat costs one comparison.
#[derive(Clone, Debug, Default)]
pub struct LastPlain {
    text: Vec<u8>,
}

impl LastPlain {
    /// What `text` needs ([`needs_attention`]), remembered when the answer is "nothing".
    pub fn attention(&mut self, text: &[u8]) -> Attention {
        if self.text.as_slice() == text {
            return Attention::None;
        }
        let attention = needs_attention(text);
        // A text with a backslash may read differently after a settings change: never cached.
        if attention == Attention::None
            && text.len() <= MAX_LEN
            && memchr::memchr(b'\\', text).is_none()
        {
            self.text.clear();
            self.text.extend_from_slice(text);
        }
        attention
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_text_is_remembered_and_ddl_never_is() {
        let mut last = LastPlain::default();
        assert_eq!(last.attention(b"SELECT 1"), Attention::None);
        assert_eq!(last.text, b"SELECT 1");
        assert_eq!(last.attention(b"ALTER TABLE t ADD c int"), Attention::Ddl);
        assert_eq!(
            last.text, b"SELECT 1",
            "DDL does not replace the plain text"
        );
        assert_eq!(last.attention(b"BEGIN"), Attention::TransactionControl);
        assert_eq!(last.attention(b"SELECT 1"), Attention::None);
        let long = vec![b' '; MAX_LEN + 1];
        assert_eq!(last.attention(&long), Attention::None);
        assert_eq!(last.text, b"SELECT 1", "too long to remember");
    }

    #[test]
    fn a_second_statement_is_looked_at() {
        assert_eq!(needs_attention(b"SELECT 1; DROP TABLE t"), Attention::Ddl);
        assert_eq!(
            needs_attention(b"SELECT 1; COMMIT"),
            Attention::TransactionControl
        );
        assert_eq!(needs_attention(b"SELECT 1;  "), Attention::None);
        assert_eq!(needs_attention(b""), Attention::None);
    }

    #[test]
    fn a_statement_after_a_continued_escape_string_is_looked_at() {
        // `E''` continued on the next line by `'a\''`: the continuation is read with backslash
        // escapes, so the literal ends before the `;` and the server runs the DROP.
        let text = b"SELECT E''\n'a\\'';DROP TABLE t;--'";
        assert_eq!(needs_attention(text), Attention::Ddl);
    }
}
