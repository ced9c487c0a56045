//! The branches a pull or merge request names, read from the repository's bare git repository
//! (the test git server's, or any bare repository the test pushes to): every forge refuses a
//! request whose branches do not exist (GitHub also one whose head has no commit beyond its
//! base), and each fake asks here.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git is installed");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The commit at the tip of `branch`, if the branch exists.
pub(crate) fn tip(dir: &Path, branch: &str) -> Option<String> {
    git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}^{{commit}}"),
        ],
    )
}

/// How many commits `head` has that `base` does not (both commit ids).
pub(crate) fn commits_between(dir: &Path, base: &str, head: &str) -> usize {
    git(dir, &["rev-list", "--count", &format!("{base}..{head}")])
        .and_then(|n| n.parse().ok())
        .expect("rev-list --count of two existing commits")
}

/// A bare repository in a temporary directory with a `main` of one commit and, for each of
/// `branches`, a branch one commit ahead of `main`: what a test that creates pull requests by
/// hand gives [`super::FakeGitHub::add_repo`].
pub fn bare_repo_with_branches(branches: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let bare: PathBuf = dir.path().to_path_buf();
    let run = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(&bare)
            .args(["-c", "user.name=revertbot tests"])
            .args(["-c", "user.email=tests@revertbot.invalid"])
            .args(args)
            .output()
            .expect("git is installed");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    run(&["init", "--bare", "-q", "-b", "main"]);
    let tree = run(&["hash-object", "-t", "tree", "-w", "/dev/null"]);
    let root = run(&["commit-tree", &tree, "-m", "root"]);
    run(&["update-ref", "refs/heads/main", &root]);
    for branch in branches {
        let commit = run(&["commit-tree", &tree, "-p", &root, "-m", branch]);
        run(&["update-ref", &format!("refs/heads/{branch}"), &commit]);
    }
    dir
}
