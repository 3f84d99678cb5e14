//! Real migration tools (Django, Alembic, sqlx, and JDBC as Flyway uses it) run through the
//! `ddlgate` binary in enforce mode: safe changes to a table above the small-table threshold
//! finish and leave exactly the requested schema; a blocked rename fails the tool with
//! ddlgate's error and changes nothing.

mod alembic;
mod atomic;
mod django;
mod harness;
mod jdbc;
mod sqlx_migrator;
