//! Whether a relation was created by the session's current transaction, as the catalog says:
//! its row type's dependency on it (`pg_depend`) is written once, at creation, so that row's
//! `xmin` is one of this transaction's own xids (a subtransaction's too) exactly when the
//! transaction created it. Only an xid at or after the transaction's own can be
//! (`age() <= 0`, 32-bit modular, never an error), so the 64-bit xid handed to
//! `pg_xact_status` is never "in the future". Nothing is assigned: a transaction that has no
//! xid yet created nothing. Sources: [pg_depend](https://www.postgresql.org/docs/current/catalog-pg-depend.html),
//! [transaction ID functions](https://www.postgresql.org/docs/current/functions-info.html#FUNCTIONS-PG-SNAPSHOT).

/// A boolean expression over the `pg_class` row aliased `c`.
pub const CREATED_HERE: &str = "COALESCE((SELECT pg_catalog.bool_or(CASE \
    WHEN pg_catalog.pg_current_xact_id_if_assigned() IS NULL \
      OR pg_catalog.age(d.xmin) OPERATOR(pg_catalog.>) 0 THEN false \
    ELSE pg_catalog.pg_xact_status(( \
      ((pg_catalog.pg_current_xact_id_if_assigned()::pg_catalog.text::pg_catalog.int8 \
          OPERATOR(pg_catalog./) 4294967296) OPERATOR(pg_catalog.*) 4294967296) \
      OPERATOR(pg_catalog.+) d.xmin::pg_catalog.text::pg_catalog.int8 \
      OPERATOR(pg_catalog.+) CASE WHEN d.xmin::pg_catalog.text::pg_catalog.int8 OPERATOR(pg_catalog.<) \
          (pg_catalog.pg_current_xact_id_if_assigned()::pg_catalog.text::pg_catalog.int8 \
            OPERATOR(pg_catalog.%) 4294967296) THEN 4294967296 ELSE 0 END \
    )::pg_catalog.text::pg_catalog.xid8) OPERATOR(pg_catalog.=) 'in progress' END) \
  FROM pg_catalog.pg_depend d \
  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass \
    AND d.objid OPERATOR(pg_catalog.=) c.reltype AND d.refobjid OPERATOR(pg_catalog.=) c.oid), false)";
