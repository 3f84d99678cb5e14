//! Line starts of a source text, found once, so that every finding's line and column is a
//! binary search rather than a scan from the start of the file (which made linting a large
//! file quadratic in its size).

use super::Position;

/// Where each line of a text begins (lines end at `\n`).
#[derive(Debug)]
pub struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes `src` (one pass).
    #[must_use]
    pub fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            src.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { src, starts }
    }

    /// The 1-based line and column (in characters) of byte `offset` (clamped to the text, and
    /// back to the start of a character).
    #[must_use]
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.src.len());
        while !self.src.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let column = self.src[start..offset].chars().count() + 1;
        Position { line, column }
    }

    /// Line `n` (from 1) without its line break (`\n` or `\r\n`), as `str::lines` gives it.
    #[must_use]
    pub fn line(&self, n: usize) -> Option<&'a str> {
        let start = *self.starts.get(n.checked_sub(1)?)?;
        if start == self.src.len() && n > 1 {
            // After a final line break: no further line (as `str::lines`).
            return None;
        }
        let end = self.starts.get(n).map_or(self.src.len(), |&e| e - 1);
        let text = &self.src[start..end];
        Some(text.strip_suffix('\r').unwrap_or(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_lines_agree_with_a_scan_from_the_start() {
        let src = "ab\nçd\r\n\nlast é line\n";
        let idx = LineIndex::new(src);
        for (i, _) in src.char_indices().chain([(src.len(), ' ')]) {
            assert_eq!(
                idx.position(i),
                super::super::position(src, i),
                "offset {i}"
            );
        }
        let lines: Vec<&str> = src.lines().collect();
        for n in 1..=lines.len() + 2 {
            assert_eq!(idx.line(n), lines.get(n - 1).copied(), "line {n}");
        }
        assert_eq!(idx.line(0), None);
        // Inside a character: the character's own position.
        assert_eq!(idx.position(4), idx.position(3));
    }

    #[test]
    fn a_text_without_a_final_line_break_has_its_last_line() {
        let idx = LineIndex::new("one\ntwo");
        assert_eq!(idx.line(2), Some("two"));
        assert_eq!(idx.line(3), None);
        assert_eq!(idx.position(7), Position { line: 2, column: 4 });
    }
}
