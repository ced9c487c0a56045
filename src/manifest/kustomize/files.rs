//! The tree being rendered, as the caller gives it, and paths within it: repo-relative,
//! `/`-separated, the root being `""`. Kustomizations name files relative to their own
//! directory, with `..` allowed; a path that climbs out of the repository names nothing here.

use std::rc::Rc;

/// Files of one commit's tree, read on demand (the caller backs it by git blobs).
///
/// Contents are `Rc<str>` so that a caller caching blobs hands out the same text to every
/// overlay that includes a shared base, without copying it.
pub trait Files {
    /// The content of a file at `path` (repo-relative, `/`-separated), if it is a file.
    fn read(&self, path: &str) -> Option<Rc<str>>;
    /// The entries directly in a directory (names, not paths); empty if not a directory.
    /// `""` is the repository's root.
    fn list(&self, dir: &str) -> Vec<String>;
}

/// The names kustomize looks for, in the order it looks.
pub const KUSTOMIZATION_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A directory path in the form used throughout: no `./`, no trailing `/`, `""` for the root.
/// `None` when it climbs out of the repository.
pub fn normalize(path: &str) -> Option<String> {
    join("", path)
}

/// `rel` resolved against the directory `dir`. `None` when it is absolute (outside the
/// repository: kustomize would read the machine's file system) or climbs out of the repository.
pub fn join(dir: &str, rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            seg => parts.push(seg),
        }
    }
    Some(parts.join("/"))
}

/// Whether a `resources:` entry names something outside the repository: a git URL, an HTTP
/// URL or a go-getter spelling (`github.com/org/repo//dir?ref=v1`), which kustomize fetches.
/// revertbot renders only what the commit holds.
pub fn is_remote(entry: &str) -> bool {
    let e = entry.trim();
    e.contains("://")
        || e.starts_with("git@")
        || e.starts_with("git::")
        || e.contains("?ref=")
        || e.contains("?version=")
        || e.contains("?timeout=")
        || ["github.com/", "gitlab.com/", "bitbucket.org/"]
            .iter()
            .any(|host| e.starts_with(host))
}

/// The kustomization files present in `dir`, in kustomize's order of preference.
pub fn kustomization_files(files: &dyn Files, dir: &str) -> Vec<String> {
    let entries = files.list(dir);
    KUSTOMIZATION_NAMES
        .iter()
        .filter(|name| entries.iter().any(|e| e == *name))
        .filter_map(|name| join(dir, name))
        .filter(|path| files.read(path).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_relative_paths_inside_the_repository() {
        assert_eq!(join("overlays/prod", "../../base").as_deref(), Some("base"));
        assert_eq!(join("a", "./b/c.yaml").as_deref(), Some("a/b/c.yaml"));
        assert_eq!(join("", "a/").as_deref(), Some("a"));
        assert_eq!(join("a", "../..").as_deref(), None);
        assert_eq!(join("a", "/etc/passwd"), None);
        assert_eq!(normalize("./apps/web/").as_deref(), Some("apps/web"));
        assert_eq!(normalize(".").as_deref(), Some(""));
    }

    #[test]
    fn tells_remote_resources_from_local_ones() {
        for remote in [
            "https://github.com/org/repo//deploy?ref=v1",
            "github.com/org/repo/deploy?ref=main",
            "git@github.com:org/repo.git",
            "git::https://example.com/repo.git",
            "ssh://git@example.com/repo.git",
            "https://raw.githubusercontent.com/org/repo/main/deploy.yaml",
        ] {
            assert!(is_remote(remote), "{remote}");
        }
        for local in ["../base", "deployment.yaml", "github/deploy.yaml"] {
            assert!(!is_remote(local), "{local}");
        }
    }
}
