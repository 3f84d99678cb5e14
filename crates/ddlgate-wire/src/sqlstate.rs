//! Typed SQLSTATE codes ([Appendix A](https://www.postgresql.org/docs/current/errcodes-appendix.html)).
//! Only the codes the gateway itself emits or reacts to have names; anything read from the
//! server that is not listed stays available as `Other`.

macro_rules! sqlstates {
    ($($(#[$m:meta])* $name:ident = $code:literal,)*) => {
        /// A SQLSTATE error code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum SqlState {
            $($(#[$m])* $name,)*
            /// Any other five-character code.
            Other([u8; 5]),
        }

        impl SqlState {
            /// The five-character code.
            pub fn code(&self) -> &str {
                match self {
                    $(Self::$name => $code,)*
                    Self::Other(bytes) => std::str::from_utf8(bytes).unwrap_or("XX000"),
                }
            }

            /// Reads a code as sent in an ErrorResponse `C` field.
            pub fn from_code(code: &[u8]) -> Option<Self> {
                match code {
                    $(c if c == $code.as_bytes() => Some(Self::$name),)*
                    c if c.len() == 5 && c.iter().all(u8::is_ascii_alphanumeric) => {
                        let mut b = [0u8; 5];
                        b.copy_from_slice(c);
                        Some(Self::Other(b))
                    }
                    _ => None,
                }
            }
        }
    };
}

sqlstates! {
    SuccessfulCompletion = "00000",
    Warning = "01000",
    ConnectionException = "08000",
    SqlclientUnableToEstablishSqlconnection = "08001",
    ConnectionFailure = "08006",
    ProtocolViolation = "08P01",
    FeatureNotSupported = "0A000",
    InvalidParameterValue = "22023",
    NotNullViolation = "23502",
    ForeignKeyViolation = "23503",
    UniqueViolation = "23505",
    CheckViolation = "23514",
    ActiveSqlTransaction = "25001",
    NoActiveSqlTransaction = "25P01",
    InFailedSqlTransaction = "25P02",
    InvalidAuthorizationSpecification = "28000",
    InvalidPassword = "28P01",
    InvalidCatalogName = "3D000",
    DeadlockDetected = "40P01",
    SyntaxError = "42601",
    InsufficientPrivilege = "42501",
    UndefinedObject = "42704",
    TooManyConnections = "53300",
    ProgramLimitExceeded = "54000",
    ObjectNotInPrerequisiteState = "55000",
    LockNotAvailable = "55P03",
    QueryCanceled = "57014",
    AdminShutdown = "57P01",
    CannotConnectNow = "57P03",
    ConfigFileError = "F0000",
    /// ddlgate's own: the statement waits for an approval (`[[policy.scope]]`
    /// `require-approval`); the DETAIL names the request.
    ApprovalRequired = "DG001",
    InternalError = "XX000",
}

#[cfg(test)]
mod tests {
    use super::SqlState;

    #[test]
    fn codes_round_trip() {
        for s in [
            SqlState::LockNotAvailable,
            SqlState::ProtocolViolation,
            SqlState::AdminShutdown,
        ] {
            assert_eq!(SqlState::from_code(s.code().as_bytes()), Some(s));
        }
        assert_eq!(
            SqlState::from_code(b"22012"),
            Some(SqlState::Other(*b"22012"))
        );
        assert_eq!(SqlState::Other(*b"22012").code(), "22012");
        assert_eq!(
            SqlState::from_code(b"23505"),
            Some(SqlState::UniqueViolation)
        );
        assert_eq!(SqlState::from_code(b"bad"), None);
    }
}
