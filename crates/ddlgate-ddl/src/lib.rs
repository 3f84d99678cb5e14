//! ddlgate-ddl
