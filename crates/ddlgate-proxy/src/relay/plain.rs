//! The last statement text found to need no attention. Applications repeat their statements,
//! and the answer depends on the text alone, so a repeat costs one comparison.

use super::intercept::{needs_attention, Attention};

/// Longest text remembered.
const MAX_LEN: usize = 1024;

/// See the module docs.
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
        if attention == Attention::None && text.len() <= MAX_LEN {
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
}
