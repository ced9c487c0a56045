//! The branches a pull request names, read from the repository's bare git repository: Forgejo
//! answers 404 for a head or base branch that does not exist.

use std::path::Path;
use std::process::Command;

/// The commit at the tip of `branch`, if the branch exists.
pub(super) fn tip(dir: &Path, branch: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["rev-parse", "--verify", "--quiet"])
        .arg(format!("refs/heads/{branch}^{{commit}}"))
        .output()
        .expect("git is installed");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
