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

/// Tables known to the linter, as catalog facts, and the CHECK constraints the migrations add.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The facts statements are judged under, `tables` included.
    facts: Facts,
    /// CHECK constraints the migrations added, by table and name. A valid one is in its
    /// table's facts: its definition in `checks` (which can imply a partition bound), its
    /// column in `validated_not_null_checks` when it is exactly `col IS NOT NULL`.
    checks: BTreeMap<QualifiedName, BTreeMap<String, Check>>,
}

/// A CHECK constraint added by a migration.
#[derive(Debug, Clone)]
struct Check {
    /// Its definition as written (`CHECK (…)`), when sliced.
    def: Option<String>,
    /// The column it proves non-null.
    not_null_of: Option<String>,
    /// Validated (added without `NOT VALID`, or validated since).
    valid: bool,
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
            A::ValidateConstraint { name } => return self.validate_check(key, name),
            A::DropConstraint { name, .. } => return self.forget_check(key, name),
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

    /// A CHECK constraint, remembered by name; a valid one joins its table's facts.
    fn remember_check(
        &mut self,
        key: &QualifiedName,
        constraint: &crate::ir::ConstraintSpec,
        valid: bool,
    ) {
        let ConstraintKind::Check { not_null_of } = &constraint.kind else {
            return;
        };
        let check = Check {
            def: constraint.def_text.clone(),
            not_null_of: not_null_of.clone(),
            valid,
        };
        if valid {
            self.mark(key, &check, true);
        }
        let name = constraint.name.clone().unwrap_or_default();
        self.checks
            .entry(key.clone())
            .or_default()
            .insert(name, check);
    }

    fn validate_check(&mut self, key: &QualifiedName, name: &str) {
        let Some(check) = self.checks.get_mut(key).and_then(|m| m.get_mut(name)) else {
            return;
        };
        if !check.valid {
            check.valid = true;
            let check = check.clone();
            self.mark(key, &check, true);
        }
    }

    fn forget_check(&mut self, key: &QualifiedName, name: &str) {
        let Some(check) = self.checks.get_mut(key).and_then(|m| m.remove(name)) else {
            return;
        };
        if check.valid {
            self.mark(key, &check, false);
        }
    }

    /// Adds a valid check to its table's facts (`on`), or takes it out: its definition once,
    /// its NOT NULL column unless another valid check still proves it.
    fn mark(&mut self, key: &QualifiedName, check: &Check, on: bool) {
        let still_proved = |checks: &BTreeMap<String, Check>, column: &String| {
            checks
                .values()
                .any(|c| c.valid && c.not_null_of.as_ref() == Some(column))
        };
        let others = self.checks.get(key);
        let Some(t) = self.facts.tables.get_mut(key) else {
            return;
        };
        if let Some(def) = &check.def {
            match (on, t.checks.iter().position(|c| c == def)) {
                (true, _) => t.checks.push(def.clone()),
                (false, Some(i)) => {
                    t.checks.remove(i);
                }
                (false, None) => {}
            }
        }
        if let Some(column) = &check.not_null_of {
            if on {
                t.validated_not_null_checks.insert(column.clone());
            } else if !others.is_some_and(|m| still_proved(m, column)) {
                t.validated_not_null_checks.remove(column);
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
