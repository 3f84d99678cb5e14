//! The syslog audit sink (`[log.syslog]`): each sealed audit line sent as one RFC 5424
//! message, `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`, with PRI = facility × 8 +
//! 6 (informational), MSGID `audit` and the JSON line as MSG, over UDP or a Unix datagram
//! socket (`/dev/log`).

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;

/// A connected syslog destination.
pub enum Syslog {
    /// UDP.
    Udp(UdpSocket),
    /// A Unix datagram socket.
    Unix(UnixDatagram),
}

/// The settings, resolved.
pub struct Sink {
    to: Syslog,
    cfg: ddlgate_config::Syslog,
    host: String,
}

impl Sink {
    /// Connects to `cfg.address`.
    pub fn connect(cfg: &ddlgate_config::Syslog) -> std::io::Result<Self> {
        let to = if let Some(addr) = cfg.address.strip_prefix("udp://") {
            let s = UdpSocket::bind(if addr.starts_with('[') {
                "[::]:0"
            } else {
                "0.0.0.0:0"
            })?;
            s.connect(addr)?;
            Syslog::Udp(s)
        } else if let Some(path) = cfg.address.strip_prefix("unix://") {
            let s = UnixDatagram::unbound()?;
            s.connect(path)?;
            Syslog::Unix(s)
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "syslog address {:?}: expected udp://HOST:PORT or unix:///PATH",
                    cfg.address
                ),
            ));
        };
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "-".into());
        Ok(Self {
            to,
            cfg: cfg.clone(),
            host,
        })
    }

    /// Sends one audit line.
    pub fn send(&self, line: &str) -> std::io::Result<()> {
        let msg = message(&self.cfg, &self.host, line);
        match &self.to {
            Syslog::Udp(s) => s.send(msg.as_bytes()).map(|_| ()),
            Syslog::Unix(s) => s.send(msg.as_bytes()).map(|_| ()),
        }
    }

    /// What DDL is refused for after a failed send, with `on_failure = "block"`.
    pub fn blocks(&self) -> bool {
        self.cfg.on_failure == ddlgate_config::OnFailure::Block
    }
}

/// The RFC 5424 message of `line`.
pub fn message(cfg: &ddlgate_config::Syslog, host: &str, line: &str) -> String {
    let pri = u16::from(cfg.facility.min(23)) * 8 + 6;
    let time = humantime::format_rfc3339_millis(std::time::SystemTime::now());
    format!(
        "<{pri}>1 {time} {host} {} {} audit - {line}",
        cfg.app_name,
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn messages_follow_rfc_5424() {
        let cfg = ddlgate_config::Syslog::default();
        let m = super::message(&cfg, "db1", "{\"seq\":1}");
        assert!(m.starts_with("<86>1 "), "{m}");
        let parts: Vec<&str> = m.splitn(8, ' ').collect();
        assert_eq!(parts[2], "db1");
        assert_eq!(parts[3], "ddlgate");
        assert_eq!(parts[5], "audit");
        assert_eq!(parts[6], "-");
        assert_eq!(parts[7], "{\"seq\":1}");
    }
}
