//! ddlgate-session
