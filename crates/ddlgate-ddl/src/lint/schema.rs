//! The schema the linter knows: seeded from SQL (`--schema`, e.g. `pg_dump --schema-only`
//! output) or from a live catalog (`--database-url`), then changed by every migration
//! statement in file order, so a later file is judged against what earlier ones built (the
//! old type of a column whose type changes, the NOT NULL checks already validated, the
//! indexes that exist). What it does not know stays unknown: sizes are never guessed, so a
//! table is never taken for a small one.

use std::collections::BTreeMap;

use crate::analyze::Replay;
use crate::facts::{ColumnFacts, Facts, IndexFacts, RelKind, TableFacts};
use crate::ir::{AlterAction, ColumnSpec, ConstraintKind, QualifiedName, Stmt};

/// Tables known to the linter, as catalog facts, and the NOT NULL checks not yet validated.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The facts statements are judged under, `tables` included.
    facts: Facts,
    /// `CHECK (col IS NOT NULL) NOT VALID` constraints by table and name: their column.
    unvalidated: BTreeMap<QualifiedName, BTreeMap<String, String>>,
    /// Validated ones by table and name (to forget them when dropped).
    validated: BTreeMap<QualifiedName, BTreeMap<String, String>>,
    /// Every CHECK constraint by table and name, its definition and whether it is validated
    /// (valid ones are the table's `checks`, which can imply a partition bound).
    checks: BTreeMap<QualifiedName, BTreeMap<String, (String, bool)>>,
}

impl Schema {
    /// An empty schema under `facts` (whose own tables, if any, are kept).
    #[must_use]
    pub fn new(facts: Facts) -> Self {
        Self {
            facts,
            ..Self::default()
        }
    }

    /// The facts, with the transaction state and submission of the part about to be analysed.
    pub fn facts_mut(&mut self) -> &mut Facts {
        &mut self.facts
    }

    /// Replays every statement of `sql` (e.g. a schema dump).
    pub fn replay_sql(&mut self, sql: &str) {
        for seg in crate::split(sql) {
            if let Some(span) = seg.stmt {
                let (_, stmt) = crate::parse_statement(sql.get(span).unwrap_or(""));
                self.apply(&stmt);
            }
        }
    }

    /// The known table whose name resolves from `name` (qualified or not).
    fn key_of(&self, name: &QualifiedName) -> Option<QualifiedName> {
        if self.facts.tables.contains_key(name) {
            return Some(name.clone());
        }
        self.facts
            .tables
            .keys()
            .find(|k| k.name == name.name && (k.schema.is_none() || name.schema.is_none()))
            .cloned()
    }

    fn table_mut(&mut self, name: &QualifiedName) -> Option<&mut TableFacts> {
        let key = self.key_of(name)?;
        self.facts.tables.get_mut(&key)
    }

    fn create_table(&mut self, name: &QualifiedName, columns: &[ColumnSpec]) {
        if self.key_of(name).is_some() {
            // `IF NOT EXISTS` skips it; without, the server refuses it: either way it stays.
            return;
        }
        let pk: Vec<String> = columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.clone())
            .collect();
        let table = TableFacts {
            columns: columns.iter().map(column_facts).collect(),
            has_primary_key: (!pk.is_empty()).then_some(true),
            pk_columns: pk,
            kind: Some(RelKind::Table),
            ..TableFacts::default()
        };
        self.facts.tables.insert(name.clone(), table);
    }

    fn alter_table(&mut self, name: &QualifiedName, actions: &[AlterAction]) {
        let Some(key) = self.key_of(name) else {
            return;
        };
        for action in actions {
            self.alter(&key, action);
        }
    }

    fn alter(&mut self, key: &QualifiedName, action: &AlterAction) {
        use AlterAction as A;
        match action {
            A::RenameTable { to } => {
                if let Some(t) = self.facts.tables.remove(key) {
                    let renamed = QualifiedName {
                        schema: key.schema.clone(),
                        name: to.clone(),
                    };
                    self.facts.tables.insert(renamed, t);
                }
                return;
            }
            A::AddConstraint {
                constraint,
                not_valid,
            } => return self.add_constraint(key, constraint, *not_valid),
            A::ValidateConstraint { name } => {
                self.validate_check(key, name);
                let Some(column) = self.unvalidated.get_mut(key).and_then(|m| m.remove(name))
                else {
                    return;
                };
                if let Some(t) = self.facts.tables.get_mut(key) {
                    t.validated_not_null_checks.insert(column.clone());
                }
                self.validated
                    .entry(key.clone())
                    .or_default()
                    .insert(name.clone(), column);
                return;
            }
            A::DropConstraint { name, .. } => return self.drop_constraint(key, name),
            _ => {}
        }
        let Some(t) = self.facts.tables.get_mut(key) else {
            return;
        };
        match action {
            A::AddColumn { column, .. } if t.column(&column.name).is_none() => {
                t.columns.push(column_facts(column));
            }
            A::DropColumn { names, .. } => t.columns.retain(|c| !names.contains(&c.name)),
            A::AlterColumnType { column, ty, .. } => {
                if let Some(c) = t.columns.iter_mut().find(|c| &c.name == column) {
                    c.data_type = ty.text.clone();
                }
            }
            A::SetNotNull { column } | A::DropNotNull { column } => {
                let set = matches!(action, A::SetNotNull { .. });
                if let Some(c) = t.columns.iter_mut().find(|c| &c.name == column) {
                    c.not_null = set;
                }
            }
            A::RenameColumn { from, to } => {
                if let Some(c) = t.columns.iter_mut().find(|c| &c.name == from) {
                    c.name = to.clone();
                }
            }
            _ => {}
        }
    }

    /// A CHECK constraint's definition, remembered by name; a valid one joins the table's checks.
    fn remember_check(
        &mut self,
        key: &QualifiedName,
        constraint: &crate::ir::ConstraintSpec,
        valid: bool,
    ) {
        let (ConstraintKind::Check { .. }, Some(def)) = (&constraint.kind, &constraint.def_text)
        else {
            return;
        };
        let name = constraint.name.clone().unwrap_or_default();
        self.checks
            .entry(key.clone())
            .or_default()
            .insert(name, (def.clone(), valid));
        if let (true, Some(t)) = (valid, self.facts.tables.get_mut(key)) {
            t.checks.push(def.clone());
        }
    }

    fn validate_check(&mut self, key: &QualifiedName, name: &str) {
        let Some((def, valid)) = self.checks.get_mut(key).and_then(|m| m.get_mut(name)) else {
            return;
        };
        if !*valid {
            *valid = true;
            if let Some(t) = self.facts.tables.get_mut(key) {
                t.checks.push(def.clone());
            }
        }
    }

    fn forget_check(&mut self, key: &QualifiedName, name: &str) {
        let Some((def, true)) = self.checks.get_mut(key).and_then(|m| m.remove(name)) else {
            return;
        };
        if let Some(t) = self.facts.tables.get_mut(key) {
            if let Some(i) = t.checks.iter().position(|c| *c == def) {
                t.checks.remove(i);
            }
        }
    }

    fn add_constraint(
        &mut self,
        key: &QualifiedName,
        constraint: &crate::ir::ConstraintSpec,
        not_valid: bool,
    ) {
        self.remember_check(key, constraint, !not_valid);
        let Some(t) = self.facts.tables.get_mut(key) else {
            return;
        };
        match &constraint.kind {
            ConstraintKind::Check {
                not_null_of: Some(column),
            } => {
                let name = constraint.name.clone().unwrap_or_default();
                if not_valid {
                    self.unvalidated
                        .entry(key.clone())
                        .or_default()
                        .insert(name, column.clone());
                } else {
                    t.validated_not_null_checks.insert(column.clone());
                    self.validated
                        .entry(key.clone())
                        .or_default()
                        .insert(name, column.clone());
                }
            }
            ConstraintKind::PrimaryKey { columns } => {
                t.has_primary_key = Some(true);
                t.pk_columns = columns.clone();
                for c in t.columns.iter_mut().filter(|c| columns.contains(&c.name)) {
                    c.not_null = true;
                }
            }
            ConstraintKind::NotNull { column } => {
                if let Some(c) = t.columns.iter_mut().find(|c| &c.name == column) {
                    c.not_null = true;
                }
            }
            _ => {}
        }
    }

    fn drop_constraint(&mut self, key: &QualifiedName, name: &str) {
        self.forget_check(key, name);
        if let Some(m) = self.unvalidated.get_mut(key) {
            m.remove(name);
        }
        let Some(column) = self.validated.get_mut(key).and_then(|m| m.remove(name)) else {
            return;
        };
        let still = self
            .validated
            .get(key)
            .is_some_and(|m| m.values().any(|c| c == &column));
        if let (false, Some(t)) = (still, self.facts.tables.get_mut(key)) {
            t.validated_not_null_checks.remove(&column);
        }
    }

    fn create_index(
        &mut self,
        name: Option<&QualifiedName>,
        table: &QualifiedName,
        unique: bool,
        tail: Option<&str>,
    ) {
        let Some(t) = self.table_mut(table) else {
            return;
        };
        let index = IndexFacts {
            name: name.map(|n| n.name.clone()).unwrap_or_default(),
            columns: tail.map(key_columns).unwrap_or_default(),
            unique,
            valid: true,
        };
        if !index.name.is_empty() && t.indexes.iter().any(|i| i.name == index.name) {
            return;
        }
        t.indexes.push(index);
    }

    fn drop_index(&mut self, names: &[QualifiedName]) {
        for t in self.facts.tables.values_mut() {
            t.indexes
                .retain(|i| !names.iter().any(|n| n.name == i.name));
        }
    }
}

impl Replay for Schema {
    fn facts(&self) -> &Facts {
        &self.facts
    }

    fn apply(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::CreateTable {
                name,
                columns,
                temporary: false,
                partitioned,
                partition_key,
                ..
            } => {
                self.create_table(name, columns);
                if *partitioned {
                    if let Some(t) = self.table_mut(name) {
                        t.kind = Some(RelKind::PartitionedTable);
                        t.partition_key.clone_from(partition_key);
                    }
                }
            }
            Stmt::AlterTable { table, actions } => self.alter_table(table, actions),
            Stmt::DropTable { names, .. } => {
                for n in names {
                    if let Some(k) = self.key_of(n) {
                        self.facts.tables.remove(&k);
                        self.unvalidated.remove(&k);
                        self.validated.remove(&k);
                        self.checks.remove(&k);
                    }
                }
            }
            Stmt::CreateIndex {
                name,
                table,
                unique,
                tail_text,
                ..
            } => self.create_index(name.as_ref(), table, *unique, tail_text.as_deref()),
            Stmt::DropIndex { names, .. } => self.drop_index(names),
            _ => {}
        }
    }
}

/// A column of `CREATE TABLE` or `ADD COLUMN` as the catalog would show it.
fn column_facts(c: &ColumnSpec) -> ColumnFacts {
    ColumnFacts {
        name: c.name.clone(),
        data_type: c.ty.text.clone(),
        not_null: c.not_null || c.primary_key,
    }
}

/// The key columns of an index from the text after its table name (`(a, b) WHERE …`): plain
/// column names only; an expression anywhere makes the list empty (unknown).
fn key_columns(tail: &str) -> Vec<String> {
    let Some(open) = tail.find('(') else {
        return Vec::new();
    };
    let inner = &tail[open + 1..];
    let Some(close) = inner.find(')') else {
        return Vec::new();
    };
    let list = &inner[..close];
    if list.contains('(') {
        return Vec::new();
    }
    let mut out = Vec::new();
    for item in list.split(',') {
        let mut words = item.split_whitespace();
        let Some(first) = words.next() else {
            return Vec::new();
        };
        let plain = first
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
        if !plain {
            return Vec::new();
        }
        out.push(first.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests;
