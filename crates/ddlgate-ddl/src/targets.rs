//! Where a DDL statement acts, for scopes that name schemas or objects: the relations it locks
//! or creates
//! (from the decision), the schemas a `CREATE/ALTER/DROP SCHEMA` names, a `SET SCHEMA`
//! destination, and the object the statement names (after `ON` for indexes, triggers,
//! policies, rules, comments, grants and labels). Qualified names give their schema as
//! written; unqualified relations are left for the session's search path to resolve (the
//! caller asks the server), a new unqualified object goes to the creation schema
//! (`current_schema()`), and an unqualified object of another kind altered or dropped cannot
//! be placed from the text: [`Targets::unknown`] (a caller fails closed).
//! Objects outside schemas (roles, databases, tablespaces, extensions, servers, …) place
//! nothing.

use std::collections::BTreeSet;

use crate::decision::Decision;
use crate::ir::QualifiedName;
use crate::lexer::{ident_value, significant, TokKind, Token};

/// Where a statement acts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    /// Schemas named in the statement (those of its qualified objects included).
    pub schemas: BTreeSet<String>,
    /// Objects named with their schema: `(schema, name)`.
    pub objects: BTreeSet<(String, String)>,
    /// Unqualified relations whose schema the session's search path decides.
    pub relations: BTreeSet<String>,
    /// Unqualified new objects, created in `current_schema()`.
    pub created: BTreeSet<String>,
    /// An object whose schema the text does not tell.
    pub unknown: bool,
}

impl Targets {
    fn qualified(&mut self, schema: String, name: String) {
        self.schemas.insert(schema.clone());
        self.objects.insert((schema, name));
    }
}

/// Words that may come before the object's name (verbs, kinds, modifiers).
const PREFIX: &[&str] = &[
    "CREATE",
    "ALTER",
    "DROP",
    "OR",
    "REPLACE",
    "GLOBAL",
    "LOCAL",
    "TEMP",
    "TEMPORARY",
    "UNLOGGED",
    "RECURSIVE",
    "MATERIALIZED",
    "UNIQUE",
    "CONCURRENTLY",
    "IF",
    "NOT",
    "EXISTS",
    "ONLY",
    "TABLE",
    "VIEW",
    "INDEX",
    "FUNCTION",
    "PROCEDURE",
    "ROUTINE",
    "AGGREGATE",
    "TYPE",
    "DOMAIN",
    "SEQUENCE",
    "TRIGGER",
    "FOREIGN",
    "COLLATION",
    "CONVERSION",
    "OPERATOR",
    "CLASS",
    "FAMILY",
    "TEXT",
    "SEARCH",
    "PARSER",
    "DICTIONARY",
    "TEMPLATE",
    "CONFIGURATION",
    "STATISTICS",
    "POLICY",
    "RULE",
    "TRUNCATE",
    "REINDEX",
    "CLUSTER",
    "VACUUM",
    "ANALYZE",
    "ANALYSE",
    "REFRESH",
    "CONSTRAINT",
    "COMMENT",
    "ON",
    "COLUMN",
    "LARGE",
    "OBJECT",
    "SCHEMA",
    "GRANT",
    "REVOKE",
    "SECURITY",
    "LABEL",
    "ALL",
    "TABLES",
    "SEQUENCES",
    "FUNCTIONS",
    "PROCEDURES",
    "ROUTINES",
    "IN",
];

/// Kinds of object that live outside schemas.
const NO_SCHEMA: &[&str] = &[
    "ROLE",
    "USER",
    "GROUP",
    "DATABASE",
    "TABLESPACE",
    "EXTENSION",
    "EVENT",
    "SERVER",
    "PUBLICATION",
    "SUBSCRIPTION",
    "LANGUAGE",
    "CAST",
    "ACCESS",
    "DEFAULT",
    "SYSTEM",
];

/// Kinds whose statements name the relation they belong to after `ON`.
const ON_KINDS: &[&str] = &["INDEX", "TRIGGER", "POLICY", "RULE"];

/// Where `d` (whose text is `text`) acts.
#[must_use]
pub fn targets(text: &str, d: &Decision) -> Targets {
    let mut t = Targets::default();
    let created = d.statement.created_relation();
    for name in d.locks.keys() {
        place_relation(&mut t, name, created.as_ref() == Some(name));
    }
    let toks: Vec<Token> = significant(text)
        .filter(|x| x.kind != TokKind::Semicolon)
        .collect();
    let words = Words { text, toks: &toks };
    if words.schema_statement(&mut t) {
        return t;
    }
    words.set_schema(&mut t);
    let verb = words.upper(0);
    let (kind_at, kind) = words.kind();
    if NO_SCHEMA.contains(&kind.as_str())
        || (kind == "FOREIGN" && words.upper(kind_at + 1) == "DATA")
        || (matches!(verb.as_str(), "GRANT" | "REVOKE") && words.on_at().is_none())
    {
        return t;
    }
    let temp = (1..kind_at).any(|i| matches!(words.upper(i).as_str(), "TEMP" | "TEMPORARY"));
    let on_target = matches!(verb.as_str(), "COMMENT" | "GRANT" | "REVOKE" | "SECURITY")
        || ON_KINDS.contains(&kind.as_str());
    let start = match words.on_at().filter(|_| on_target) {
        Some(on) => words.after_prefix(on + 1),
        None => words.after_prefix(0),
    };
    let on_schema = start.is_some_and(|i| i > 0 && words.upper(i - 1) == "SCHEMA");
    match start.and_then(|i| words.name_at(i)) {
        Some(QualifiedName { name, .. }) if on_schema => {
            t.schemas.insert(name);
        }
        Some(QualifiedName {
            schema: Some(s),
            name,
        }) => t.qualified(s, name),
        Some(QualifiedName { schema: None, .. }) if verb == "CREATE" && !on_target && temp => {}
        Some(QualifiedName { schema: None, name }) if verb == "CREATE" && !on_target => {
            t.created.insert(name);
        }
        Some(QualifiedName { name, .. }) => {
            t.relations.insert(name);
        }
        None if d.locks.is_empty() && created.is_none() => t.unknown = true,
        None => {}
    }
    t
}

fn place_relation(t: &mut Targets, name: &QualifiedName, created: bool) {
    match (&name.schema, created) {
        (Some(s), _) => t.qualified(s.clone(), name.name.clone()),
        (None, true) => {
            t.created.insert(name.name.clone());
        }
        (None, false) => {
            t.relations.insert(name.name.clone());
        }
    }
}

struct Words<'a> {
    text: &'a str,
    toks: &'a [Token],
}

impl Words<'_> {
    fn upper(&self, i: usize) -> String {
        self.toks
            .get(i)
            .filter(|t| t.kind == TokKind::Word)
            .map(|t| t.text(self.text).to_ascii_uppercase())
            .unwrap_or_default()
    }

    fn is_name(&self, i: usize) -> bool {
        self.toks
            .get(i)
            .is_some_and(|t| matches!(t.kind, TokKind::Word | TokKind::QuotedIdent))
    }

    /// `CREATE SCHEMA [IF NOT EXISTS] s [AUTHORIZATION r]`, `CREATE SCHEMA AUTHORIZATION r`,
    /// `ALTER SCHEMA s …`, `DROP SCHEMA [IF EXISTS] a, b …`: the schemas, and true.
    fn schema_statement(&self, t: &mut Targets) -> bool {
        let verb = self.upper(0);
        if !matches!(verb.as_str(), "CREATE" | "ALTER" | "DROP") || self.upper(1) != "SCHEMA" {
            return false;
        }
        let mut i = 2;
        while matches!(self.upper(i).as_str(), "IF" | "NOT" | "EXISTS") {
            i += 1;
        }
        if verb == "CREATE" && self.upper(i) == "AUTHORIZATION" {
            i += 1;
        }
        loop {
            if let Some(tok) = self.toks.get(i).filter(|_| self.is_name(i)) {
                t.schemas.insert(ident_value(tok, self.text));
            }
            if verb != "DROP" || self.toks.get(i + 1).map(|x| x.kind) != Some(TokKind::Comma) {
                return true;
            }
            i += 2;
        }
    }

    /// `… SET SCHEMA s`: the destination.
    fn set_schema(&self, t: &mut Targets) {
        for i in 0..self.toks.len() {
            if self.upper(i) == "SET" && self.upper(i + 1) == "SCHEMA" && self.is_name(i + 2) {
                t.schemas.insert(ident_value(&self.toks[i + 2], self.text));
            }
        }
    }

    /// The kind of object (its first word, after the verb and its modifiers) and where it is.
    fn kind(&self) -> (usize, String) {
        const MODIFIERS: &[&str] = &[
            "OR",
            "REPLACE",
            "GLOBAL",
            "LOCAL",
            "TEMP",
            "TEMPORARY",
            "UNLOGGED",
            "RECURSIVE",
            "UNIQUE",
            "TRUSTED",
            "PROCEDURAL",
        ];
        let at = (1..self.toks.len())
            .find(|&i| !MODIFIERS.contains(&self.upper(i).as_str()))
            .unwrap_or(1);
        (at, self.upper(at))
    }

    /// Where the first `ON` at depth 0 is.
    fn on_at(&self) -> Option<usize> {
        let mut depth = 0usize;
        for (i, t) in self.toks.iter().enumerate() {
            match t.kind {
                TokKind::LParen => depth += 1,
                TokKind::RParen => depth = depth.saturating_sub(1),
                _ if depth == 0 && self.upper(i) == "ON" => return Some(i),
                _ => {}
            }
        }
        None
    }

    /// The first token after the leading key words from `from`.
    fn after_prefix(&self, from: usize) -> Option<usize> {
        (from..self.toks.len()).find(|&i| !PREFIX.contains(&self.upper(i).as_str()))
    }

    /// The (possibly qualified) name starting at token `i`: `a`, `s.a`, or `db.s.a`.
    fn name_at(&self, i: usize) -> Option<QualifiedName> {
        let mut parts = Vec::new();
        let mut j = i;
        while self.is_name(j) {
            parts.push(ident_value(&self.toks[j], self.text));
            if self.toks.get(j + 1).map(|t| t.kind) != Some(TokKind::Dot) {
                break;
            }
            j += 2;
        }
        let name = parts.pop()?;
        Some(QualifiedName {
            schema: parts.pop(),
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{analyze, Facts};

    fn of(sql: &str) -> Targets {
        let d = analyze(sql, &Facts::for_major(15), &Default::default());
        targets(d[0].text(sql), &d[0])
    }

    fn schemas(sql: &str) -> Vec<String> {
        of(sql).schemas.into_iter().collect()
    }

    #[test]
    fn qualified_names_place_the_statement() {
        assert_eq!(
            schemas("ALTER TABLE billing.t ADD COLUMN c int"),
            ["billing"]
        );
        assert_eq!(
            schemas("DROP TABLE billing.t, public.u"),
            ["billing", "public"]
        );
        assert_eq!(
            schemas("CREATE FUNCTION billing.f() RETURNS int LANGUAGE sql AS 'SELECT 1'"),
            ["billing"]
        );
        assert_eq!(schemas("CREATE INDEX i ON billing.t (a)"), ["billing"]);
        assert_eq!(schemas("COMMENT ON TABLE billing.t IS 'x'"), ["billing"]);
        assert_eq!(schemas("GRANT SELECT ON billing.t TO r"), ["billing"]);
        assert_eq!(
            schemas(
                "CREATE TRIGGER tr BEFORE INSERT ON billing.t FOR EACH ROW EXECUTE FUNCTION f()"
            ),
            ["billing"]
        );
        assert_eq!(
            schemas("ALTER TABLE public.t SET SCHEMA \"Billing\""),
            ["Billing", "public"]
        );
        assert_eq!(
            schemas("DROP SCHEMA IF EXISTS billing, archive CASCADE"),
            ["archive", "billing"]
        );
        assert_eq!(schemas("CREATE SCHEMA AUTHORIZATION alice"), ["alice"]);
    }

    #[test]
    fn unqualified_names_are_left_to_the_search_path() {
        let t = of("ALTER TABLE t ADD COLUMN c int");
        assert_eq!(t.relations, BTreeSet::from(["t".to_owned()]));
        assert!(t.schemas.is_empty() && !t.unknown);
        let t = of("CREATE TABLE n (a int)");
        assert!(t.created.contains("n") && t.relations.is_empty());
        let t = of("CREATE TEMP TABLE n (a int)");
        assert!(t.created.is_empty() && !t.unknown);
        let t = of("CREATE VIEW v AS SELECT 1");
        assert!(t.created.contains("v"));
        let t = of("ALTER TABLE billing.inv ADD COLUMN c int");
        assert!(t
            .objects
            .contains(&("billing".to_owned(), "inv".to_owned())));
        let t = of("DROP FUNCTION f(int)");
        assert!(t.relations.contains("f") || t.unknown, "{t:?}");
        assert_eq!(of("CREATE ROLE r"), Targets::default());
        assert_eq!(of("CREATE EXTENSION hstore"), Targets::default());
        assert_eq!(of("GRANT r TO u"), Targets::default());
        assert_eq!(schemas("GRANT USAGE ON SCHEMA billing TO r"), ["billing"]);
        // A table may be called like a key word.
        assert!(of("CREATE TABLE data (a int)").created.contains("data"));
        // DROP OWNED drops objects anywhere: not placed.
        let owned = of("DROP OWNED BY r");
        assert!(
            owned.relations.contains("owned") || owned.unknown,
            "{owned:?}"
        );
    }
}
