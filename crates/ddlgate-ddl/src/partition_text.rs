//! The partition key of a `CREATE TABLE … PARTITION BY …`, read from its tokens.

/// The partition key of a `CREATE TABLE … PARTITION BY …` as written (`RANGE (at)`): from
/// `PARTITION BY` to the closing parenthesis of the key list.
pub fn partition_key(sql: &str) -> Option<String> {
    let toks: Vec<_> = crate::lexer::significant(sql).collect();
    let by = toks
        .windows(2)
        .position(|w| w[0].is_kw(sql, "partition") && w[1].is_kw(sql, "by"))?;
    let start = toks.get(by + 2)?.span.start;
    let mut depth = 0usize;
    for t in &toks[by + 2..] {
        match t.kind {
            crate::lexer::TokKind::LParen => depth += 1,
            crate::lexer::TokKind::RParen => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return sql.get(start..t.span.end).map(str::to_owned);
                }
            }
            _ => {}
        }
    }
    None
}
