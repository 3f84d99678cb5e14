//! Migrations applied as Flyway does over pgjdbc (tests/jdbc/migrate.sh): autocommit off,
//! PreparedStatement per statement, a `flyway_schema_history` row, `commit()` per file.

use std::process::Command;

use ddlgate_testkit::{shared_pg, Pg};

use crate::harness::{
    assert_schema, columns, fill_orders, skip, tools_path, Expected, Gateway, Policy, ToolRun, USER,
};

/// Applies `tests/tools/sqlx/<files>` through the gateway; `None` when Java is missing.
fn migrate(gw: &Gateway, db: &str, files: &[&str]) -> Option<ToolRun> {
    let url = format!(
        "jdbc:postgresql://127.0.0.1:{}/{db}?user={}&password={}&sslmode=disable",
        gw.port, USER.0, USER.1
    );
    let out = Command::new("sh")
        .arg(tools_path("../jdbc/migrate.sh"))
        .arg(url)
        .args(files.iter().map(|f| tools_path("sqlx").join(f)))
        .output()
        .expect("run migrate.sh");
    let run = ToolRun::from(out);
    if run.output.starts_with("SKIP:") {
        return skip(run.output.trim());
    }
    Some(run)
}

fn recorded(pg: &Pg, db: &str, version: &str) -> String {
    pg.psql(
        db,
        &format!("SELECT count(*) = 1 FROM flyway_schema_history WHERE version = '{version}' AND success"),
    )
}

#[test]
fn jdbc_safe_changes_pass_through_the_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("jdbc_migrate");
    let gw = Gateway::start(pg, Policy::Enforce);
    let init = "migrations/0001_init.sql";
    let Some(first) = migrate(&gw, &db, &[init]) else {
        return;
    };
    first.assert_ok();
    fill_orders(pg, &db, "orders");

    let run = migrate(&gw, &db, &[init, "migrations/0002_changes.sql"]).expect("java");
    run.assert_ok();
    assert!(
        run.output.contains("APPLIED 0002_changes.sql"),
        "{}",
        run.output
    );
    assert_schema(
        pg,
        &db,
        &Expected {
            table: "orders",
            columns: &["id", "amount", "customer_id", "token"],
            token: "token",
            index: "orders_amount_idx",
            parent: "customer",
            bookkeeping:
                "SELECT count(*) = 1 FROM flyway_schema_history WHERE version = '2' AND success",
        },
    );
    gw.assert_rewritten(&["add column token"]);
    gw.assert_rewritten(&["create index orders_amount_idx"]);
}

#[test]
fn jdbc_rename_is_blocked_with_the_rule_and_hint() {
    let pg = shared_pg();
    let db = pg.fresh_db("jdbc_migrate_block");
    let gw = Gateway::start(pg, Policy::BlockRename);
    let init = "block/0001_init.sql";
    let Some(first) = migrate(&gw, &db, &[init]) else {
        return;
    };
    first.assert_ok();

    migrate(&gw, &db, &[init, "block/0002_rename.sql"])
        .expect("java")
        .assert_blocked_rename();
    assert_eq!(columns(pg, &db, "orders"), "id,amount,customer_id");
    assert_eq!(recorded(pg, &db, "2"), "f");
}
