//! A kustomization's `images:` entries, applied as kustomize's `ImageTagTransformer` does
//! (`api/filters/imagetag/updater.go` and `api/internal/image/image.go`).
//!
//! kustomize runs one transformer per entry, in the order written, each on the output of the
//! one before (`kusttarget_configplugin.go`). So when two entries name the same image, both
//! apply: the later one's tag (or digest) is what is rendered; and an entry that gives the
//! image a `newName` leaves it out of reach of later entries matching the old name.

use regex::Regex;

/// One `images:` entry. Empty fields are unset, as in kustomize's `types.Image`.
#[derive(Debug, Clone)]
pub struct ImageOverride {
    pub new_name: String,
    pub new_tag: String,
    pub digest: String,
    /// kustomize builds `^<name>(:tag)?(@digest)?$` with the name written into the pattern
    /// as is, so an entry matches exactly its name (the `.` of a registry host being a regex
    /// dot, which matches itself too). `None` when the name is not a valid pattern: kustomize
    /// then matches nothing.
    matcher: Option<Regex>,
}

impl ImageOverride {
    pub fn new(name: &str, new_name: &str, new_tag: &str, digest: &str) -> ImageOverride {
        let pattern = format!(
            "^{name}(:[a-zA-Z0-9_.{{}}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{{}}-]*)?$"
        );
        ImageOverride {
            new_name: new_name.to_string(),
            new_tag: new_tag.to_string(),
            digest: digest.to_string(),
            matcher: Regex::new(&pattern).ok(),
        }
    }

    /// The image after this entry, or `None` when the entry does not match it.
    pub fn apply(&self, image: &str) -> Option<String> {
        if !self.matcher.as_ref()?.is_match(image) {
            return None;
        }
        let (name, tag, digest) = split(image);
        let mut name = name.to_string();
        let (mut tag, mut digest) = (tag.to_string(), digest.to_string());
        if !self.new_name.is_empty() {
            name = self.new_name.clone();
        }
        // A new tag or digest replaces both the old tag and the old digest.
        match (self.new_tag.is_empty(), self.digest.is_empty()) {
            (false, false) => (tag, digest) = (self.new_tag.clone(), self.digest.clone()),
            (false, true) => (tag, digest) = (self.new_tag.clone(), String::new()),
            (true, false) => (tag, digest) = (String::new(), self.digest.clone()),
            (true, true) => {}
        }
        if !tag.is_empty() {
            name = format!("{name}:{tag}");
        }
        if !digest.is_empty() {
            name = format!("{name}@{digest}");
        }
        Some(name)
    }
}

/// kustomize's `image.Split`: name, tag and digest of an image string. The search for `:`
/// and `@` starts at the first `/`, so a registry port is part of the name.
pub fn split(image: &str) -> (&str, &str, &str) {
    let from = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[from..];
    let at = search.find('@').map(|i| i + from);
    let colon = search.find(':').map(|i| i + from);
    match (colon, at) {
        (_, Some(a)) if colon.is_none_or(|c| a < c) => (&image[..a], "", &image[a + 1..]),
        (Some(c), Some(a)) => (&image[..c], &image[c + 1..a], &image[a + 1..]),
        (Some(c), None) => (&image[..c], &image[c + 1..], ""),
        _ => (image, "", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3";

    #[test]
    fn splits_like_kustomize() {
        assert_eq!(split("nginx"), ("nginx", "", ""));
        assert_eq!(split("nginx:1.25"), ("nginx", "1.25", ""));
        assert_eq!(
            split("localhost:5000/app:7"),
            ("localhost:5000/app", "7", "")
        );
        let with_digest = format!("ghcr.io/org/app:1@{DIGEST}");
        assert_eq!(split(&with_digest), ("ghcr.io/org/app", "1", DIGEST));
        let digest_only = format!("app@{DIGEST}");
        assert_eq!(split(&digest_only), ("app", "", DIGEST));
    }

    #[test]
    fn matches_the_exact_name_only() {
        let tag = ImageOverride::new("nginx", "", "1.26", "");
        assert_eq!(tag.apply("nginx:1.25").as_deref(), Some("nginx:1.26"));
        assert_eq!(tag.apply("nginx").as_deref(), Some("nginx:1.26"));
        assert_eq!(tag.apply("nginx-exporter:1"), None);
        assert_eq!(tag.apply("docker.io/library/nginx:1.25"), None);
        assert_eq!(tag.apply("my/nginx:1.25"), None);
    }

    #[test]
    fn new_name_keeps_the_tag_and_new_tag_or_digest_replace_both() {
        let rename = ImageOverride::new("app", "registry.example.com/team/app", "", "");
        assert_eq!(
            rename.apply("app:1.0").as_deref(),
            Some("registry.example.com/team/app:1.0")
        );
        let pin = ImageOverride::new("app", "mirror/app", "", DIGEST);
        assert_eq!(
            pin.apply("app:1.0").unwrap(),
            format!("mirror/app@{DIGEST}")
        );
        let both = ImageOverride::new("app", "", "2.0", DIGEST);
        assert_eq!(both.apply("app:1.0").unwrap(), format!("app:2.0@{DIGEST}"));
        let retag = ImageOverride::new("app", "", "2.0", "");
        assert_eq!(
            retag.apply(&format!("app:1.0@{DIGEST}")).as_deref(),
            Some("app:2.0")
        );
    }

    #[test]
    fn a_name_that_is_not_a_valid_pattern_matches_nothing() {
        assert_eq!(
            ImageOverride::new("app[", "", "2", "").apply("app[:1"),
            None
        );
    }
}
