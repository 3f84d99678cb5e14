//! What looks like a credential: the names of settings and options that hold one, and text
//! that carries one (a libpq connection string or URI with a password, SQL that sets one).
//! Deliberately broad: a log that misses a harmless value is fine, a leaked password is not.

/// Option, setting and key-word names (ASCII lower case) whose value is a secret when they
/// contain one of these: `PASSWORD`, FDW options such as `password`, `sslpassword` or
/// `aws_secret_access_key`, custom settings such as `app.api_token`.
const NAME_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "credential",
    "token",
    "apikey",
    "api_key",
    "access_key",
    "private_key",
];

/// Names that are secrets only when they are the whole name.
const NAMES: &[&str] = &["pwd", "pass"];

/// Text (ASCII lower case) mentioning one of these may carry a secret: a conninfo
/// `password=…`, SQL setting a `PASSWORD`, a body handling one.
const TEXT_PARTS: &[&str] = &["password", "passwd", "secret"];

/// Is `name` (an identifier's value) the name of something that holds a secret?
pub(super) fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    NAMES.contains(&lower.as_str()) || NAME_PARTS.iter().any(|p| lower.contains(p))
}

/// Does `text` (a string's value, a comment) mention a secret? The words of [`TEXT_PARTS`]
/// (also after URI percent-decoding), or a URI with a password (`scheme://user:pw@host`).
pub(super) fn mentions_secret(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if TEXT_PARTS.iter().any(|p| lower.contains(p)) || uri_password(&lower) {
        return true;
    }
    if lower.contains('%') {
        let decoded = percent_decoded(&lower).to_ascii_lowercase();
        return TEXT_PARTS.iter().any(|p| decoded.contains(p)) || uri_password(&decoded);
    }
    false
}

/// Whether a `scheme://` authority in `text` has a password in its user information.
fn uri_password(text: &str) -> bool {
    text.match_indices("://").any(|(at, _)| {
        let rest = &text[at + 3..];
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        authority
            .rsplit_once('@')
            .is_some_and(|(userinfo, _)| userinfo.contains(':'))
    })
}

/// `%XX` sequences decoded (libpq decodes URI components this way).
fn percent_decoded(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "PASSWORD",
            "sslpassword",
            "aws_secret_access_key",
            "pwd",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["user", "host", "search_path", "passage", "key"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn texts_with_secrets() {
        for text in [
            "host=x password=y",
            "host=x PASSWORD = 'y'",
            "postgresql://u:pw@h/db",
            "postgres://u:pw@h1,h2:5433/db?sslmode=require",
            "postgresql:///db?pass%77ord=y",
            "postgresql://u%3Ax:p@h",
            "BEGIN EXECUTE 'CREATE ROLE x PASSWORD ''s'''; END",
        ] {
            assert!(mentions_secret(text), "{text}");
        }
        for text in [
            "host=x user=u dbname=y",
            "postgresql://u@h/db",
            "https://example.com/a:b@c",
            "100%",
            "",
        ] {
            assert!(!mentions_secret(text), "{text}");
        }
    }
}
