//! The branches a merge request names, read from the project's bare git repository: GitLab
//! refuses a merge request whose source or target branch does not exist.

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
