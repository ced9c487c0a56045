//! The rollback commit's message and branch name (pure).

use crate::image::normalize_name;

/// Markers that make CI skip a commit. Carried into a revert they would skip the pull
/// request's required checks and block the merge.
const CI_SKIP_MARKERS: [&str; 5] = [
    "[ci skip]",
    "[skip ci]",
    "[no ci]",
    "[skip actions]",
    "***NO_CI***",
];

/// Trailer naming the commit a rollback reverts; also how an existing branch is recognised.
pub const REVERTS_TRAILER: &str = "Reverts";
pub const IMAGE_TRAILER: &str = "Revertbot-Image";

pub fn strip_ci_skip(subject: &str) -> String {
    let mut s = subject.to_string();
    for marker in CI_SKIP_MARKERS {
        while let Some(i) = find_ignore_ascii_case(&s, marker) {
            s.replace_range(i..i + marker.len(), "");
        }
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn find_ignore_ascii_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// What a rollback of one image does, for the message.
pub struct ImageRollback<'a> {
    pub image: &'a str,
    /// (bad version now, version restored)
    pub versions: Vec<(String, String)>,
}

pub fn commit_message(subject: &str, culprit_sha: &str, image: Option<&ImageRollback>) -> String {
    let subject = strip_ci_skip(subject);
    let mut msg = format!("Revert \"{subject}\"\n\nThis reverts commit {culprit_sha}.\n");
    if let Some(image) = image {
        for (bad, good) in &image.versions {
            msg.push_str(&format!(
                "Rolls {} back from {bad} to {good}.\n",
                image.image
            ));
        }
    }
    msg.push_str(&format!("\n{REVERTS_TRAILER}: {culprit_sha}\n"));
    if let Some(image) = image {
        msg.push_str(&format!("{IMAGE_TRAILER}: {}\n", image.image));
    }
    msg
}

/// The message with the holds said: a line each in the body, a trailer each at the end.
pub fn with_holds(message: &str, holds: &super::hold::HoldReport) -> String {
    let (lines, trailers) = super::hold::message_lines(holds);
    if lines.is_empty() {
        return message.to_string();
    }
    let (body, tail) = match message.trim_end().rsplit_once("\n\n") {
        Some((body, tail)) => (body.to_string(), tail.to_string()),
        None => (message.trim_end().to_string(), String::new()),
    };
    let mut out = body;
    for line in lines {
        out.push('\n');
        out.push_str(&line);
    }
    out.push_str("\n\n");
    out.push_str(&tail);
    for t in trailers {
        out.push('\n');
        out.push_str(&t);
    }
    out.push('\n');
    out
}

/// Whether a commit message says it is itself a revert (by a person or by revertbot).
pub fn is_a_revert(message: &str) -> bool {
    message.contains("This reverts commit")
        || message.lines().any(|l| {
            l.starts_with(&format!("{REVERTS_TRAILER}: "))
                || l.starts_with(&format!("{IMAGE_TRAILER}: "))
        })
}

/// The commit a rollback commit reverts, from its trailer.
pub fn reverted_sha(message: &str) -> Option<&str> {
    message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(REVERTS_TRAILER)?.strip_prefix(": "))
        .map(str::trim)
}

/// The names a rollback's branch may have, tried in this order: [`BranchNames::preferred`]
/// first, then the hashed one, which no other image shares (for when another image's rollback
/// took the readable one); `legacy` is the name the branch had before image names were hashed:
/// found and reused, never made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchNames {
    pub names: Vec<String>,
    pub legacy: Option<String>,
}

impl BranchNames {
    /// The name a new branch gets unless another image's branch holds it.
    pub fn preferred(&self) -> &str {
        &self.names[0]
    }
}

/// `revertbot/<image-slug>-<short sha>`: the same for every spelling of the image, so a rerun
/// or a second replica lands on the same branch; always a valid ref name. When the slug loses
/// what tells two images apart (`acme/api-server` and `acme/api/server` both fold to
/// `acme-api-server`), a hash of the full name goes with it: `<slug>--<hash>-<short sha>`.
pub fn branch_names(image: Option<&str>, culprit_sha: &str) -> BranchNames {
    let short = &culprit_sha[..culprit_sha.len().min(12)];
    match image {
        None => BranchNames {
            names: vec![format!("revertbot/revert-{short}")],
            legacy: None,
        },
        Some(image) => named_after(image, |slug| format!("revertbot/{slug}-{short}")),
    }
}

/// `revertbot/unhold-<image-slug>-<tag-slug>`: the branch that lifts a hold, the same for every
/// run; with a hash of the image's name when its slug is ambiguous, as for rollbacks.
pub fn unhold_branch_names(image: &str, tag: &str) -> BranchNames {
    let tag = slug(tag, "tag");
    named_after(image, |slug| format!("revertbot/unhold-{slug}-{tag}"))
}

/// The names `branch(slug)` gives: the image's readable slug when it reads back as the name,
/// then `<slug>--<hash>`; else the hashed one alone, the readable one kept as `legacy`.
fn named_after(image: &str, branch: impl Fn(&str) -> String) -> BranchNames {
    let name = normalize_name(image);
    let folded = image_slug(&name);
    let plain = branch(&folded);
    let hashed = branch(&format!("{folded}--{}", name_hash(&name)));
    if folds_losslessly(&name, &folded) {
        BranchNames {
            names: vec![plain, hashed],
            legacy: None,
        }
    } else {
        BranchNames {
            names: vec![hashed],
            legacy: Some(plain),
        }
    }
}

/// The image a rollback commit rolls back, from its trailer.
pub fn rolled_back_image(message: &str) -> Option<&str> {
    message
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix(IMAGE_TRAILER)?.strip_prefix(": "))
        .map(str::trim)
}

/// Whether a rollback commit's message names `image` (any spelling) in its trailer; a message
/// without the trailer names none and is taken as this image's, as branches made before the
/// trailer existed are.
pub fn names_image(message: &str, image: &str) -> bool {
    rolled_back_image(message).is_none_or(|named| normalize_name(named) == normalize_name(image))
}

fn image_slug(normalized: &str) -> String {
    let short = normalized
        .strip_prefix("docker.io/library/")
        .or_else(|| normalized.strip_prefix("docker.io/"))
        .unwrap_or(normalized);
    slug(short, "image")
}

/// Whether the slug can be read back as the one name it came from: every `-` in it was a `/`,
/// nothing was lower-cased, merged or cut off.
fn folds_losslessly(normalized: &str, folded: &str) -> bool {
    !folded.contains("--") && normalize_name(&folded.replace('-', "/")) == normalized
}

/// Ten hex digits of the SHA-1 of the normalised name: the same on every replica and release.
fn name_hash(normalized: &str) -> String {
    let oid = git2::Oid::hash_object(git2::ObjectType::Blob, normalized.as_bytes())
        .unwrap_or(git2::Oid::ZERO_SHA1);
    oid.to_string()[..10].to_string()
}

/// A name as a piece of a ref: lower case, `[a-z0-9._-]`, no runs of separators, at most 80.
fn slug(name: &str, fallback: &'static str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let c = if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
            c
        } else {
            '-'
        };
        if (c == '-' || c == '.') && slug.ends_with(['-', '.']) {
            continue;
        }
        slug.push(c);
    }
    let slug: String = slug.chars().take(80).collect();
    let slug = slug.trim_matches(['-', '.']);
    if slug.is_empty() {
        fallback.to_string()
    } else {
        slug.to_string()
    }
}

/// The message of the commit that lifts the holds of `tag` of `image`.
pub fn unhold_message(image: &str, tag: &str, holds: &super::hold::HoldReport) -> String {
    let mut msg = format!("Lift the hold on {image}:{tag}\n\n");
    for h in &holds.held {
        msg.push_str(&format!(
            "No longer holds {} in {} ({}): {} may propose it again.\n",
            h.tag, h.file, h.object, h.tool
        ));
    }
    msg.push_str(&format!(
        "\n{}: {image} {tag}\n",
        super::hold::UNHOLD_TRAILER
    ));
    msg
}

/// The trailer a sign-off (the DCO's `git commit -s`) adds.
pub const SIGNOFF_TRAILER: &str = "Signed-off-by";

/// The message signed off by `name <email>`: the trailer last in its trailer block, once (a
/// message that has it already is left as it is).
pub fn with_signoff(message: &str, name: &str, email: &str) -> String {
    let line = format!("{SIGNOFF_TRAILER}: {name} <{email}>");
    if message.lines().any(|l| l.trim_end() == line) {
        return message.to_string();
    }
    // Every message revertbot writes ends with its trailers, so the sign-off joins them.
    format!("{}\n{line}\n", message.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signoff_joins_the_trailers_once() {
        let msg = commit_message("Bump app", "abc", None);
        let signed = with_signoff(&msg, "revertbot", "bot@example.com");
        assert!(signed.ends_with("Reverts: abc\nSigned-off-by: revertbot <bot@example.com>\n"));
        assert_eq!(
            with_signoff(&signed, "revertbot", "bot@example.com"),
            signed
        );
    }

    fn branch_name(image: Option<&str>, culprit_sha: &str) -> String {
        branch_names(image, culprit_sha).preferred().to_string()
    }

    #[test]
    fn strips_every_ci_skip_marker() {
        assert_eq!(
            strip_ci_skip("[ci skip] ghcr.io/acme/app:1.2"),
            "ghcr.io/acme/app:1.2"
        );
        assert_eq!(
            strip_ci_skip("Auto-release app:1 [SKIP CI]"),
            "Auto-release app:1"
        );
        assert_eq!(
            strip_ci_skip("a [no ci] b [skip actions] c ***NO_CI***"),
            "a b c"
        );
        assert_eq!(strip_ci_skip("plain"), "plain");
    }

    #[test]
    fn message_has_subject_body_and_trailers() {
        let rollback = ImageRollback {
            image: "ghcr.io/acme/web",
            versions: vec![("1.5.0".into(), "1.4.0".into())],
        };
        let msg = commit_message(
            "[ci skip] ghcr.io/acme/web:1.5.0",
            "abc123",
            Some(&rollback),
        );
        assert_eq!(
            msg,
            "Revert \"ghcr.io/acme/web:1.5.0\"\n\nThis reverts commit abc123.\nRolls ghcr.io/acme/web back from 1.5.0 to 1.4.0.\n\nReverts: abc123\nRevertbot-Image: ghcr.io/acme/web\n"
        );
        assert!(is_a_revert(&msg));
        assert_eq!(reverted_sha(&msg), Some("abc123"));
        assert!(!is_a_revert("Update from image update automation"));
    }

    #[test]
    fn branch_names_are_deterministic_and_valid() {
        let sha = "9cd3e05b74b218fdd6599853679b91a0d6537059";
        assert_eq!(
            branch_name(Some("nginx"), sha),
            "revertbot/nginx-9cd3e05b74b2"
        );
        assert_eq!(
            branch_name(Some("docker.io/library/nginx"), sha),
            "revertbot/nginx-9cd3e05b74b2"
        );
        assert_eq!(
            branch_name(Some("GHCR.io/acme/front_end"), sha),
            "revertbot/ghcr.io-acme-front_end-9cd3e05b74b2"
        );
        let port = branch_name(Some("localhost:5000/a/c"), sha);
        assert!(
            port.starts_with("revertbot/localhost-5000-a-c--") && port.ends_with("-9cd3e05b74b2"),
            "{port}"
        );
        assert_eq!(branch_name(None, sha), "revertbot/revert-9cd3e05b74b2");
        assert_eq!(
            branch_name(Some("ghcr.io/acme/frontend"), sha),
            "revertbot/ghcr.io-acme-frontend-9cd3e05b74b2",
            "a name the slug keeps whole stays as readable as it was"
        );
        for image in [
            "x",
            "a.lock",
            "a/b.lock",
            "registry.io:5000/.x/y",
            "weird-.-name",
        ] {
            let b = branch_name(Some(image), sha);
            assert!(
                git2::Reference::is_valid_name(&format!("refs/heads/{b}")),
                "{b}"
            );
        }
    }

    #[test]
    fn images_that_fold_alike_get_different_branches() {
        let sha = "9cd3e05b74b218fdd6599853679b91a0d6537059";
        let dash = branch_names(Some("ghcr.io/acme/api-server"), sha);
        let slash = branch_names(Some("ghcr.io/acme/api/server"), sha);
        assert_eq!(
            slash.preferred(),
            "revertbot/ghcr.io-acme-api-server-9cd3e05b74b2"
        );
        assert_ne!(dash.preferred(), slash.preferred());
        // The hash is part of a name other replicas and releases must find: it never changes.
        assert_eq!(
            dash.preferred(),
            "revertbot/ghcr.io-acme-api-server--fc89505c50-9cd3e05b74b2"
        );
        // The branch the dashed image had before its name was hashed is still found.
        assert_eq!(dash.legacy.as_deref(), Some(slash.preferred()));
        assert_eq!(slash.legacy, None);
        // Every candidate of one image differs from every candidate of the other.
        for a in &dash.names {
            assert!(!slash.names.contains(a), "{a}");
        }
        // Case and every spelling of one image give one name; case in a path is information.
        assert_eq!(branch_names(Some("GHCR.IO/acme/api-server"), sha), dash);
        assert_ne!(
            branch_name(Some("ghcr.io/Acme/app"), sha),
            branch_name(Some("ghcr.io/acme/app"), sha)
        );
        assert_eq!(
            unhold_branch_names("ghcr.io/acme/api/server", "1.5.0").preferred(),
            "revertbot/unhold-ghcr.io-acme-api-server-1.5.0"
        );
        assert_ne!(
            unhold_branch_names("ghcr.io/acme/api-server", "1.5.0").preferred(),
            unhold_branch_names("ghcr.io/acme/api/server", "1.5.0").preferred()
        );
        for name in dash.names.iter().chain(&slash.names) {
            assert!(git2::Reference::is_valid_name(&format!(
                "refs/heads/{name}"
            )));
        }
    }

    #[test]
    fn a_rollback_names_its_image() {
        let msg = "Revert \"x\"\n\nReverts: abc\nRevertbot-Image: ghcr.io/acme/api-server\n";
        assert_eq!(rolled_back_image(msg), Some("ghcr.io/acme/api-server"));
        assert!(names_image(msg, "ghcr.io/acme/api-server"));
        assert!(names_image(msg, "GHCR.io/acme/api-server"));
        assert!(!names_image(msg, "ghcr.io/acme/api/server"));
        assert!(names_image(
            "Revert \"x\"\n\nReverts: abc\n",
            "ghcr.io/acme/x"
        ));
    }
}
