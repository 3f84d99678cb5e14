//! Django's `manage.py migrate` (psycopg2, simple query protocol, one transaction per migration).

use std::process::Command;

use ddlgate_testkit::{shared_pg, Pg};

use crate::harness::{
    assert_schema, columns, fill_orders, tools_path, venv, Expected, Gateway, Policy, ToolRun, USER,
};

/// Runs `manage.py migrate ARGS` through the gateway; `None` when the venv is missing.
pub fn migrate(gw: &Gateway, db: &str, args: &[&str]) -> Option<ToolRun> {
    let python = venv()?.join("bin/python");
    let out = Command::new(python)
        .arg("manage.py")
        .arg("migrate")
        .args(args)
        .current_dir(tools_path("django"))
        .env("DDLGATE_DB_HOST", "127.0.0.1")
        .env("DDLGATE_DB_PORT", gw.port.to_string())
        .env("DDLGATE_DB_NAME", db)
        .env("DDLGATE_DB_USER", USER.0)
        .env("DDLGATE_DB_PASSWORD", USER.1)
        .output()
        .expect("run manage.py");
    Some(out.into())
}

fn recorded(pg: &Pg, db: &str, app: &str, name: &str) -> String {
    pg.psql(
        db,
        &format!(
            "SELECT count(*) = 1 FROM django_migrations WHERE app = '{app}' AND name = '{name}'"
        ),
    )
}

#[test]
fn django_safe_changes_pass_through_the_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("django");
    let gw = Gateway::start(pg, Policy::Enforce);
    let Some(first) = migrate(&gw, &db, &["shop", "0001"]) else {
        return;
    };
    first.assert_ok();
    fill_orders(pg, &db, "shop_order");

    let run = migrate(&gw, &db, &["shop"]).expect("venv");
    run.assert_ok();
    assert_schema(
        pg,
        &db,
        &Expected {
            table: "shop_order",
            columns: &["id", "amount", "token", "customer_id"],
            token: "token",
            index: "shop_order_amount_idx",
            parent: "shop_customer",
            bookkeeping: "SELECT count(*) = 1 FROM django_migrations WHERE app = 'shop' AND name = '0002_safe_changes'",
        },
    );
    gw.assert_rewritten(&["add column \"token\""]);
    gw.assert_rewritten(&["create index \"shop_order_amount_idx\""]);
}

#[test]
fn django_rename_is_blocked_with_the_rule_and_hint() {
    let pg = shared_pg();
    let db = pg.fresh_db("django_block");
    let gw = Gateway::start(pg, Policy::BlockRename);
    let Some(first) = migrate(&gw, &db, &["catalog", "0001"]) else {
        return;
    };
    first.assert_ok();

    migrate(&gw, &db, &["catalog"])
        .expect("venv")
        .assert_blocked_rename();
    assert_eq!(columns(pg, &db, "catalog_item"), "id,title");
    assert_eq!(recorded(pg, &db, "catalog", "0002_rename_title"), "f");
}
