//! ddlgate-localpg
