//! Whether a partition's validated CHECK constraints imply the bound it is attached with, so
//! that `ATTACH PARTITION` skips its scan (PostgreSQL proves it with its predicate prover over
//! the partition's valid constraints and NOT NULL columns; docs, `ALTER TABLE`, ATTACH
//! PARTITION). Recognised: a single-column `RANGE` key with `FROM (a) TO (b)` and conjuncts
//! `k >= a` and `k < b`; a single-column `LIST` key with `IN (…)` and `k IN (…)` /
//! `k = ANY (ARRAY[…])` over a subset of the values — the key column NOT NULL (or a conjunct
//! `k IS NOT NULL`). Anything else is taken as not implied: the scan is assumed.

use crate::facts::TableFacts;

/// Whether `part`'s checks imply `bound` under the parent's partition `key`.
#[must_use]
pub fn implied(key: &str, bound: &str, part: &TableFacts) -> bool {
    let Some((strategy, column)) = single_column_key(key) else {
        return false;
    };
    let conjuncts: Vec<String> = part
        .checks
        .iter()
        .flat_map(|c| {
            let body = c.trim();
            let body = strip_prefix_ci(body, "check").unwrap_or(body);
            norm(body)
                .split("and")
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let not_null = part.column(&column).is_some_and(|c| c.not_null)
        || conjuncts.contains(&format!("{column}isnotnull"));
    if !not_null {
        return false;
    }
    let bound = bound.trim();
    let Some(rest) = strip_prefix_ci(bound, "for values") else {
        return false;
    };
    match strategy {
        Strategy::Range => {
            let Some((from, to)) = range_bounds(rest) else {
                return false;
            };
            conjuncts.contains(&format!("{column}>={from}"))
                && conjuncts.contains(&format!("{column}<{to}"))
        }
        Strategy::List => {
            let Some(values) = strip_prefix_ci(rest.trim(), "in").and_then(|r| group(r.trim()))
            else {
                return false;
            };
            let allowed: Vec<String> = split_values(values).iter().map(|v| norm(v)).collect();
            conjuncts
                .iter()
                .filter_map(|c| list_values(c, &column))
                .any(|vs| !vs.is_empty() && vs.iter().all(|v| allowed.contains(v)))
        }
    }
}

/// How the parent is partitioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Range,
    List,
}

/// `RANGE (k)` / `LIST (k)` with one plain column.
fn single_column_key(key: &str) -> Option<(Strategy, String)> {
    let key = key.trim();
    let (strategy, rest) = if let Some(r) = strip_prefix_ci(key, "range") {
        (Strategy::Range, r)
    } else {
        (Strategy::List, strip_prefix_ci(key, "list")?)
    };
    let column = group(rest.trim())?.trim();
    let plain = !column.is_empty()
        && column
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    plain.then(|| (strategy, column.to_ascii_lowercase()))
}

/// `FROM (a) TO (b)`, single values (no MINVALUE/MAXVALUE), normalised.
fn range_bounds(rest: &str) -> Option<(String, String)> {
    let rest = strip_prefix_ci(rest.trim(), "from")?.trim();
    let from = group(rest)?;
    let after = rest.get(from.len() + 2..)?.trim();
    let to = group(strip_prefix_ci(after, "to")?.trim())?;
    let single = |v: &str| {
        let n = norm(v);
        let open = !n.contains(',') && n != "minvalue" && n != "maxvalue" && !n.is_empty();
        open.then_some(n)
    };
    Some((single(from)?, single(to)?))
}

/// The values of `k IN (…)` or `k = ANY (ARRAY[…])` in a normalised conjunct.
fn list_values(conjunct: &str, column: &str) -> Option<Vec<String>> {
    let rest = conjunct.strip_prefix(column)?;
    let list = if let Some(r) = rest.strip_prefix("=anyarray[") {
        r.strip_suffix(']')?
    } else {
        rest.strip_prefix("in")?
    };
    Some(split_values(list).iter().map(|v| norm(v)).collect())
}

/// The text inside the parenthesis `s` starts with (balanced, quotes respected).
fn group(s: &str) -> Option<&str> {
    let inner = s.strip_prefix('(')?;
    let (mut depth, mut quoted) = (1usize, false);
    for (i, c) in inner.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return inner.get(..i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Values separated by commas outside quotes.
fn split_values(s: &str) -> Vec<&str> {
    let (mut out, mut start, mut quoted) = (Vec::new(), 0, false);
    for (i, c) in s.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Lower case, without white space, parentheses or casts (`::type`), quotes kept.
fn norm(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let (mut i, mut quoted) = (0, false);
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            quoted = !quoted;
        }
        if quoted || c == '\'' {
            out.push(c);
            i += 1;
            continue;
        }
        if c == ':' && chars.get(i + 1) == Some(&':') {
            i = skip_type(&chars, i + 2);
            continue;
        }
        if !(c.is_whitespace() || c == '(' || c == ')') {
            out.push(c.to_ascii_lowercase());
        }
        i += 1;
    }
    out
}

/// The index after a cast's type name starting at `i`: a word, the words that continue the
/// multi-word names (`timestamp with time zone`, `character varying`, `double precision`),
/// a `(n)` modifier and `[]`.
fn skip_type(chars: &[char], mut i: usize) -> usize {
    let word = |from: usize| {
        let mut j = from;
        while chars.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        let start = j;
        while chars
            .get(j)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_' || *c == '"')
        {
            j += 1;
        }
        (
            chars[start..j]
                .iter()
                .collect::<String>()
                .to_ascii_lowercase(),
            j,
        )
    };
    let (_, j) = word(i);
    i = j;
    loop {
        let (w, j) = word(i);
        if ["with", "without", "time", "zone", "varying", "precision"].contains(&w.as_str()) {
            i = j;
        } else {
            break;
        }
    }
    if chars.get(i) == Some(&'(') {
        while chars.get(i).is_some_and(|c| *c != ')') {
            i += 1;
        }
        i += 1;
    }
    while chars.get(i) == Some(&'[') && chars.get(i + 1) == Some(&']') {
        i += 2;
    }
    i
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests;
