//! sqlx's `Migrator` (what `sqlx migrate run` uses): each file is one simple-protocol query
//! inside its own transaction, followed by an `_sqlx_migrations` insert.

use std::borrow::Cow;

use ddlgate_testkit::{shared_pg, Pg};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::postgres::PgDatabaseError;
use sqlx::{Connection, PgConnection};

use crate::harness::{
    assert_schema, columns, fill_orders, tools_path, Expected, Gateway, Policy, ToolRun, USER,
};

/// Applies the first `count` migrations of `tests/tools/sqlx/<dir>` through the gateway.
async fn run(gw: &Gateway, db: &str, dir: &str, count: usize) -> ToolRun {
    let mut migrator = Migrator::new(tools_path("sqlx").join(dir))
        .await
        .expect("read migrations");
    migrator.migrations = Cow::Owned(migrator.migrations[..count].to_vec());
    let url = format!(
        "postgres://{}:{}@127.0.0.1:{}/{db}?sslmode=disable",
        USER.0, USER.1, gw.port
    );
    let mut conn = PgConnection::connect(&url).await.expect("connect");
    let result = migrator.run(&mut conn).await;
    let _ = conn.close().await;
    match result {
        Ok(()) => ToolRun {
            code: 0,
            output: String::new(),
        },
        Err(e) => ToolRun {
            code: 1,
            output: describe(&e),
        },
    }
}

/// The error with the server's DETAIL and HINT, as `sqlx migrate run` users see them.
fn describe(e: &MigrateError) -> String {
    let server = match e {
        MigrateError::ExecuteMigration(sqlx::Error::Database(d), _)
        | MigrateError::Execute(sqlx::Error::Database(d)) => {
            d.try_downcast_ref::<PgDatabaseError>()
        }
        _ => None,
    };
    match server {
        Some(pg) => format!(
            "{e}\nDETAIL: {}\nHINT: {}",
            pg.detail().unwrap_or_default(),
            pg.hint().unwrap_or_default()
        ),
        None => e.to_string(),
    }
}

fn recorded(pg: &Pg, db: &str, version: i64) -> String {
    pg.psql(
        db,
        &format!("SELECT count(*) = 1 FROM _sqlx_migrations WHERE version = {version} AND success"),
    )
}

#[tokio::test]
async fn sqlx_safe_changes_pass_through_the_gateway() {
    let pg = shared_pg();
    let db = pg.fresh_db("sqlx");
    let gw = Gateway::start(pg, Policy::Enforce);
    run(&gw, &db, "migrations", 1).await.assert_ok();
    fill_orders(pg, &db, "orders");

    run(&gw, &db, "migrations", 2).await.assert_ok();
    assert_schema(
        pg,
        &db,
        &Expected {
            table: "orders",
            columns: &["id", "amount", "customer_id", "token"],
            token: "token",
            index: "orders_amount_idx",
            parent: "customer",
            bookkeeping: "SELECT count(*) = 1 FROM _sqlx_migrations WHERE version = 2 AND success",
        },
    );
    gw.assert_rewritten(&["add column token"]);
    gw.assert_rewritten(&["create index orders_amount_idx"]);
}

#[tokio::test]
async fn sqlx_rename_is_blocked_with_the_rule_and_hint() {
    let pg = shared_pg();
    let db = pg.fresh_db("sqlx_block");
    let gw = Gateway::start(pg, Policy::BlockRename);
    run(&gw, &db, "block", 1).await.assert_ok();

    run(&gw, &db, "block", 2).await.assert_blocked_rename();
    assert_eq!(columns(pg, &db, "orders"), "id,amount,customer_id");
    assert_eq!(recorded(pg, &db, 2), "f");
}
