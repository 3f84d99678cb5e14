//! Alembic's `upgrade` (SQLAlchemy + psycopg2; all pending revisions in one transaction).

use std::process::Command;

use ddlgate_testkit::shared_pg;

use crate::harness::{
    assert_schema, columns, fill_orders, tools_path, venv, Expected, Gateway, Policy, ToolRun, USER,
};

/// Runs `alembic upgrade TARGET` against `port` (the gateway, or the server itself);
/// `None` when the venv is missing.
pub fn upgrade(port: u16, db: &str, target: &str) -> Option<ToolRun> {
    let alembic = venv()?.join("bin/alembic");
    let out = Command::new(alembic)
        .arg("-c")
        .arg(tools_path("alembic/alembic.ini"))
        .args(["upgrade", target])
        .env(
            "DDLGATE_DB_URL",
            format!(
                "postgresql+psycopg2://{}:{}@127.0.0.1:{}/{db}?sslmode=disable",
                USER.0, USER.1, port
            ),
        )
        .output()
        .expect("run alembic");
    Some(out.into())
}

#[test]
fn alembic_safe_changes_pass_through_the_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("alembic");
    let gw = Gateway::start(pg, Policy::Enforce);
    let Some(first) = upgrade(gw.port, &db, "001") else {
        return;
    };
    first.assert_ok();
    fill_orders(pg, &db, "orders");

    upgrade(gw.port, &db, "002").expect("venv").assert_ok();
    assert_schema(
        pg,
        &db,
        &Expected {
            table: "orders",
            columns: &["id", "amount", "token", "customer_id"],
            token: "token",
            index: "orders_amount_idx",
            parent: "customer",
            bookkeeping: "SELECT version_num = '002' FROM alembic_version",
        },
    );
    gw.assert_rewritten(&["add column token"]);
    gw.assert_rewritten(&["create index orders_amount_idx"]);
}

#[test]
fn alembic_fresh_database_gets_all_revisions_in_one_transaction() {
    let pg = shared_pg();
    let db = pg.fresh_db("alembic_fresh");
    let gw = Gateway::start(pg, Policy::Enforce);
    let Some(run) = upgrade(gw.port, &db, "002") else {
        return;
    };
    run.assert_ok();
    assert_eq!(columns(pg, &db, "orders"), "id,amount,token,customer_id");
    assert_eq!(
        pg.psql(&db, "SELECT version_num FROM alembic_version"),
        "002"
    );
}

#[test]
fn alembic_rename_is_blocked_with_the_rule_and_hint() {
    let pg = shared_pg();
    let db = pg.fresh_db("alembic_block");
    let gw = Gateway::start(pg, Policy::BlockRename);
    // 001 and 002 straight on the server, so that only the rename meets the gateway.
    let Some(first) = upgrade(pg.port(), &db, "002") else {
        return;
    };
    first.assert_ok();

    upgrade(gw.port, &db, "003")
        .expect("venv")
        .assert_blocked_rename();
    assert_eq!(columns(pg, &db, "orders"), "id,amount,token,customer_id");
    assert_eq!(
        pg.psql(&db, "SELECT version_num FROM alembic_version"),
        "002"
    );
}
