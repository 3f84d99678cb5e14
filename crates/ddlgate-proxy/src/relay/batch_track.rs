//! How the client messages the relay forwards move the extended-protocol batch tracker
//! ([`Batch`]). Shared by the client pump and the fast relay, so both follow a batch alike.

use ddlgate_session::{Batch, BatchMessage, Scope};
use ddlgate_wire::decode::{self, DecodeError};
use ddlgate_wire::{FeTag, TransactionStatus};

/// What a Parse means to the batch tracker. Only a batch's first statement or one inside a
/// block can change its scope, so only those are classified.
pub fn parse_message(batch: Batch, name: &[u8], query: &[u8]) -> BatchMessage {
    match batch {
        Batch::Clean | Batch::Open(Scope::Block) => super::txwork::batch_parse(name, query),
        Batch::Open(_) => BatchMessage::Parse,
    }
}

/// What forwarding `frame` (whole, header included) means to the tracker; `None` for the
/// messages that leave it alone (CopyData, FunctionCall, …).
pub fn message(batch: Batch, frame: &[u8]) -> Result<Option<BatchMessage>, DecodeError> {
    Ok(Some(match FeTag::from_byte(frame[0]) {
        FeTag::Parse => {
            let p = decode::parse_msg(frame)?;
            parse_message(batch, p.statement, p.query)
        }
        FeTag::Bind => match batch {
            Batch::Open(Scope::BeginParsed) => match decode::bind_names(frame)? {
                (b"", b"") => BatchMessage::BindUnnamed,
                _ => BatchMessage::Bind,
            },
            _ => BatchMessage::Bind,
        },
        FeTag::Execute => match batch {
            Batch::Open(Scope::BeginBound) if decode::execute_portal(frame)?.is_empty() => {
                BatchMessage::ExecuteUnnamed
            }
            _ => BatchMessage::Execute,
        },
        FeTag::Describe | FeTag::Flush => BatchMessage::NoEffect,
        FeTag::Close => BatchMessage::Close,
        FeTag::Sync => BatchMessage::Sync,
        // A simple query inside a batch may end a block.
        FeTag::Query if batch.is_open() => BatchMessage::ParseTransactionControl,
        _ => return Ok(None),
    }))
}

/// The batch after `msg`. `status` (the server's last reported transaction status) is read
/// only when a batch starts.
pub fn advance(
    batch: Batch,
    msg: BatchMessage,
    status: impl FnOnce() -> TransactionStatus,
) -> Batch {
    let in_block = batch == Batch::Clean && status() == TransactionStatus::InBlock;
    batch.next(msg, in_block)
}
