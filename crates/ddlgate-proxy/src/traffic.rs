//! Bytes and messages a session relayed, per direction. The relay's pumps (and the fast relay)
//! count locally and add once per batch of frames they pass on, so the hot path pays one
//! uncontended atomic add per read. Live sessions' counts are listed by the admin API; the
//! metrics add them to the totals of sessions that have ended.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// Which way bytes went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Client → server.
    ToServer,
    /// Server → client.
    ToClient,
}

impl Direction {
    /// The metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Self::ToServer => "to_server",
            Self::ToClient => "to_client",
        }
    }
}

/// A session's counts (or the ended sessions' totals).
#[derive(Debug, Default)]
pub struct Traffic {
    to_server_bytes: AtomicU64,
    to_server_messages: AtomicU64,
    to_client_bytes: AtomicU64,
    to_client_messages: AtomicU64,
}

/// The counts at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TrafficView {
    /// Bytes from the client passed on to the server.
    pub bytes_to_server: u64,
    /// Messages from the client passed on to the server.
    pub messages_to_server: u64,
    /// Bytes from the server passed on to the client.
    pub bytes_to_client: u64,
    /// Messages from the server passed on to the client.
    pub messages_to_client: u64,
}

impl TrafficView {
    /// The bytes and messages one way.
    pub fn get(&self, direction: Direction) -> (u64, u64) {
        match direction {
            Direction::ToServer => (self.bytes_to_server, self.messages_to_server),
            Direction::ToClient => (self.bytes_to_client, self.messages_to_client),
        }
    }
}

impl std::ops::AddAssign for TrafficView {
    fn add_assign(&mut self, o: Self) {
        self.bytes_to_server += o.bytes_to_server;
        self.messages_to_server += o.messages_to_server;
        self.bytes_to_client += o.bytes_to_client;
        self.messages_to_client += o.messages_to_client;
    }
}

impl Traffic {
    /// Adds `bytes` and `messages` passed on `direction`.
    pub fn add(&self, direction: Direction, bytes: u64, messages: u64) {
        if bytes == 0 && messages == 0 {
            return;
        }
        let (b, m) = match direction {
            Direction::ToServer => (&self.to_server_bytes, &self.to_server_messages),
            Direction::ToClient => (&self.to_client_bytes, &self.to_client_messages),
        };
        b.fetch_add(bytes, Ordering::Relaxed);
        m.fetch_add(messages, Ordering::Relaxed);
    }

    /// Adds another session's counts (when it ends).
    pub fn absorb(&self, v: TrafficView) {
        self.add(Direction::ToServer, v.bytes_to_server, v.messages_to_server);
        self.add(Direction::ToClient, v.bytes_to_client, v.messages_to_client);
    }

    /// The counts now.
    pub fn view(&self) -> TrafficView {
        TrafficView {
            bytes_to_server: self.to_server_bytes.load(Ordering::Relaxed),
            messages_to_server: self.to_server_messages.load(Ordering::Relaxed),
            bytes_to_client: self.to_client_bytes.load(Ordering::Relaxed),
            messages_to_client: self.to_client_messages.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_per_direction_and_ended_sessions_are_absorbed() {
        let t = Traffic::default();
        t.add(Direction::ToServer, 100, 2);
        t.add(Direction::ToClient, 40, 3);
        t.add(Direction::ToServer, 5, 1);
        assert_eq!(t.view().get(Direction::ToServer), (105, 3));
        assert_eq!(t.view().get(Direction::ToClient), (40, 3));
        let ended = Traffic::default();
        ended.absorb(t.view());
        ended.absorb(t.view());
        assert_eq!(ended.view().get(Direction::ToServer), (210, 6));
        let mut sum = TrafficView::default();
        sum += t.view();
        sum += ended.view();
        assert_eq!(sum.get(Direction::ToClient), (120, 9));
    }
}
