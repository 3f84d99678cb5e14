//! ddlgate-wire
