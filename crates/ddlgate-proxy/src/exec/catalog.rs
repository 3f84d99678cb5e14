//! Live facts for the analyser, read from the catalog on the session's own upstream connection
//! (so `search_path`, permissions and the session's settings are the client's): estimated rows
//! and size, columns, indexes, validated `CHECK (col IS NOT NULL)` constraints, the volatility
//! of functions the statement calls, and the session's `lock_timeout`. One round trip.
//! Sources: [pg_class](https://www.postgresql.org/docs/current/catalog-pg-class.html),
//! [pg_index](https://www.postgresql.org/docs/current/catalog-pg-index.html),
//! [pg_constraint](https://www.postgresql.org/docs/current/catalog-pg-constraint.html),
//! [pg_proc](https://www.postgresql.org/docs/current/catalog-pg-proc.html).

use std::collections::BTreeMap;

use ddlgate_ddl::{
    quote_literal, ColumnFacts, Facts, IndexFacts, QualifiedName, RelKind, TableFacts, Volatility,
};
use serde::Deserialize;

use super::conn::PlanConn;
use crate::ProxyError;
use ddlgate_ddl::plan::sql::EQ;

#[derive(Deserialize)]
struct TableRow {
    key: usize,
    exists: bool,
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    created_here: Option<bool>,
    #[serde(default)]
    tablespace: Option<String>,
    #[serde(default)]
    access_method: Option<String>,
    #[serde(default)]
    partition_key: Option<String>,
    est_rows: Option<i64>,
    bytes: Option<i64>,
    columns: Vec<ColumnRow>,
    indexes: Vec<IndexRow>,
    checks: Vec<String>,
}

#[derive(Deserialize)]
struct ColumnRow {
    name: String,
    #[serde(rename = "type")]
    data_type: String,
    not_null: bool,
}

#[derive(Deserialize)]
struct IndexRow {
    name: String,
    unique: bool,
    valid: bool,
    primary: bool,
    columns: Vec<String>,
}

/// The catalog query for `tables` and `functions`. It runs on the client's session, so every
/// name, operator and type in it is qualified with `pg_catalog` (checked by
/// [`ddlgate_ddl::search_path::dependencies`] in the tests); only the client's own relation
/// names go through its search path (`to_regclass`), as its statement's would.
pub fn facts_query(tables: &[QualifiedName], functions: &[String], types: &[String]) -> String {
    let values = if tables.is_empty() {
        "SELECT NULL::pg_catalog.int4 AS key, NULL::pg_catalog.text AS name WHERE false".to_owned()
    } else {
        let rows: Vec<String> = tables
            .iter()
            .enumerate()
            .map(|(i, t)| format!("({i}, {})", quote_literal(&t.quoted())))
            .collect();
        format!("VALUES {}", rows.join(", "))
    };
    let funcs: Vec<String> = functions.iter().map(|f| quote_literal(f)).collect();
    format!(
        "SELECT pg_catalog.current_setting('lock_timeout'), \
         (SELECT coalesce(pg_catalog.json_object_agg(proname, v), '{{}}') FROM (SELECT proname, pg_catalog.max(provolatile::pg_catalog.text) AS v \
           FROM pg_catalog.pg_proc WHERE proname::pg_catalog.text {EQ} ANY(ARRAY[{funcs}]::pg_catalog.text[]) GROUP BY proname) f), \
         (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object( \
           'key', t.key, 'exists', c.oid IS NOT NULL, 'kind', c.relkind, 'created_here', {created}, \
           'est_rows', CASE WHEN c.reltuples OPERATOR(pg_catalog.>=) 0 THEN c.reltuples::pg_catalog.int8 \
             WHEN c.relkind {EQ} ANY(ARRAY['r', 'm']::pg_catalog.\"char\"[]) AND pg_catalog.pg_relation_size(c.oid) {EQ} 0 THEN 0 END, \
           'bytes', pg_catalog.pg_table_size(c.oid), \
           'tablespace', coalesce((SELECT s.spcname FROM pg_catalog.pg_tablespace s WHERE s.oid {EQ} c.reltablespace), \
              (SELECT s.spcname FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace s ON s.oid {EQ} d.dattablespace \
                WHERE d.datname {EQ} pg_catalog.current_database())), \
           'access_method', (SELECT a.amname FROM pg_catalog.pg_am a WHERE a.oid {EQ} c.relam), \
           'partition_key', pg_catalog.pg_get_partkeydef(c.oid), \
           'columns', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', a.attname, \
              'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull) ORDER BY a.attnum), '[]') \
              FROM pg_catalog.pg_attribute a WHERE a.attrelid {EQ} c.oid AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped), \
           'indexes', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.json_build_object('name', ic.relname, 'unique', i.indisunique, \
              'valid', i.indisvalid, 'primary', i.indisprimary, 'columns', (SELECT coalesce(pg_catalog.json_agg(a.attname ORDER BY k.ord), '[]') \
                FROM pg_catalog.unnest(i.indkey) WITH ORDINALITY k(attnum, ord) \
                JOIN pg_catalog.pg_attribute a ON a.attrelid {EQ} c.oid AND a.attnum {EQ} k.attnum))), '[]') \
              FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid {EQ} i.indexrelid WHERE i.indrelid {EQ} c.oid), \
           'checks', (SELECT coalesce(pg_catalog.json_agg(pg_catalog.pg_get_constraintdef(co.oid)), '[]') FROM pg_catalog.pg_constraint co \
              WHERE co.conrelid {EQ} c.oid AND co.contype {EQ} 'c' AND co.convalidated))), '[]') \
          FROM ({values}) t(key, name) LEFT JOIN pg_catalog.pg_class c ON c.oid {EQ} pg_catalog.to_regclass(t.name)), \
         pg_catalog.current_setting('statement_timeout'), {domains}",
        funcs = funcs.join(", "),
        domains = super::domains::domains_subquery(types),
        created = super::created::CREATED_HERE,
    )
}

/// Reads the facts and adds them to `facts`.
pub async fn load(
    conn: &mut impl PlanConn,
    facts: &mut Facts,
    tables: &[QualifiedName],
    (functions, types): (&[String], &[String]),
) -> Result<(), ProxyError> {
    let result = conn.query(&facts_query(tables, functions, types)).await?;
    if let Some(err) = result.error {
        // Facts are an optimisation over "assume large and unknown"; carry on without them.
        tracing::warn!(code = err.code.code(), message = %err.message, "catalog facts query failed");
        return Ok(());
    }
    if let Some(row) = result.rows.first() {
        read_row(row, facts, tables);
    }
    Ok(())
}

/// Adds the facts of one row of [`facts_query`] (its columns as text) to `facts`; `tables`
/// are the names the query asked about, in order.
pub fn read_row(row: &[Option<String>], facts: &mut Facts, tables: &[QualifiedName]) {
    facts.lock_timeout_ms = row
        .first()
        .and_then(|v| v.as_deref())
        .and_then(parse_duration_ms)
        .filter(|ms| *ms > 0);
    if let Some(Ok(funcs)) = row
        .get(1)
        .and_then(|v| v.as_deref())
        .map(serde_json::from_str::<BTreeMap<String, String>>)
    {
        for (name, v) in funcs {
            let vol = match v.as_str() {
                "i" => Volatility::Immutable,
                "s" => Volatility::Stable,
                _ => Volatility::Volatile,
            };
            facts.function_volatility.insert(name, vol);
        }
    }
    if let Some(json) = row.get(4).and_then(|v| v.as_deref()) {
        super::domains::read(json, facts);
    }
    facts.statement_timeout_ms = row
        .get(3)
        .and_then(|v| v.as_deref())
        .and_then(parse_duration_ms)
        .filter(|ms| *ms > 0);
    let parsed: Vec<TableRow> = row
        .get(2)
        .and_then(|v| v.as_deref())
        .map(serde_json::from_str)
        .transpose()
        .ok()
        .flatten()
        .unwrap_or_default();
    for t in parsed {
        let Some(name) = tables.get(t.key) else {
            continue;
        };
        if !t.exists {
            continue;
        }
        facts.tables.insert(name.clone(), table_facts(t));
    }
}

fn table_facts(t: TableRow) -> TableFacts {
    let pk = t.indexes.iter().find(|i| i.primary);
    TableFacts {
        kind: t.kind.as_deref().and_then(RelKind::from_code),
        created_here: t.created_here,
        tablespace: t.tablespace,
        access_method: t.access_method,
        partition_key: t.partition_key,
        checks: t.checks.clone(),
        est_rows: t.est_rows.and_then(|r| u64::try_from(r).ok()),
        bytes: t.bytes.and_then(|b| u64::try_from(b).ok()),
        has_primary_key: Some(pk.is_some()),
        pk_columns: pk.map(|i| i.columns.clone()).unwrap_or_default(),
        indexes: t
            .indexes
            .into_iter()
            .map(|i| IndexFacts {
                name: i.name,
                columns: i.columns,
                unique: i.unique,
                valid: i.valid,
            })
            .collect(),
        validated_not_null_checks: t
            .checks
            .iter()
            .filter_map(|c| not_null_check_column(c))
            .collect(),
        columns: t
            .columns
            .into_iter()
            .map(|c| ColumnFacts {
                name: c.name,
                data_type: c.data_type,
                not_null: c.not_null,
            })
            .collect(),
    }
}

/// The column of a `CHECK ((col IS NOT NULL))` definition as printed by
/// `pg_get_constraintdef`, unquoting a quoted identifier.
fn not_null_check_column(def: &str) -> Option<String> {
    let inner = def
        .strip_prefix("CHECK ((")?
        .strip_suffix(" IS NOT NULL))")?;
    if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Some(q.replace("\"\"", "\""));
    }
    inner
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
        .then(|| inner.to_owned())
}

/// Parses a duration setting as `SHOW` prints it: `0`, `500ms`, `2s`, `1min`, `1h`, `1d`.
pub fn parse_duration_ms(v: &str) -> Option<u64> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "" | "ms" => 1,
        "s" => 1_000,
        "min" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "us" => return Some(n / 1000),
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Names called as functions in `sql` (identifiers followed by `(`), lower-cased, deduplicated;
/// used to ask the catalog for their volatility.
pub fn called_functions(sql: &str) -> Vec<String> {
    use ddlgate_ddl::lexer::{ident_value, significant, TokKind};
    let toks: Vec<_> = significant(sql).collect();
    let mut out: Vec<String> = Vec::new();
    for pair in toks.windows(2) {
        // A name before `(`, quoted or not (`"gen_random_uuid"()` calls gen_random_uuid).
        if matches!(pair[0].kind, TokKind::Word | TokKind::QuotedIdent)
            && pair[1].kind == TokKind::LParen
        {
            let name = ident_value(&pair[0], sql);
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("2s"), Some(2000));
        assert_eq!(parse_duration_ms("500ms"), Some(500));
        assert_eq!(parse_duration_ms("1min"), Some(60_000));
        assert_eq!(parse_duration_ms("soon"), None);
    }

    #[test]
    fn not_null_checks() {
        assert_eq!(
            not_null_check_column("CHECK ((email IS NOT NULL))").as_deref(),
            Some("email")
        );
        assert_eq!(
            not_null_check_column("CHECK ((\"Mixed\"\"q\" IS NOT NULL))").as_deref(),
            Some("Mixed\"q")
        );
        assert_eq!(not_null_check_column("CHECK ((a > 0))"), None);
    }

    #[test]
    fn functions_called() {
        assert_eq!(
            called_functions("ALTER TABLE t ADD c uuid DEFAULT gen_random_uuid ()"),
            ["gen_random_uuid"]
        );
        assert_eq!(
            called_functions("ADD c int DEFAULT my_fn(now())"),
            ["my_fn", "now"]
        );
        assert_eq!(
            called_functions("DEFAULT \"gen_random_uuid\"() || pg_catalog.\"My Fn\"('(')"),
            ["gen_random_uuid", "My Fn"]
        );
    }

    #[test]
    fn query_quotes_names() {
        let q = facts_query(
            &[QualifiedName::bare("we'ird")],
            &["f'x".to_owned()],
            &["t'y".to_owned()],
        );
        assert!(
            q.contains("'\"we''ird\"'") || q.contains("'we''ird'"),
            "{q}"
        );
        assert!(q.contains("'f''x'"));
    }
}
