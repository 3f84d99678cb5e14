//! `[[policy.scope]]`: who may run which DDL where. Every scope that matches a statement is
//! evaluated and the strictest action wins (block > require-approval > rewrite > warn >
//! allow), whatever the order in the file — exceptions are written as `except_roles` on the
//! strict scope, never as a later allow (Cedar's forbid-overrides, not ProxySQL's first
//! match). The global `[policy]` (the safety rules) is the floor every scope starts from.

use ddlgate_ddl::RuleId;
use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// What a scope does with the statements it matches, least strict first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeAction {
    /// No restriction beyond the safety rules.
    Allow,
    /// Run it, with a WARNING naming the scope.
    Warn,
    /// Only as its safe plan (blocked when there is none).
    Rewrite,
    /// Not run until another identity approves this very statement.
    RequireApproval,
    /// Refused with SQLSTATE 42501.
    Block,
}

/// The kinds of statement a scope can name (`statements = [...]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatementKind {
    /// Any DDL, including `DO` blocks that run DDL and function bodies that do.
    Ddl,
    /// `DROP TABLE` (also a drop through `CASCADE`).
    DropTable,
    /// `ALTER TABLE … DROP COLUMN` (also through `CASCADE`).
    DropColumn,
    /// `DROP SCHEMA`.
    DropSchema,
    /// `TRUNCATE`.
    Truncate,
    /// `DROP DATABASE`.
    DropDatabase,
    /// Renames of tables, columns, indexes; moves to another schema.
    Rename,
    /// `CREATE`/`ALTER`/`DROP ROLE` and `GRANT`/`REVOKE` of roles.
    Role,
}

/// A day of the week (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Weekday {
    /// The day of a time, in seconds since the Unix epoch (1970-01-01 was a Thursday).
    pub fn of_unix(secs: u64) -> Self {
        const DAYS: [Weekday; 7] = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        DAYS[((secs / 86_400 + 3) % 7) as usize]
    }
}

/// `"HH:MM-HH:MM"` as minutes of the day, `[start, end)`; `None` when malformed.
pub fn parse_hours(s: &str) -> Option<(u32, u32)> {
    let minute = |t: &str| {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(h * 60 + m)
    };
    let (a, b) = s.split_once('-')?;
    Some((minute(a)?, minute(b)?))
}

impl Scope {
    /// Whether the scope names where statements act (`schemas` or `objects`), so that the
    /// gateway must place them.
    pub fn names_places(&self) -> bool {
        !self.schemas.is_empty() || !self.objects.is_empty()
    }

    /// Whether the scope applies at `secs` since the Unix epoch (UTC).
    pub fn applies_at(&self, secs: u64) -> bool {
        if !self.days.is_empty() && !self.days.contains(&Weekday::of_unix(secs)) {
            return false;
        }
        let Some((start, end)) = self.hours.as_deref().and_then(parse_hours) else {
            return true;
        };
        let now = ((secs % 86_400) / 60) as u32;
        if start <= end {
            (start..end).contains(&now)
        } else {
            now >= start || now < end
        }
    }
}

/// One `[[policy.scope]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Its name: the rule id the client, the audit log and `policy explain` show.
    pub name: String,
    /// Matches when the session's role (`session_user` or `current_user`) is one of these or a
    /// member of one (directly or through other roles, as `pg_auth_members` says: a superuser
    /// is not a member of every role here). Empty: every role.
    #[serde(default)]
    pub roles: Vec<String>,
    /// …unless it is a member of one of these.
    #[serde(default)]
    pub except_roles: Vec<String>,
    /// Databases (as the client named them). Empty: all.
    #[serde(default)]
    pub databases: Vec<String>,
    /// Schemas (as the catalog spells them): matches a statement that acts on an object in
    /// one of them — a relation it locks or creates, the object it names, a schema it
    /// creates, alters, drops or moves something to — with unqualified names placed by the
    /// session's search path. A statement the gateway cannot place matches (fail closed).
    /// Empty: any schema.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Objects, as `schema.name` (as the catalog spells them): matches a statement that acts
    /// on one of them, placed as for `schemas` (an index or trigger counts as acting on its
    /// table). A statement the gateway cannot place matches (fail closed). Empty: any object.
    #[serde(default)]
    pub objects: Vec<String>,
    /// `application_name` values. Asserted by the client, so a scope naming them may only
    /// restrict (its action cannot be `allow`).
    #[serde(default)]
    pub applications: Vec<String>,
    /// Client addresses, as CIDR blocks (`10.0.0.0/8`, `::1/128`) or single addresses.
    #[serde(default)]
    pub clients: Vec<String>,
    /// Days (UTC) on which the scope applies: `mon` … `sun`. Empty: every day.
    #[serde(default)]
    pub days: Vec<Weekday>,
    /// Hours (UTC) in which the scope applies, `"HH:MM-HH:MM"`; a range past midnight
    /// (`"18:00-08:00"`) wraps. Absent: all day.
    #[serde(default)]
    pub hours: Option<String>,
    /// Statement kinds. Empty: any DDL.
    #[serde(default)]
    pub statements: Vec<StatementKind>,
    /// Analyser rule ids: matches when one of them fired. Empty: whatever fired.
    #[serde(default)]
    pub rules: Vec<RuleId>,
    /// What to do.
    pub action: ScopeAction,
    /// Record what the scope would have done (`would_action` in the audit log) without doing
    /// it, to try a new scope on production traffic.
    #[serde(default)]
    pub observe: bool,
    /// For `require-approval`: roles whose members may approve (never the requester).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// For `require-approval`: how many different approvers it takes. Default 1.
    #[serde(default = "one")]
    pub min_approvals: u32,
    /// For `require-approval`: seconds a request waits for its approvals, and a grant for
    /// its single use. Default 3600.
    #[serde(default = "hour")]
    pub approval_ttl_secs: u64,
}

fn one() -> u32 {
    1
}

fn hour() -> u64 {
    3600
}

/// `[policy.breakglass]`: who may open a time-boxed window in which the scopes' `block` and
/// `require-approval` only warn, for that role alone, every event tagged with the window.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Breakglass {
    /// Roles whose members may open a window (for themselves). Empty: nobody.
    pub roles: Vec<String>,
    /// A regular expression the reason must match (e.g. an incident id, `^INC-[0-9]+`).
    pub reason_pattern: String,
    /// Longest window, in seconds. Default 3600.
    pub max_ttl_secs: u64,
}

impl Default for Breakglass {
    fn default() -> Self {
        Self {
            roles: Vec::new(),
            reason_pattern: ".+".into(),
            max_ttl_secs: 3600,
        }
    }
}

impl Breakglass {
    /// Whether `reason` is acceptable.
    pub fn reason_ok(&self, reason: &str) -> bool {
        regex::Regex::new(&self.reason_pattern).is_ok_and(|r| r.is_match(reason))
    }

    /// Why `actor` (a member of `roles`) may not open a window for `reason` and `ttl_secs`;
    /// `None` when it may.
    pub fn refusal(
        &self,
        (actor, roles): (&str, &std::collections::BTreeSet<String>),
        reason: &str,
        ttl_secs: u64,
    ) -> Option<String> {
        if !self.roles.iter().any(|r| roles.contains(r)) {
            Some(format!(
                "{actor} is not a member of a break-glass role ({})",
                self.roles.join(", ")
            ))
        } else if !self.reason_ok(reason) {
            Some(format!("the reason must match {:?}", self.reason_pattern))
        } else if ttl_secs == 0 || ttl_secs > self.max_ttl_secs {
            Some(format!(
                "the duration must be between 1s and {}s",
                self.max_ttl_secs
            ))
        } else {
            None
        }
    }
}

pub(crate) fn validate_breakglass(
    b: &Breakglass,
    control: &crate::Control,
) -> Result<(), ConfigError> {
    if let Err(e) = regex::Regex::new(&b.reason_pattern) {
        return Err(ConfigError::invalid(
            "policy.breakglass.reason_pattern",
            e.to_string(),
        ));
    }
    if b.max_ttl_secs == 0 {
        return Err(ConfigError::invalid(
            "policy.breakglass.max_ttl_secs",
            "must be at least 1",
        ));
    }
    if !b.roles.is_empty() && !control.enabled() {
        return Err(ConfigError::invalid(
            "policy.breakglass.roles",
            "break-glass windows are stored through the [control] role: configure one",
        ));
    }
    Ok(())
}

/// A client address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// Network address.
    pub addr: std::net::IpAddr,
    /// Prefix length.
    pub prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` or a single address.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (s.parse().ok()?, None),
        };
        let max = match addr {
            std::net::IpAddr::V4(_) => 32,
            std::net::IpAddr::V6(_) => 128,
        };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in the block (an IPv4 address in IPv6 form counts as IPv4).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr::{V4, V6};
        let ip = match ip {
            V6(v6) => v6.to_ipv4_mapped().map_or(V6(v6), V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (V4(net), V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (V6(net), V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (bytes, bits) = (usize::from(prefix / 8), prefix % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || (a[bytes] ^ b[bytes]) >> (8 - bits) == 0
}

pub(crate) fn validate(scopes: &[Scope], control: &crate::Control) -> Result<(), ConfigError> {
    let mut names = std::collections::BTreeSet::new();
    for s in scopes {
        let field = |f: &str| format!("policy.scope \"{}\" {f}", s.name);
        if s.name.trim().is_empty() {
            return Err(ConfigError::invalid(
                "policy.scope.name",
                "must not be empty",
            ));
        }
        if !names.insert(s.name.as_str()) {
            return Err(ConfigError::invalid(field("name"), "is used by two scopes"));
        }
        if !s.applications.is_empty() && s.action == ScopeAction::Allow {
            return Err(ConfigError::invalid(
                field("applications"),
                "application_name is asserted by the client: a scope naming it may only restrict (warn, rewrite, require-approval or block), never allow",
            ));
        }
        if s.action == ScopeAction::RequireApproval {
            if s.approvers.is_empty() || s.min_approvals == 0 || s.approval_ttl_secs == 0 {
                return Err(ConfigError::invalid(
                    field("approvers"),
                    "require-approval needs approvers, min_approvals >= 1 and approval_ttl_secs >= 1",
                ));
            }
            if !control.enabled() {
                return Err(ConfigError::invalid(
                    field("action"),
                    "require-approval stores its requests through the [control] role: configure one",
                ));
            }
        }
        if let Some(bad) = s.objects.iter().find(|o| !o.contains('.')) {
            return Err(ConfigError::invalid(
                field("objects"),
                format!("{bad:?} is not schema-qualified (schema.name)"),
            ));
        }
        if let Some(h) = s.hours.as_deref().filter(|h| parse_hours(h).is_none()) {
            return Err(ConfigError::invalid(
                field("hours"),
                format!("{h:?} is not \"HH:MM-HH:MM\" (UTC)"),
            ));
        }
        if let Some(bad) = s.clients.iter().find(|c| Cidr::parse(c).is_none()) {
            return Err(ConfigError::invalid(
                field("clients"),
                format!("{bad:?} is not an address or a CIDR block"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_windows_follow_days_and_hours_in_utc() {
        // 2026-12-07 (a Monday) 10:30 UTC.
        let monday_1030 = 1_796_639_400;
        assert_eq!(Weekday::of_unix(monday_1030), Weekday::Mon);
        assert_eq!(Weekday::of_unix(0), Weekday::Thu);
        let scope = |days: Vec<Weekday>, hours: Option<&str>| Scope {
            name: "s".into(),
            roles: Vec::new(),
            except_roles: Vec::new(),
            databases: Vec::new(),
            schemas: Vec::new(),
            objects: Vec::new(),
            applications: Vec::new(),
            clients: Vec::new(),
            days,
            hours: hours.map(str::to_owned),
            statements: Vec::new(),
            rules: Vec::new(),
            action: ScopeAction::Block,
            observe: false,
            approvers: Vec::new(),
            min_approvals: 1,
            approval_ttl_secs: 3600,
        };
        assert!(scope(vec![], None).applies_at(monday_1030));
        assert!(scope(vec![Weekday::Mon], Some("09:00-17:00")).applies_at(monday_1030));
        assert!(!scope(vec![Weekday::Sat, Weekday::Sun], None).applies_at(monday_1030));
        assert!(!scope(vec![], Some("11:00-12:00")).applies_at(monday_1030));
        // Past midnight: 18:00 to 08:00.
        assert!(!scope(vec![], Some("18:00-08:00")).applies_at(monday_1030));
        assert!(scope(vec![], Some("18:00-08:00")).applies_at(monday_1030 + 12 * 3600));
        assert_eq!(parse_hours("25:00-01:00"), None);
        assert_eq!(parse_hours("9:05-17:30"), Some((545, 1050)));
    }

    #[test]
    fn cidr_blocks_contain_what_they_should() {
        let c = Cidr::parse("10.1.0.0/16").expect("cidr");
        assert!(c.contains("10.1.200.3".parse().expect("ip")));
        assert!(!c.contains("10.2.0.1".parse().expect("ip")));
        assert!(c.contains("::ffff:10.1.0.9".parse().expect("ip")));
        let one = Cidr::parse("127.0.0.1").expect("address");
        assert!(one.contains("127.0.0.1".parse().expect("ip")));
        assert!(!one.contains("127.0.0.2".parse().expect("ip")));
        assert!(Cidr::parse("fd00::/8")
            .expect("v6")
            .contains("fd12::1".parse().expect("ip")));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("ten").is_none());
        let any = Cidr::parse("0.0.0.0/0").expect("all");
        assert!(any.contains("192.168.1.1".parse().expect("ip")));
    }
}
