//! ddlgate-testkit
