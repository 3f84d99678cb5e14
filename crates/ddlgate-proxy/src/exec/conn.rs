//! The upstream connection while the gateway owns it: the server-to-client pump is paused
//! (see the relay), so every server message here answers the gateway's own queries.
//! Asynchronous messages meant for the client (NotificationResponse, ParameterStatus) are
//! passed on to it; everything else is consumed.

use bytes::{Buf, Bytes, BytesMut};
use ddlgate_wire::decode;
use ddlgate_wire::encode::Notice;
use ddlgate_wire::{BeTag, FrameHeader, SqlState, TransactionStatus};
use tokio::io::AsyncReadExt;

use crate::stream::{ReadHalf, WriteHalf};
use crate::ProxyError;

/// Largest server message the gateway reads for itself.
const MAX_OWN_FRAME: usize = 256 << 20;

/// An error the server returned to one of the gateway's queries.
#[derive(Clone, Debug)]
pub struct ServerError {
    /// SQLSTATE.
    pub code: SqlState,
    /// Primary message.
    pub message: String,
    /// The ErrorResponse frame as received, to relay to the client unchanged.
    pub frame: Bytes,
}

impl ServerError {
    fn from_frame(frame: Bytes) -> Self {
        let fields = decode::error_fields(&frame).unwrap_or_default();
        Self {
            code: fields.code.unwrap_or(SqlState::InternalError),
            message: String::from_utf8_lossy(fields.message).into_owned(),
            frame: Bytes::from(ddlgate_wire::encode::without_position(&frame)),
        }
    }

    /// An error the gateway reports in the server's words (`notice` has severity ERROR).
    pub fn from_notice(notice: &ddlgate_wire::encode::Notice) -> Self {
        let mut frame = bytes::BytesMut::new();
        notice.encode_error(&mut frame);
        Self {
            code: notice.code,
            message: notice.message.clone(),
            frame: frame.freeze(),
        }
    }

    /// Whether retrying after a pause may succeed: lock timeout or deadlock.
    pub fn is_lock_conflict(&self) -> bool {
        matches!(
            self.code,
            SqlState::LockNotAvailable | SqlState::DeadlockDetected
        )
    }
}

/// Rows (text format) and outcome of a simple query.
#[derive(Debug, Default)]
pub struct QueryResult {
    /// Data rows, each column as text (`None` for NULL).
    pub rows: Vec<Vec<Option<String>>>,
    /// CommandComplete tags, in order.
    pub tags: Vec<String>,
    /// The first error, if any.
    pub error: Option<ServerError>,
    /// Transaction status after the query.
    pub status: Option<TransactionStatus>,
}

impl QueryResult {
    /// The first column of the first row.
    pub fn scalar(&self) -> Option<&str> {
        self.rows
            .first()
            .and_then(|r| r.first())
            .and_then(|v| v.as_deref())
    }
}

/// What [`Owned::relay_query`] saw.
#[derive(Debug)]
pub struct Relayed {
    /// The error, if the statement failed (already relayed to the client).
    pub error: Option<ServerError>,
    /// Transaction status after the query.
    pub status: TransactionStatus,
}

/// A connection plans run on: the session's own (while the gateway owns it) or a control
/// connection of the gateway's (background jobs).
pub trait PlanConn {
    /// Runs a simple query and collects its rows as text.
    fn query(
        &mut self,
        sql: &str,
    ) -> impl std::future::Future<Output = Result<QueryResult, ProxyError>>;

    /// Tells whoever waits for the plan (the client, or the log). Best effort.
    fn notice(
        &mut self,
        notice: &Notice,
    ) -> impl std::future::Future<Output = Result<(), ProxyError>>;
}

impl PlanConn for Owned<'_> {
    async fn query(&mut self, sql: &str) -> Result<QueryResult, ProxyError> {
        Owned::query(self, sql).await
    }

    async fn notice(&mut self, notice: &Notice) -> Result<(), ProxyError> {
        Owned::notice(self, notice).await
    }
}

/// Approves, for the database-side guard, the statements in frames about to be sent to the
/// server (the guard's approvals live outside this layer).
pub trait Approve: Sync {
    /// Approves what the Query and Parse frames in `bytes` may do.
    fn approve<'a>(
        &'a self,
        bytes: &'a [u8],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;
}

/// The upstream connection and the client writer, owned by the gateway.
pub struct Owned<'a> {
    /// Server read half.
    pub server_r: &'a mut ReadHalf,
    /// Bytes read ahead from the server.
    pub server_buf: &'a mut BytesMut,
    /// Server write half.
    pub server_w: &'a mut WriteHalf,
    /// Client write half.
    pub client_w: &'a mut WriteHalf,
    /// ParameterStatus messages the server sent meanwhile (relayed to the client too), for
    /// the session's state to follow.
    pub reported: Vec<Bytes>,
    /// Guard approvals for what is sent, when the guard is enabled.
    pub approver: Option<&'a dyn Approve>,
}

impl Owned<'_> {
    async fn read_frame(&mut self) -> Result<Bytes, ProxyError> {
        loop {
            if let Some(h) = FrameHeader::read(self.server_buf, MAX_OWN_FRAME)? {
                if self.server_buf.len() >= h.total_len {
                    return Ok(self.server_buf.split_to(h.total_len).freeze());
                }
                self.server_buf.reserve(h.total_len - self.server_buf.len());
            }
            if self.server_r.read_buf(self.server_buf).await? == 0 {
                return Err(ProxyError::ServerGone);
            }
        }
    }

    /// Sends raw bytes to the server (approving, for the guard, the statements among them).
    pub async fn send_server(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        if let Some(a) = self.approver {
            a.approve(bytes).await;
        }
        self.server_w.send_all(bytes).await?;
        Ok(())
    }

    /// Sends raw bytes to the client.
    pub async fn send_client(&mut self, bytes: &[u8]) -> Result<(), ProxyError> {
        self.client_w.send_all(bytes).await?;
        Ok(())
    }

    /// Sends a notice to the client. Best effort: work that continues after the client has
    /// gone (steps deferred to its COMMIT) must not stop because nobody reads its notices.
    pub async fn notice(&mut self, notice: &Notice) -> Result<(), ProxyError> {
        let mut buf = BytesMut::new();
        notice.encode_notice(&mut buf);
        if let Err(e) = self.send_client(&buf).await {
            tracing::debug!(error = %e, "notice not delivered");
        }
        Ok(())
    }

    async fn send_query(&mut self, sql: &[u8]) -> Result<(), ProxyError> {
        self.send_server(&ddlgate_wire::encode::query(sql)).await
    }

    /// Runs a simple query for the gateway and collects its rows as text.
    pub async fn query(&mut self, sql: &str) -> Result<QueryResult, ProxyError> {
        self.send_query(sql.as_bytes()).await?;
        let mut out = QueryResult::default();
        loop {
            let frame = self.read_frame().await?;
            match BeTag::from_byte(frame[0]) {
                BeTag::DataRow => out.rows.push(data_row(&frame)?),
                BeTag::CommandComplete => out.tags.push(command_tag(&frame)),
                BeTag::ErrorResponse if out.error.is_none() => {
                    out.error = Some(ServerError::from_frame(frame));
                }
                BeTag::ReadyForQuery => {
                    out.status = Some(decode::ready_status(&frame)?);
                    return Ok(out);
                }
                BeTag::NotificationResponse => self.send_client(&frame).await?,
                BeTag::ParameterStatus => {
                    self.send_client(&frame).await?;
                    self.reported.push(frame);
                }
                _ => {}
            }
        }
    }

    /// Runs the client's own statement text and relays every response but the final
    /// ReadyForQuery to the client.
    pub async fn relay_query(&mut self, sql: &[u8]) -> Result<Relayed, ProxyError> {
        self.send_query(sql).await?;
        self.relay_until_ready().await
    }

    /// Sends a `Sync` of the gateway's own, ending the client's open extended-protocol batch
    /// early, and relays the responses to the batch so far (not the ReadyForQuery).
    pub async fn sync_early(&mut self) -> Result<Relayed, ProxyError> {
        self.send_server(&ddlgate_wire::encode::frame(
            ddlgate_wire::FeTag::Sync.byte(),
            b"",
        ))
        .await?;
        self.relay_until_ready().await
    }

    /// Relays every response up to the next ReadyForQuery, which is consumed.
    async fn relay_until_ready(&mut self) -> Result<Relayed, ProxyError> {
        let mut out = BytesMut::new();
        let mut error = None;
        loop {
            let frame = self.read_frame().await?;
            match BeTag::from_byte(frame[0]) {
                BeTag::ReadyForQuery => {
                    self.send_client(&out).await?;
                    return Ok(Relayed {
                        error,
                        status: decode::ready_status(&frame)?,
                    });
                }
                BeTag::ErrorResponse if error.is_none() => {
                    // The gateway's own refusal loses what its DO block added.
                    let frame = match ddlgate_wire::raised::strip_raise_context(&frame) {
                        Some(clean) => Bytes::from(clean),
                        None => frame,
                    };
                    error = Some(ServerError::from_frame(frame.clone()));
                    out.extend_from_slice(&frame);
                }
                BeTag::ParameterStatus => {
                    out.extend_from_slice(&frame);
                    self.reported.push(frame);
                }
                _ => out.extend_from_slice(&frame),
            }
            if out.len() > 64 * 1024 {
                self.send_client(&out).await?;
                out.clear();
            }
        }
    }
}

fn command_tag(frame: &[u8]) -> String {
    let body = &frame[5..];
    let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

fn data_row(frame: &[u8]) -> Result<Vec<Option<String>>, ProxyError> {
    let bad = || ProxyError::Decode(decode::DecodeError { message: "DataRow" });
    let mut body = frame.get(5..).ok_or_else(bad)?;
    if body.len() < 2 {
        return Err(bad());
    }
    let n = body.get_u16() as usize;
    let mut cols = Vec::with_capacity(n);
    for _ in 0..n {
        if body.len() < 4 {
            return Err(bad());
        }
        let len = body.get_i32();
        if len < 0 {
            cols.push(None);
            continue;
        }
        let len = len as usize;
        if body.len() < len {
            return Err(bad());
        }
        cols.push(Some(String::from_utf8_lossy(&body[..len]).into_owned()));
        body.advance(len);
    }
    Ok(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_rows_with_nulls() {
        let mut f = vec![b'D', 0, 0, 0, 0, 0, 2];
        f.extend_from_slice(&2i32.to_be_bytes());
        f.extend_from_slice(b"hi");
        f.extend_from_slice(&(-1i32).to_be_bytes());
        let len = (f.len() - 1) as u32;
        f[1..5].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            data_row(&f).expect("row"),
            vec![Some("hi".to_owned()), None]
        );
        assert!(data_row(&f[..8]).is_err());
    }
}
