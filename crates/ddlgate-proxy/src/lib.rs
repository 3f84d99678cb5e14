//! ddlgate-proxy
