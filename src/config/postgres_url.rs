//! A PostgreSQL URL as the journal takes it: the parts libpq reads that the client library
//! does not (`sslmode=verify-*`, `sslrootcert`) taken out, and no password in it (passwords
//! come from a file or the environment, like every secret).

use std::str::FromStr;

#[derive(Debug)]
pub struct Parsed {
    /// The URL without `sslmode` and `sslrootcert`.
    pub url: String,
    pub sslmode: Option<String>,
    pub sslrootcert: Option<String>,
}

pub fn parse(url: &str) -> Result<Parsed, String> {
    let url = url.trim();
    let Some(rest) = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
    else {
        return Err(format!(
            "{url:?} is not a PostgreSQL URL; write it like postgres://revertbot@db.example:5432/revertbot"
        ));
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if let Some((userinfo, _)) = authority.rsplit_once('@') {
        if userinfo.contains(':') {
            return Err(
                "holds a password; take it out of the URL and put it in journal.password_file (or REVERTBOT_JOURNAL_PASSWORD)".into(),
            );
        }
    }
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let (mut sslmode, mut sslrootcert, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => sslmode = Some(v.to_string()),
            Some(("sslrootcert", v)) => sslrootcert = Some(v.to_string()),
            Some(("password", _)) => {
                return Err(
                    "holds a password; take it out of the URL and put it in journal.password_file (or REVERTBOT_JOURNAL_PASSWORD)".into(),
                )
            }
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    let config = postgres::Config::from_str(&url).map_err(|e| format!("{url:?}: {e}"))?;
    if config.get_hosts().is_empty() {
        return Err(format!(
            "{url:?} names no host; write it like postgres://revertbot@db.example:5432/revertbot"
        ));
    }
    if config.get_user().is_none() {
        return Err(format!(
            "{url:?} names no user; write it like postgres://revertbot@db.example:5432/revertbot"
        ));
    }
    Ok(Parsed {
        url,
        sslmode,
        sslrootcert,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_libpq_tls_options_out_of_the_url() {
        let p = parse("postgres://rb@db:5433/journal?sslmode=verify-full&connect_timeout=3&sslrootcert=/ca.pem")
            .unwrap();
        assert_eq!(p.url, "postgres://rb@db:5433/journal?connect_timeout=3");
        assert_eq!(p.sslmode.as_deref(), Some("verify-full"));
        assert_eq!(p.sslrootcert.as_deref(), Some("/ca.pem"));
        let p = parse("postgresql://rb@db/journal").unwrap();
        assert_eq!(p.url, "postgresql://rb@db/journal");
        assert_eq!(p.sslmode, None);
    }

    #[test]
    fn refuses_passwords_and_what_is_not_a_database() {
        for bad in [
            "postgres://rb:secret@db/journal",
            "postgres://rb@db/journal?password=secret",
        ] {
            assert!(parse(bad).unwrap_err().contains("password_file"), "{bad}");
        }
        assert!(parse("mysql://rb@db/journal")
            .unwrap_err()
            .contains("not a PostgreSQL URL"));
        assert!(parse("postgres://db/journal")
            .unwrap_err()
            .contains("no user"));
        assert!(parse("postgres://rb@db/journal?nonsense=1").is_err());
    }
}
