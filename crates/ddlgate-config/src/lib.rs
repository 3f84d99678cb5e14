//! ddlgate-config
