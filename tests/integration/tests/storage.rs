//! `SET TABLESPACE` / `SET ACCESS METHOD` through the gateway: to what the table already has
//! (read from the catalog) the statement moves nothing and is let through; to another
//! tablespace it copies every data file and is refused.

use ddlgate_testkit::{connect, shared_pg, GatewayHandle, GatewayOptions, SUPER};

#[tokio::test]
async fn storage_changes_are_judged_against_what_the_table_has() {
    let pg = shared_pg();
    let db = pg.fresh_db("storage");
    pg.psql(
        &db,
        "CREATE TABLE big (id bigint); INSERT INTO big SELECT generate_series(1, 50000); ANALYZE big",
    );
    let gw = GatewayHandle::start(pg, GatewayOptions::default()).await;
    let c = connect(&gw.url(SUPER, &db)).await.expect("connect");
    let before = pg.psql(&db, "SELECT pg_relation_filenode('big')");
    c.batch_execute("ALTER TABLE big SET TABLESPACE pg_default")
        .await
        .expect("the table is there already: nothing to copy");
    c.batch_execute("ALTER TABLE big SET ACCESS METHOD heap")
        .await
        .expect("the table has it already: nothing to rewrite");
    assert_eq!(pg.psql(&db, "SELECT pg_relation_filenode('big')"), before);
    let err = c
        .batch_execute("ALTER TABLE big SET UNLOGGED")
        .await
        .expect_err("a rewrite of a large table is refused");
    assert!(
        format!("{err:?}").contains("rewriting-table-storage"),
        "{err:?}"
    );
}
