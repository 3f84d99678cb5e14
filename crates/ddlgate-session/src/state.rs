use ddlgate_wire::{decode, BeTag, FeTag, TagSet, TransactionStatus};

use crate::ServerVersion;

/// Client message types the session must see whole.
pub const INSPECT_CLIENT: TagSet = TagSet::empty()
    .with(FeTag::Query.byte())
    .with(FeTag::Parse.byte())
    .with(FeTag::Sync.byte())
    .with(FeTag::Terminate.byte());

/// Server message types the session must see whole.
pub const INSPECT_SERVER: TagSet = TagSet::empty()
    .with(BeTag::ReadyForQuery.byte())
    .with(BeTag::ParameterStatus.byte())
    .with(BeTag::CopyInResponse.byte())
    .with(BeTag::CopyBothResponse.byte());

/// How a statement reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// A `Query` message, possibly holding several statements.
    Simple,
    /// A `Parse` message of the extended protocol (one statement).
    Extended,
}

/// What an inspected client frame means to the gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent<'a> {
    /// SQL text that will run: the hook where DDL analysis looks.
    Statement {
        /// Simple or extended protocol.
        protocol: Protocol,
        /// Prepared statement name (`Parse` only; empty for the unnamed statement).
        name: &'a [u8],
        /// The text, byte for byte as the client sent it.
        sql: &'a [u8],
    },
    /// A `Sync` closing an extended-protocol batch.
    Sync,
    /// The client is leaving.
    Terminate,
    /// A frame the session does not track.
    Other,
    /// The frame does not follow its format; the connection must be closed.
    Malformed(decode::DecodeError),
}

/// Per-connection state, advanced by the frames the proxy forwards.
#[derive(Clone, Debug)]
pub struct Session {
    tx: TransactionStatus,
    server_version: Option<ServerVersion>,
    /// `Query` and `Sync` messages forwarded whose `ReadyForQuery` has not come back.
    awaiting_ready: u32,
    /// Requests completed (ReadyForQuery received) over the session's life.
    completed: u64,
    /// ReadyForQuery reports with status Idle: points where no transaction block was open.
    idle_points: u64,
    /// The settings that change how the server tokenizes statements, as last reported.
    scanning: Scanning,
    /// CopyInResponse/CopyBothResponse messages seen: COPY … FROM STDIN started.
    copies_in_started: u64,
    /// CopyDone/CopyFail messages the client sent.
    copies_in_ended: u64,
}

/// The settings that change how the server tokenizes a statement's bytes, as it reports them
/// (both are `GUC_REPORT`: every change comes back as a ParameterStatus).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanning {
    /// `standard_conforming_strings` (on unless reported off).
    pub standard_conforming_strings: bool,
    /// `client_encoding` as reported (`UTF8` until reported).
    pub client_encoding: String,
}

impl Default for Scanning {
    fn default() -> Self {
        Self {
            standard_conforming_strings: true,
            client_encoding: "UTF8".to_owned(),
        }
    }
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

impl Session {
    /// A session that has not yet heard from the server.
    pub fn new() -> Self {
        Self {
            tx: TransactionStatus::Idle,
            server_version: None,
            awaiting_ready: 0,
            completed: 0,
            idle_points: 0,
            scanning: Scanning::default(),
            copies_in_started: 0,
            copies_in_ended: 0,
        }
    }

    /// The client sent CopyDone or CopyFail: the server reads no more copy data after it.
    /// (One sent with no COPY known to be running — ahead of the server's CopyInResponse, or
    /// after an error ended the COPY, when the server ignores it — ends nothing.)
    pub fn on_copy_end_sent(&mut self) {
        self.copies_in_ended = (self.copies_in_ended + 1).min(self.copies_in_started);
    }

    /// Whether the server has started a `COPY … FROM STDIN` that no CopyDone or CopyFail the
    /// client sent has ended yet: its next message may be read as copy data (or refused as
    /// one), not run. (An error in the copy data can end it earlier on the server's side.)
    pub fn in_copy_in(&self) -> bool {
        self.copies_in_started > self.copies_in_ended
    }

    /// How the server tokenizes this session's statements, as last reported.
    pub fn scanning(&self) -> &Scanning {
        &self.scanning
    }

    /// Transaction status as of the last ReadyForQuery.
    pub fn transaction_status(&self) -> TransactionStatus {
        self.tx
    }

    /// The server's version, once reported.
    pub fn server_version(&self) -> Option<ServerVersion> {
        self.server_version
    }

    /// Requests (simple queries or extended batches) sent and not yet answered.
    pub fn in_flight(&self) -> u32 {
        self.awaiting_ready
    }

    /// Requests answered so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// Records a `Query` or `Sync` about to be forwarded whose frame the caller has already
    /// read: one more ReadyForQuery to wait for. ([`Self::on_client_frame`] does this itself.)
    pub fn on_request_sent(&mut self) {
        self.awaiting_ready += 1;
    }

    /// Reads an inspected client frame (whole, header included) about to be forwarded.
    pub fn on_client_frame<'a>(&mut self, frame: &'a [u8]) -> ClientEvent<'a> {
        match FeTag::from_byte(frame[0]) {
            FeTag::Query => match decode::query_text(frame) {
                Ok(sql) => {
                    self.on_request_sent();
                    ClientEvent::Statement {
                        protocol: Protocol::Simple,
                        name: b"",
                        sql,
                    }
                }
                Err(e) => ClientEvent::Malformed(e),
            },
            FeTag::Parse => match decode::parse_msg(frame) {
                Ok(p) => ClientEvent::Statement {
                    protocol: Protocol::Extended,
                    name: p.statement,
                    sql: p.query,
                },
                Err(e) => ClientEvent::Malformed(e),
            },
            FeTag::Sync => {
                self.on_request_sent();
                ClientEvent::Sync
            }
            FeTag::Terminate => ClientEvent::Terminate,
            _ => ClientEvent::Other,
        }
    }

    /// Records a request the gateway answered itself (executing a plan on the upstream
    /// connection): its ReadyForQuery came from the gateway, not the server.
    pub fn answered_locally(&mut self, status: TransactionStatus) {
        self.completed += 1;
        self.set_status(status);
    }

    /// How many times a ReadyForQuery reported no open transaction block. Two reads that
    /// differ bracket the end of a block (and perhaps the start of another).
    pub fn idle_points(&self) -> u64 {
        self.idle_points
    }

    fn set_status(&mut self, status: TransactionStatus) {
        self.tx = status;
        if status == TransactionStatus::Idle {
            self.idle_points += 1;
        }
    }

    /// Reads an inspected server frame (whole, header included) about to be forwarded.
    /// Returns an error for a malformed frame; the connection must then be closed.
    pub fn on_server_frame(&mut self, frame: &[u8]) -> Result<(), decode::DecodeError> {
        match BeTag::from_byte(frame[0]) {
            BeTag::ReadyForQuery => {
                // Whatever COPY was running is over (ended by the client or by an error).
                self.copies_in_ended = self.copies_in_started;
                self.set_status(decode::ready_status(frame)?);
                self.awaiting_ready = self.awaiting_ready.saturating_sub(1);
                self.completed += 1;
            }
            BeTag::CopyInResponse | BeTag::CopyBothResponse => self.copies_in_started += 1,
            BeTag::ParameterStatus => {
                let (name, value) = decode::parameter_status(frame)?;
                match name {
                    b"server_version" => {
                        self.server_version = std::str::from_utf8(value)
                            .ok()
                            .and_then(ServerVersion::parse);
                    }
                    b"standard_conforming_strings" => {
                        // Unreadable: assume the setting that makes more strings escapable.
                        self.scanning.standard_conforming_strings =
                            ddlgate_wire::startup::parse_bool(value).unwrap_or(false);
                    }
                    b"client_encoding" => {
                        self.scanning.client_encoding = String::from_utf8_lossy(value).into_owned();
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ddlgate_wire::encode::frame;

    fn rfq(s: u8) -> Vec<u8> {
        frame(b'Z', &[s])
    }

    #[test]
    fn simple_query_cycle_tracks_transaction_status() {
        let mut s = Session::new();
        let q = frame(b'Q', b"begin; alter table t add c int\0");
        assert_eq!(
            s.on_client_frame(&q),
            ClientEvent::Statement {
                protocol: Protocol::Simple,
                name: b"",
                sql: b"begin; alter table t add c int"
            }
        );
        assert_eq!(s.in_flight(), 1);
        s.on_server_frame(&rfq(b'T')).expect("valid");
        assert_eq!(s.transaction_status(), TransactionStatus::InBlock);
        assert_eq!(s.in_flight(), 0);
        s.on_client_frame(&frame(b'Q', b"select 1/0\0"));
        s.on_server_frame(&rfq(b'E')).expect("valid");
        assert_eq!(s.transaction_status(), TransactionStatus::Failed);
        s.on_client_frame(&frame(b'Q', b"rollback\0"));
        s.on_server_frame(&rfq(b'I')).expect("valid");
        assert_eq!(s.transaction_status(), TransactionStatus::Idle);
        assert_eq!(s.completed(), 3);
    }

    #[test]
    fn idle_points_mark_where_blocks_ended() {
        let mut s = Session::new();
        s.on_server_frame(&rfq(b'I')).expect("valid");
        let before = s.idle_points();
        for status in [b'T', b'T', b'E'] {
            s.on_server_frame(&rfq(status)).expect("valid");
        }
        assert_eq!(s.idle_points(), before, "one block, no end yet");
        s.answered_locally(TransactionStatus::InBlock);
        assert_eq!(s.idle_points(), before);
        s.answered_locally(TransactionStatus::Idle);
        assert_eq!(s.idle_points(), before + 1);
        s.on_server_frame(&rfq(b'I')).expect("valid");
        assert_eq!(s.idle_points(), before + 2);
    }

    #[test]
    fn pipelined_extended_batches_count_syncs() {
        let mut s = Session::new();
        for i in 0..3 {
            let p = frame(b'P', format!("s{i}\0select {i}\0\0\0").as_bytes());
            assert!(matches!(
                s.on_client_frame(&p),
                ClientEvent::Statement {
                    protocol: Protocol::Extended,
                    ..
                }
            ));
            assert_eq!(s.on_client_frame(&frame(b'S', b"")), ClientEvent::Sync);
        }
        assert_eq!(s.in_flight(), 3);
        for _ in 0..3 {
            s.on_server_frame(&rfq(b'I')).expect("valid");
        }
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn a_copy_in_runs_from_the_servers_response_to_the_clients_end() {
        let mut s = Session::new();
        assert!(!s.in_copy_in());
        s.on_copy_end_sent();
        s.on_server_frame(&frame(b'G', b"\0\0\0")).expect("valid");
        assert!(
            s.in_copy_in(),
            "an end sent before the COPY started ends nothing"
        );
        s.on_copy_end_sent();
        assert!(!s.in_copy_in());
        s.on_server_frame(&frame(b'G', b"\0\0\0")).expect("valid");
        assert!(s.in_copy_in());
        // An error ends the COPY; the ReadyForQuery says so.
        s.on_server_frame(&frame(b'Z', b"I")).expect("valid");
        assert!(!s.in_copy_in());
        s.on_copy_end_sent();
        s.on_server_frame(&frame(b'G', b"\0\0\0")).expect("valid");
        assert!(
            s.in_copy_in(),
            "a stray end after the error does not cancel the next COPY"
        );
    }

    #[test]
    fn scanning_settings_follow_parameter_status() {
        let mut s = Session::new();
        assert!(s.scanning().standard_conforming_strings);
        s.on_server_frame(&frame(b'S', b"standard_conforming_strings\0off\0"))
            .expect("valid");
        s.on_server_frame(&frame(b'S', b"client_encoding\0SJIS\0"))
            .expect("valid");
        assert!(!s.scanning().standard_conforming_strings);
        assert_eq!(s.scanning().client_encoding, "SJIS");
        s.on_server_frame(&frame(b'S', b"standard_conforming_strings\0on\0"))
            .expect("valid");
        assert!(s.scanning().standard_conforming_strings);
    }

    #[test]
    fn server_version_from_parameter_status() {
        let mut s = Session::new();
        s.on_server_frame(&frame(b'S', b"server_version\x0015.18 (Debian)\0"))
            .expect("valid");
        assert_eq!(s.server_version().map(ServerVersion::num), Some(150018));
        s.on_server_frame(&frame(b'S', b"TimeZone\0UTC\0"))
            .expect("valid");
        assert_eq!(s.server_version().map(ServerVersion::num), Some(150018));
    }

    #[test]
    fn malformed_frames_are_reported() {
        let mut s = Session::new();
        assert!(matches!(
            s.on_client_frame(&frame(b'Q', b"no nul")),
            ClientEvent::Malformed(_)
        ));
        assert!(s.on_server_frame(&frame(b'Z', b"?")).is_err());
        assert_eq!(s.in_flight(), 0);
    }

    #[test]
    fn inspected_sets_cover_what_is_decoded() {
        for t in [b'Q', b'P', b'S', b'X'] {
            assert!(INSPECT_CLIENT.contains(t));
        }
        assert!(!INSPECT_CLIENT.contains(b'd'), "CopyData must stream");
        assert!(INSPECT_SERVER.contains(b'Z') && !INSPECT_SERVER.contains(b'D'));
    }
}
