//! Readers for the extended-query fields a capture needs beyond what `ddlgate_wire::decode`
//! offers today: the declared parameter types of `Parse`, the parameter count of `Bind`, the
//! target of `Describe`/`Close` and the row limit of `Execute`
//! ([Message Formats](https://www.postgresql.org/docs/current/protocol-message-formats.html)).
//!
//! They borrow from the whole frame (type byte and length included), like the wire crate's
//! decoders, and belong there once that crate grows them. Unlike those, they read the whole body
//! and reject trailing bytes, as the server does (`pq_getmsgend`): the gateway must not answer a
//! message the server would have refused.

use ddlgate_wire::decode::DecodeError;

/// What a `Describe` or `Close` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `S`: a prepared statement.
    Statement,
    /// `P`: a portal.
    Portal,
}

/// How many rows an `Execute` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowLimit {
    /// Zero (or, as the server reads it, any value below one): run to completion.
    Unlimited,
    /// At most this many rows, then `PortalSuspended`.
    Rows(u32),
}

/// Reads a message body front to back.
struct Cursor<'a> {
    rest: &'a [u8],
    message: &'static str,
}

impl<'a> Cursor<'a> {
    /// The body of `frame` (after the type byte and length).
    fn new(frame: &'a [u8], message: &'static str) -> Self {
        Self {
            rest: frame.get(5..).unwrap_or_default(),
            message,
        }
    }

    fn malformed(&self) -> DecodeError {
        DecodeError {
            message: self.message,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(self.malformed());
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn cstr(&mut self) -> Result<&'a [u8], DecodeError> {
        let nul = self
            .rest
            .iter()
            .position(|&b| b == 0)
            .ok_or(self.malformed())?;
        let s = &self.rest[..nul];
        self.rest = &self.rest[nul + 1..];
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn i32(&mut self) -> Result<i32, DecodeError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn end(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(self.malformed())
        }
    }
}

/// A `Parse` message, with its declared parameter types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parse<'a> {
    /// Statement name (empty for the unnamed statement).
    pub statement: &'a [u8],
    /// SQL text.
    pub query: &'a [u8],
    /// Declared parameter type OIDs (0 = left for the server to infer).
    pub param_types: Vec<u32>,
}

/// Reads a `Parse` message.
pub fn parse(frame: &[u8]) -> Result<Parse<'_>, DecodeError> {
    let mut c = Cursor::new(frame, "Parse");
    let statement = c.cstr()?;
    let query = c.cstr()?;
    let count = usize::from(c.u16()?);
    let oids = c.take(4 * count)?;
    c.end()?;
    let param_types = oids
        .chunks_exact(4)
        .map(|o| u32::from_be_bytes([o[0], o[1], o[2], o[3]]))
        .collect();
    Ok(Parse {
        statement,
        query,
        param_types,
    })
}

/// The parts of a `Bind` message a capture checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bind<'a> {
    /// Destination portal (empty for the unnamed portal).
    pub portal: &'a [u8],
    /// Source statement (empty for the unnamed statement).
    pub statement: &'a [u8],
    /// Number of parameter values supplied.
    pub params: u16,
}

/// Reads a `Bind` message: names and parameter count, checking the rest of its layout.
pub fn bind(frame: &[u8]) -> Result<Bind<'_>, DecodeError> {
    let mut c = Cursor::new(frame, "Bind");
    let portal = c.cstr()?;
    let statement = c.cstr()?;
    let formats = usize::from(c.u16()?);
    c.take(2 * formats)?;
    let params = c.u16()?;
    for _ in 0..params {
        // A length of -1 is NULL; other negative lengths are invalid.
        match c.i32()? {
            -1 => {}
            len => {
                let len = usize::try_from(len).map_err(|_| c.malformed())?;
                c.take(len)?;
            }
        }
    }
    let results = usize::from(c.u16()?);
    c.take(2 * results)?;
    c.end()?;
    Ok(Bind {
        portal,
        statement,
        params,
    })
}

/// Reads the target and name of a `Describe` or `Close` message (`message` names it in errors).
pub fn target<'a>(
    frame: &'a [u8],
    message: &'static str,
) -> Result<(Target, &'a [u8]), DecodeError> {
    let mut c = Cursor::new(frame, message);
    let target = match c.u8()? {
        b'S' => Target::Statement,
        b'P' => Target::Portal,
        _ => return Err(c.malformed()),
    };
    let name = c.cstr()?;
    c.end()?;
    Ok((target, name))
}

/// Reads the portal and row limit of an `Execute` message.
pub fn execute(frame: &[u8]) -> Result<(&[u8], RowLimit), DecodeError> {
    let mut c = Cursor::new(frame, "Execute");
    let portal = c.cstr()?;
    let max_rows = c.i32()?;
    c.end()?;
    let limit = match u32::try_from(max_rows) {
        Ok(n) if n > 0 => RowLimit::Rows(n),
        _ => RowLimit::Unlimited,
    };
    Ok((portal, limit))
}
