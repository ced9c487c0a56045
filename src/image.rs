//! Image references: parsing `[registry/]path[:tag][@digest]` and normalising names so that
//! every spelling of one repository compares equal (`nginx` = `library/nginx` =
//! `docker.io/library/nginx` = `index.docker.io/library/nginx`).

use std::fmt;

/// A parsed image reference, as written (the name is not normalised here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{input}' is not an image reference: {reason}")]
pub struct ImageError {
    pub input: String,
    pub reason: &'static str,
}

impl ImageRef {
    /// Parses `name[:tag][@digest]`. A `:` belongs to the tag only when it comes after the last
    /// `/`, so `localhost:5000/app` is a name with a registry port, not a tag.
    pub fn parse(input: &str) -> Result<ImageRef, ImageError> {
        let fail = |reason| ImageError {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(fail("it is empty"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, digest)) => {
                if !is_digest(digest) {
                    return Err(fail("the digest must look like sha256:<hex>"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let colon = last_slash + i;
                let tag = &rest[colon + 1..];
                if !is_tag(tag) {
                    return Err(fail(
                        "the tag may hold only letters, digits, '_', '.' and '-'",
                    ));
                }
                (&rest[..colon], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        // `.` and `..` would walk the registry's paths, not name a repository.
        if name.split('/').any(|part| part == "." || part == "..") {
            return Err(fail("a path component may not be '.' or '..'"));
        }
        if !is_name(name) {
            return Err(fail(
                "the name may hold only letters, digits, '.', '_', '-', ':' (registry port) and '/'",
            ));
        }
        Ok(ImageRef {
            name: name.to_string(),
            tag,
            digest,
        })
    }

    /// The normalised repository name (see [`normalize_name`]).
    pub fn normalized_name(&self) -> String {
        normalize_name(&self.name)
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Canonical form of a repository name: `registry/path`, with Docker Hub's implicit registry
/// and `library/` namespace made explicit. Other registries compare exactly (hostnames are
/// case-insensitive, so the registry part is lower-cased).
pub fn normalize_name(name: &str) -> String {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_ascii_lowercase(), rest)
        }
        _ => ("docker.io".to_string(), name),
    };
    let registry = match registry.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => registry,
    };
    if registry == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}")
    } else {
        format!("{registry}/{path}")
    }
}

/// The last path segment of a name: every spelling of a reference to the image contains it
/// literally, which makes it a sound and cheap pre-filter before parsing a file.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn is_tag(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.ends_with('/')
        && !s.contains("//")
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b':'))
}

fn is_digest(s: &str) -> bool {
    match s.split_once(':') {
        Some((algo, hex)) => {
            !algo.is_empty()
                && algo
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'_' | b'-'))
                && hex.len() >= 32
                && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_name_tag_and_digest() {
        let r = ImageRef::parse("ghcr.io/org/app:v1.2.3").unwrap();
        assert_eq!(r.name, "ghcr.io/org/app");
        assert_eq!(r.tag.as_deref(), Some("v1.2.3"));
        assert_eq!(r.digest, None);

        let d = format!("sha256:{}", "a".repeat(64));
        let r = ImageRef::parse(&format!("nginx:1.25@{d}")).unwrap();
        assert_eq!(r.name, "nginx");
        assert_eq!(r.tag.as_deref(), Some("1.25"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.to_string(), format!("nginx:1.25@{d}"));
    }

    #[test]
    fn registry_port_is_not_a_tag() {
        let r = ImageRef::parse("localhost:5000/team/app").unwrap();
        assert_eq!(r.name, "localhost:5000/team/app");
        assert_eq!(r.tag, None);
        let r = ImageRef::parse("localhost:5000/team/app:7").unwrap();
        assert_eq!(r.name, "localhost:5000/team/app");
        assert_eq!(r.tag.as_deref(), Some("7"));
    }

    #[test]
    fn rejects_malformed_references() {
        for bad in [
            "",
            "nginx:",
            "nginx@sha256:xyz",
            "${IMAGE}",
            "a b",
            "/abs",
            "x:tag with space",
            "ghcr.io/acme/../admin:1",
            "ghcr.io/../x",
            "../x",
            "ghcr.io/acme/./app",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn docker_hub_spellings_are_one_name() {
        let want = "docker.io/library/nginx";
        for spelling in [
            "nginx",
            "library/nginx",
            "docker.io/library/nginx",
            "index.docker.io/library/nginx",
            "docker.io/nginx",
        ] {
            assert_eq!(normalize_name(spelling), want, "{spelling}");
        }
        assert_eq!(normalize_name("bitnami/redis"), "docker.io/bitnami/redis");
    }

    #[test]
    fn other_registries_compare_exactly_never_by_prefix() {
        assert_ne!(
            normalize_name("tracker/frontend"),
            normalize_name("tracker/frontend-maintenance")
        );
        assert_ne!(normalize_name("ghcr.io/org/app"), normalize_name("org/app"));
        assert_eq!(normalize_name("GHCR.io/org/app"), "ghcr.io/org/app");
    }
}
