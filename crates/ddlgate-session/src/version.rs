//! The `server_version` parameter ([ParameterStatus](https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-ASYNC)).

/// A PostgreSQL server version, comparable as `server_version_num`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerVersion {
    /// Major version (e.g. 15).
    pub major: u32,
    /// Minor version (e.g. 4).
    pub minor: u32,
}

impl ServerVersion {
    /// Parses the `server_version` string, e.g. `15.4`, `16beta2`, `15.18 (Debian 15.18-0+deb12u1)`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut digits = text.trim().split(|c: char| !c.is_ascii_digit());
        let major: u32 = digits.next()?.parse().ok()?;
        let rest = &text.trim()[major.to_string().len()..];
        let minor = rest
            .strip_prefix('.')
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok())
            .unwrap_or(0);
        (major >= 7).then_some(Self { major, minor })
    }

    /// The version as `server_version_num` (e.g. 150004).
    pub fn num(self) -> u32 {
        self.major * 10_000 + self.minor
    }
}

#[cfg(test)]
mod tests {
    use super::ServerVersion;

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            ServerVersion::parse("15.4").map(ServerVersion::num),
            Some(150004)
        );
        assert_eq!(
            ServerVersion::parse("15.18 (Debian 15.18-0+deb12u1)").map(ServerVersion::num),
            Some(150018)
        );
        assert_eq!(
            ServerVersion::parse("17devel").map(ServerVersion::num),
            Some(170000)
        );
        assert_eq!(
            ServerVersion::parse("16beta2").map(ServerVersion::num),
            Some(160000)
        );
        assert_eq!(ServerVersion::parse("garbage"), None);
    }
}
