//! A migration whose data violates the UNIQUE constraint or the foreign key it adds fails
//! through the gateway as it fails on the server: the tool exits non-zero with the server's
//! error, records nothing, and the schema is unchanged; once the data is fixed, the same
//! migration succeeds.

use ddlgate_testkit::{shared_pg, Pg};

use crate::harness::{
    assert_failed_with, assert_ledger_constrained, fill_ledger, ledger_schema, Gateway, Policy,
    ToolRun,
};

const DUPLICATE: [&str; 2] = [
    "could not create unique index",
    "Key (email)=(m1@example.com) is duplicated.",
];
const ORPHAN: [&str; 2] = [
    "violates foreign key constraint",
    "Key (team_id)=(777) is not present in table \"ledger_team\".",
];

/// Runs a tool three times over the violating data: fails on the duplicate, then (fixed) on
/// the orphan, then (fixed) succeeds. `recorded` says whether the tool's bookkeeping has the
/// migration.
fn fail_fix_rerun(pg: &Pg, db: &str, run: impl Fn() -> ToolRun, recorded: &str) {
    fill_ledger(pg, db);
    let before = ledger_schema(pg, db);
    assert_failed_with(&run(), &DUPLICATE);
    assert_eq!(ledger_schema(pg, db), before, "schema unchanged");
    assert_eq!(pg.psql(db, recorded), "f", "nothing recorded");

    pg.psql(db, "DELETE FROM ledger_member WHERE id = 2");
    assert_failed_with(&run(), &ORPHAN);
    assert_eq!(ledger_schema(pg, db), before, "schema unchanged");
    assert_eq!(pg.psql(db, recorded), "f", "nothing recorded");

    pg.psql(db, "UPDATE ledger_member SET team_id = 7 WHERE id = 3");
    run().assert_ok();
    assert_ledger_constrained(pg, db);
    assert_eq!(pg.psql(db, recorded), "t");
}

#[test]
fn django_migration_over_violating_data_fails_as_on_the_server() {
    let pg = shared_pg();
    let db = pg.fresh_db("django_atomic");
    let gw = Gateway::start(pg, Policy::Enforce);
    let Some(first) = crate::django::migrate(&gw, &db, &["ledger", "0001"]) else {
        return;
    };
    first.assert_ok();
    fail_fix_rerun(
        pg,
        &db,
        || crate::django::migrate(&gw, &db, &["ledger"]).expect("venv"),
        "SELECT count(*) = 1 FROM django_migrations WHERE app = 'ledger' AND name = '0002_constraints'",
    );
    gw.assert_rewritten(&["unique"]);
}

#[test]
fn alembic_migration_over_violating_data_fails_as_on_the_server() {
    let pg = shared_pg();
    let db = pg.fresh_db("alembic_atomic");
    let gw = Gateway::start(pg, Policy::Enforce);
    let Some(first) = crate::alembic::upgrade(gw.port, &db, "l01") else {
        return;
    };
    first.assert_ok();
    fail_fix_rerun(
        pg,
        &db,
        || crate::alembic::upgrade(gw.port, &db, "l02").expect("venv"),
        "SELECT count(*) = 1 FROM alembic_version WHERE version_num = 'l02'",
    );
    gw.assert_rewritten(&["unique"]);
}
