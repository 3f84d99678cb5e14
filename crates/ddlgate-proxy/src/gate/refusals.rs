//! Statements the gate refuses because it cannot tell for sure what the server will do with
//! them at this point of the session.

use ddlgate_wire::encode::Notice;

/// The refusal of a statement whose reading depends on settings that may be changing.
pub fn settings_may_change() -> Notice {
    Notice::new(
        ddlgate_wire::encode::Severity::Error,
        ddlgate_wire::SqlState::ObjectNotInPrerequisiteState,
        "ddlgate: this statement contains a backslash that standard_conforming_strings or client_encoding decide how to read, and an earlier statement sent with it may change them",
    )
    .hint("send it as a statement of its own, after the earlier ones have completed")
}

/// The refusal of a statement whose effect only the catalog can tell, in an open batch.
pub fn needs_catalog() -> Notice {
    Notice::new(
        ddlgate_wire::encode::Severity::Error,
        ddlgate_wire::SqlState::ObjectNotInPrerequisiteState,
        "ddlgate: this rename acts on a table if the name is one, which the gateway checks in the catalog; it cannot do that in the middle of an extended-protocol batch",
    )
    .hint("send it in a batch of its own (Parse/Bind/Execute/Sync)")
}

/// The refusal of DDL in an open batch when `[[policy.scope]]` decides by role: the role is
/// read from the server, which the gateway cannot ask in the middle of a batch.
pub fn needs_identity() -> Notice {
    Notice::new(
        ddlgate_wire::encode::Severity::Error,
        ddlgate_wire::SqlState::InsufficientPrivilege,
        "ddlgate: the policy decides DDL by the session's role, which the gateway reads from the server; it cannot do that in the middle of an extended-protocol batch",
    )
    .hint("send it in a batch of its own (Parse/Bind/Execute/Sync)")
}
