//! Opening a local repository, and resolving what a person names to a commit.

use std::path::Path;

use git2::{Oid, Repository};

use crate::error::{Error, Input, Kind};

/// Opens a local repository without touching its work tree or HEAD.
pub fn open(path: &Path) -> Result<Repository, Error> {
    if !path.exists() {
        return Err(Error::new(Kind::Usage).input(Input::Repo).text(format!(
            " {}: no such directory; give the path of a local git repository",
            path.display()
        )));
    }
    Repository::open(path).map_err(|e| {
        Error::new(Kind::Usage).input(Input::Repo).text(format!(
            " {}: not a git repository ({}); give the path of a local clone or bare repository",
            path.display(),
            e.message()
        ))
    })
}

/// The commit a branch, tag or commit id names. `what` is the input it came from, for the
/// message when it names nothing (`None`: a revision).
pub fn resolve_commit(repo: &Repository, rev: &str, what: Option<Input>) -> Result<Oid, Error> {
    let subject = |e: Error| match what {
        Some(input) => e.input(input),
        None => e.text("revision"),
    };
    let object = repo.revparse_single(rev).map_err(|_| {
        subject(Error::new(Kind::Usage)).text(format!(
            " {rev:?} is not in the repository; give a branch, tag or commit id that exists there"
        ))
    })?;
    let commit = object.peel_to_commit().map_err(|_| {
        subject(Error::new(Kind::Usage)).text(format!(
            " {rev:?} does not name a commit; give a branch, tag or commit id"
        ))
    })?;
    Ok(commit.id())
}
