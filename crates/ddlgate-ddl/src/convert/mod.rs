//! The one boundary between sqlparser 0.63 (`PostgreSqlDialect`) and the project's IR.
//!
//! Only this module (and its children) import `sqlparser`. It parses one statement's text and
//! maps the AST into [`crate::ir::Stmt`]. Text the IR keeps (types, defaults, constraint
//! definitions, index tails) is sliced from the original statement by tokens and verified by
//! re-parsing — never produced by sqlparser's `Display`, which mis-escapes some literals.

mod alter;
mod fast_tokens;
mod keyword;
pub(crate) mod text;

use crate::ir::{ColumnSpec, ExprSpec, Generated, QualifiedName, Stmt, TxCommand};
use sqlparser::ast::{
    ColumnDef, ColumnOption, DataType, Expr, GeneratedExpressionMode, Ident, ObjectName,
    ObjectNamePart, ObjectType, Statement, TableConstraint,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

/// A sqlparser `Parser` (PostgreSqlDialect, default options, as `Parser::parse_sql` makes it)
/// loaded with the tokens of `sql`: built from the project lexer's tokens `lexed` when the
/// text is in the subset [`fast_tokens`] covers exactly, else from sqlparser's tokenizer.
fn parser_for<'d>(
    dialect: &'d PostgreSqlDialect,
    sql: &str,
    lexed: &[crate::lexer::Token],
) -> Result<Parser<'d>, sqlparser::parser::ParserError> {
    let parser = Parser::new(dialect);
    match fast_tokens::tokens(sql, lexed) {
        Some(tokens) => Ok(parser.with_tokens_with_locations(tokens)),
        None => parser.try_with_sql(sql),
    }
}

/// Every token of `sql`, trivia included.
fn lex(sql: &str) -> Vec<crate::lexer::Token> {
    crate::lexer::Lexer::new(sql).collect()
}

/// `Parser::parse_sql(&PostgreSqlDialect {}, sql)`, tokenised once by the project lexer;
/// also returns the significant tokens for the conversion.
fn parse_sql(
    sql: &str,
) -> Result<(Vec<Statement>, Vec<crate::lexer::Token>), sqlparser::parser::ParserError> {
    let mut lexed = lex(sql);
    let dialect = PostgreSqlDialect {};
    let stmts = parser_for(&dialect, sql, &lexed)?.parse_statements()?;
    lexed.retain(|t| !t.kind.is_trivia());
    Ok((stmts, lexed))
}

/// Parse one statement's text into the IR. `Err` carries sqlparser's message.
pub fn parse(sql: &str) -> Result<Stmt, String> {
    let (mut stmts, toks) = parse_sql(sql).map_err(|e| e.to_string())?;
    if stmts.len() != 1 {
        return Err(format!("expected one statement, found {}", stmts.len()));
    }
    let stmt = stmts.pop().ok_or_else(|| "no statement".to_owned())?;
    Ok(convert(sql, &toks, stmt))
}

/// Does `sql` parse as exactly one statement? Used to verify generated plan SQL.
#[must_use]
pub fn parses(sql: &str) -> bool {
    parse_sql(sql).is_ok_and(|(v, _)| v.len() == 1)
}

pub(crate) fn ident(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

pub(crate) fn qname(n: &ObjectName) -> QualifiedName {
    let parts: Vec<String> =
        n.0.iter()
            .map(|p| match p {
                ObjectNamePart::Identifier(i) => ident(i),
                ObjectNamePart::Function(f) => f.to_string().to_ascii_lowercase(),
            })
            .collect();
    match parts.as_slice() {
        [] => QualifiedName::bare(""),
        [one] => QualifiedName::bare(one),
        [.., schema, name] => QualifiedName {
            schema: Some(schema.clone()),
            name: name.clone(),
        },
    }
}

/// The only significant token of `slice`, if it has exactly one.
fn single_token(slice: &str) -> Option<crate::lexer::Token> {
    let mut it = crate::lexer::significant(slice);
    let first = it.next()?;
    it.next().is_none().then_some(first)
}

/// Verify that `slice` re-parses to exactly `expr` (sqlparser's `PartialEq` ignores spans).
/// Fast path: a slice that is one literal token for an AST that is one literal value.
fn verify_expr(slice: &str, expr: &Expr) -> bool {
    if let (Some(t), Expr::Value(_)) = (single_token(slice), expr) {
        if matches!(
            t.kind,
            crate::lexer::TokKind::String | crate::lexer::TokKind::Number
        ) {
            return true;
        }
    }
    let dialect = PostgreSqlDialect {};
    let Ok(mut p) = parser_for(&dialect, slice, &lex(slice)) else {
        return false;
    };
    match p.parse_expr() {
        Ok(e) => e == *expr && p.peek_token().token == Token::EOF,
        Err(_) => false,
    }
}

/// Verify that `slice` re-parses to exactly `ty`. Fast path: a one-word type whose AST prints
/// as the same word.
fn verify_type(slice: &str, ty: &DataType) -> bool {
    if single_token(slice).is_some_and(|t| t.kind == crate::lexer::TokKind::Word)
        && ty.to_string().eq_ignore_ascii_case(slice)
    {
        return true;
    }
    let dialect = PostgreSqlDialect {};
    let Ok(mut p) = parser_for(&dialect, slice, &lex(slice)) else {
        return false;
    };
    match p.parse_data_type() {
        Ok(t) => t == *ty && p.peek_token().token == Token::EOF,
        Err(_) => false,
    }
}

/// Build an [`ExprSpec`] from an AST expression and an optional candidate source slice.
pub(crate) fn expr_spec(expr: &Expr, slice: Option<&str>) -> ExprSpec {
    let text = slice.filter(|s| verify_expr(s, expr)).map(str::to_owned);
    // Function names are read from the faithful text when there is one; otherwise from the
    // Display rendering, which is fine for *analysis* (it is never forwarded).
    let scan = text.clone().unwrap_or_else(|| expr.to_string());
    let (functions, has_subquery) = text::functions_in(&scan);
    ExprSpec {
        text,
        functions,
        has_subquery,
    }
}

/// Convert a column definition; `sql` and `region` locate its source text (`toks`: the
/// statement's significant tokens).
pub(crate) fn column_spec(
    sql: &str,
    toks: &[crate::lexer::Token],
    region: Option<&std::ops::Range<usize>>,
    skip_leading: &[&str],
    col: &ColumnDef,
) -> ColumnSpec {
    let (ty_range, def_range) = region.map_or((None, None), |r| {
        text::column_def_parts(sql, toks, r, skip_leading)
    });
    let ty_slice = ty_range
        .and_then(|r| sql.get(r))
        .filter(|s| verify_type(s, &col.data_type));
    let ty_text = ty_slice.map_or_else(|| col.data_type.to_string(), str::to_owned);
    let (mut ty, serial) = text::normalize_type(&ty_text);
    if ty_slice.is_none() {
        // Keep the IR honest: the text came from Display, so it must not be forwarded.
        ty.text.clear();
    }
    let mut spec = ColumnSpec {
        name: ident(&col.name),
        ty,
        not_null: false,
        default: None,
        generated: None,
        serial,
        primary_key: false,
        unique: false,
        check: false,
        references: None,
    };
    for opt in &col.options {
        match &opt.option {
            ColumnOption::NotNull => spec.not_null = true,
            ColumnOption::Default(e) => {
                let slice = def_range.clone().and_then(|r| sql.get(r));
                spec.default = Some(expr_spec(e, slice));
            }
            ColumnOption::PrimaryKey(_) => {
                spec.primary_key = true;
                spec.not_null = true;
            }
            ColumnOption::Unique(_) => spec.unique = true,
            ColumnOption::Check(_) => spec.check = true,
            ColumnOption::ForeignKey(fk) => spec.references = Some(qname(&fk.foreign_table)),
            ColumnOption::Generated {
                generation_expr,
                generation_expr_mode,
                ..
            } => {
                spec.generated = Some(match (generation_expr, generation_expr_mode) {
                    (None, _) => Generated::Identity,
                    (Some(_), Some(GeneratedExpressionMode::Virtual)) => Generated::Virtual,
                    (Some(_), _) => Generated::Stored,
                });
            }
            ColumnOption::Identity(_) => spec.generated = Some(Generated::Identity),
            _ => {}
        }
    }
    spec
}

fn first_words(sql: &str, n: usize) -> String {
    sql.split_whitespace()
        .take(n)
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

/// Map the AST to the IR; `toks` are the significant tokens of `sql`.
fn convert(sql: &str, toks: &[crate::lexer::Token], stmt: Statement) -> Stmt {
    match stmt {
        Statement::AlterTable(at) => alter::alter_table(sql, toks, &at),
        Statement::CreateIndex(ci) => {
            let tail_text = index_tail(sql, toks);
            let only = toks
                .iter()
                .position(|t| t.is_kw(sql, "on"))
                .is_some_and(|on| toks.get(on + 1).is_some_and(|t| t.is_kw(sql, "only")));
            Stmt::CreateIndex {
                name: ci.name.as_ref().map(qname),
                table: qname(&ci.table_name),
                unique: ci.unique,
                concurrently: ci.concurrently,
                if_not_exists: ci.if_not_exists,
                tail_text,
                only,
            }
        }
        Statement::Drop {
            object_type,
            if_exists,
            names,
            cascade,
            ..
        } => {
            let names: Vec<QualifiedName> = names.iter().map(qname).collect();
            match object_type {
                ObjectType::Table => Stmt::DropTable { names, cascade },
                ObjectType::Index => Stmt::DropIndex {
                    names,
                    concurrently: false,
                    if_exists,
                    cascade,
                },
                ObjectType::Database => Stmt::DropDatabase {
                    name: names.first().map(ToString::to_string).unwrap_or_default(),
                },
                ObjectType::Schema => Stmt::DropSchema { cascade },
                other => Stmt::DropOther {
                    what: other.to_string().to_ascii_lowercase(),
                    cascade,
                },
            }
        }
        Statement::Truncate(t) => Stmt::Truncate {
            tables: t.table_names.iter().map(|t| qname(&t.name)).collect(),
            cascade: matches!(t.cascade, Some(sqlparser::ast::CascadeOption::Cascade)),
        },
        Statement::Vacuum(v) => Stmt::Vacuum {
            full: v.full,
            tables: v.table_name.iter().map(qname).collect(),
        },
        Statement::CreateTable(ct) => {
            let regions = create_table_regions(toks);
            let aligned = regions.len() == ct.columns.len() + ct.constraints.len();
            let columns = ct
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| column_spec(sql, toks, aligned.then(|| &regions[i]), &[], c))
                .collect::<Vec<_>>();
            let mut references: Vec<QualifiedName> = columns
                .iter()
                .filter_map(|c| c.references.clone())
                .collect();
            for c in &ct.constraints {
                if let TableConstraint::ForeignKey(fk) = c {
                    references.push(qname(&fk.foreign_table));
                }
            }
            Stmt::CreateTable {
                name: qname(&ct.name),
                columns,
                partition_of: ct.partition_of.as_ref().map(qname),
                references,
                temporary: ct.temporary,
                partitioned: ct.partition_by.is_some(),
                partition_key: crate::partition_text::partition_key(sql),
            }
        }
        Statement::CreateTrigger(t) => Stmt::CreateTrigger {
            table: qname(&t.table_name),
        },
        Statement::AlterType(at) => match at.operation {
            sqlparser::ast::AlterTypeOperation::AddValue(_) => Stmt::AlterEnumAddValue {
                type_name: qname(&at.name),
            },
            _ => Stmt::AlterType {
                type_name: qname(&at.name),
            },
        },
        Statement::Lock(l) => Stmt::LockTable {
            tables: l.tables.iter().map(|t| qname(&t.name)).collect(),
            mode: lock_mode(l.lock_mode.as_ref()),
        },
        Statement::CreateRole(_)
        | Statement::AlterRole { .. }
        | Statement::CreateUser(_)
        | Statement::AlterUser(_) => Stmt::Role {
            has_password: crate::redact::has_password(sql),
        },
        Statement::CreateFunction(_) | Statement::CreateProcedure { .. } => Stmt::CreateRoutine {
            body: Some(crate::dynamic::string_contents(sql)),
        },
        Statement::Call(_) => Stmt::Call,
        Statement::CreateDomain(d) if !d.constraints.is_empty() => Stmt::DomainConstraint,
        Statement::CreateSequence { .. } => Stmt::Sequence,
        Statement::AlterIndex { name, .. } => Stmt::AlterIndex {
            name: qname(&name),
            rename: true,
        },
        Statement::StartTransaction { .. } => Stmt::Tx(TxCommand::Begin),
        Statement::Commit { chain: true, .. } => Stmt::Tx(TxCommand::CommitAndChain),
        Statement::Commit { .. } => Stmt::Tx(TxCommand::Commit),
        Statement::Rollback { savepoint, chain } => Stmt::Tx(match (savepoint, chain) {
            (Some(_), _) => TxCommand::Savepoint,
            (None, true) => TxCommand::RollbackAndChain,
            (None, false) => TxCommand::Rollback,
        }),
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::Merge(_)
        | Statement::Explain { .. }
        | Statement::Copy { .. } => Stmt::NotDdl,
        Statement::DropDomain(d) => drop_other("domain", d.drop_behavior.as_ref()),
        Statement::DropFunction(f) => drop_other("function", f.drop_behavior.as_ref()),
        Statement::DropExtension(e) => Stmt::DropOther {
            what: "extension".into(),
            cascade: matches!(
                e.cascade_or_restrict,
                Some(sqlparser::ast::ReferentialAction::Cascade)
            ),
        },
        _ => Stmt::OtherDdl {
            what: first_words(sql, 2),
        },
    }
}

fn drop_other(what: &str, behavior: Option<&sqlparser::ast::DropBehavior>) -> Stmt {
    Stmt::DropOther {
        what: what.into(),
        cascade: matches!(behavior, Some(sqlparser::ast::DropBehavior::Cascade)),
    }
}

fn lock_mode(m: Option<&sqlparser::ast::LockTableMode>) -> crate::locks::LockMode {
    use crate::locks::LockMode as L;
    use sqlparser::ast::LockTableMode as M;
    match m {
        Some(M::AccessShare) => L::AccessShare,
        Some(M::RowShare) => L::RowShare,
        Some(M::RowExclusive) => L::RowExclusive,
        Some(M::ShareUpdateExclusive) => L::ShareUpdateExclusive,
        Some(M::Share) => L::Share,
        Some(M::ShareRowExclusive) => L::ShareRowExclusive,
        Some(M::Exclusive) => L::Exclusive,
        // The documented default of LOCK TABLE, and the safe assumption for anything else.
        _ => L::AccessExclusive,
    }
}

/// Column/constraint regions of `CREATE TABLE name ( a, b, … )`.
fn create_table_regions(toks: &[crate::lexer::Token]) -> Vec<std::ops::Range<usize>> {
    let Some(open) = toks
        .iter()
        .position(|t| t.kind == crate::lexer::TokKind::LParen)
    else {
        return Vec::new();
    };
    // Find the matching close paren.
    let mut depth = 0usize;
    let mut close = toks.len();
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            crate::lexer::TokKind::LParen => depth += 1,
            crate::lexer::TokKind::RParen => {
                depth -= 1;
                if depth == 0 {
                    close = i;
                    break;
                }
            }
            _ => {}
        }
    }
    text::comma_regions(&toks[..close], open + 1)
}

/// Source text after the table name of `CREATE INDEX … ON [ONLY] table`.
fn index_tail(sql: &str, toks: &[crate::lexer::Token]) -> Option<String> {
    let on = toks.iter().position(|t| t.is_kw(sql, "on"))?;
    let mut i = on + 1;
    if toks.get(i).is_some_and(|t| t.is_kw(sql, "only")) {
        return None;
    }
    i = text::skip_name(toks, i);
    let start = toks.get(i)?.span.start;
    let end = toks.last()?.span.end;
    sql.get(start..end).map(str::to_owned)
}
