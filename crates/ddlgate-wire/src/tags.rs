//! Message type bytes, as named in the
//! [Message Formats](https://www.postgresql.org/docs/current/protocol-message-formats.html)
//! chapter. Unknown bytes are kept (`Other`) so that future message types pass through.

macro_rules! tag_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $byte:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A type byte this crate has no name for; forwarded untouched.
            Other(u8),
        }

        impl $name {
            /// Names the type byte.
            #[inline]
            pub const fn from_byte(b: u8) -> Self {
                match b {
                    $($byte => Self::$variant,)*
                    other => Self::Other(other),
                }
            }

            /// The type byte on the wire.
            #[inline]
            pub const fn byte(self) -> u8 {
                match self {
                    $(Self::$variant => $byte,)*
                    Self::Other(b) => b,
                }
            }
        }
    };
}

tag_enum! {
    /// Type byte of a message sent by the client (frontend).
    FeTag {
        Bind = b'B',
        Close = b'C',
        CopyData = b'd',
        CopyDone = b'c',
        CopyFail = b'f',
        Describe = b'D',
        Execute = b'E',
        Flush = b'H',
        FunctionCall = b'F',
        Parse = b'P',
        /// PasswordMessage, SASLInitialResponse, SASLResponse and GSSResponse share this byte.
        Password = b'p',
        Query = b'Q',
        Sync = b'S',
        Terminate = b'X',
    }
}

tag_enum! {
    /// Type byte of a message sent by the server (backend).
    BeTag {
        Authentication = b'R',
        BackendKeyData = b'K',
        BindComplete = b'2',
        CloseComplete = b'3',
        CommandComplete = b'C',
        CopyBothResponse = b'W',
        CopyData = b'd',
        CopyDone = b'c',
        CopyInResponse = b'G',
        CopyOutResponse = b'H',
        DataRow = b'D',
        EmptyQueryResponse = b'I',
        ErrorResponse = b'E',
        FunctionCallResponse = b'V',
        NegotiateProtocolVersion = b'v',
        NoData = b'n',
        NoticeResponse = b'N',
        NotificationResponse = b'A',
        ParameterDescription = b't',
        ParameterStatus = b'S',
        ParseComplete = b'1',
        PortalSuspended = b's',
        ReadyForQuery = b'Z',
        RowDescription = b'T',
    }
}

/// The transaction status carried by ReadyForQuery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InBlock,
    /// `E`: in a failed transaction block (queries rejected until the block ends).
    Failed,
}

impl TransactionStatus {
    /// Reads the status byte of ReadyForQuery.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            b'I' => Some(Self::Idle),
            b'T' => Some(Self::InBlock),
            b'E' => Some(Self::Failed),
            _ => None,
        }
    }

    /// The status byte on the wire.
    pub const fn byte(self) -> u8 {
        match self {
            Self::Idle => b'I',
            Self::InBlock => b'T',
            Self::Failed => b'E',
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(FeTag::from_byte(b).byte(), b);
            assert_eq!(BeTag::from_byte(b).byte(), b);
        }
        assert_eq!(FeTag::from_byte(b'Q'), FeTag::Query);
        assert_eq!(BeTag::from_byte(b'Z'), BeTag::ReadyForQuery);
        assert_eq!(FeTag::from_byte(b'?'), FeTag::Other(b'?'));
    }

    #[test]
    fn transaction_status_bytes() {
        for s in [
            TransactionStatus::Idle,
            TransactionStatus::InBlock,
            TransactionStatus::Failed,
        ] {
            assert_eq!(TransactionStatus::from_byte(s.byte()), Some(s));
        }
        assert_eq!(TransactionStatus::from_byte(b'x'), None);
    }
}
