//! The journal's file: which file it is (its device and inode, taken when it was opened, so
//! that a journal deleted or replaced under a running service is noticed rather than written
//! into an unlinked file), and SQLite's errors said in terms of that file and what to do.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::ErrorCode;
use tracing::error;

use crate::error::{Error, Kind};
use crate::journal::backend::UNWRITABLE;
use crate::journal::room;

pub struct JournalFile {
    path: PathBuf,
    /// `(device, inode)` when opened.
    identity: (u64, u64),
    /// Whether the loss of the file was logged: once, not on every call after it.
    said: AtomicBool,
}

impl JournalFile {
    /// The file at `path`, as it is now (just opened).
    pub fn new(path: &Path) -> anyhow::Result<JournalFile> {
        let meta = std::fs::metadata(path).map_err(|e| {
            Error::new(Kind::Internal).text(format!(
                "journal {}: cannot read it just after opening it: {e}",
                path.display()
            ))
        })?;
        Ok(JournalFile {
            path: path.to_path_buf(),
            identity: (meta.dev(), meta.ino()),
            said: AtomicBool::new(false),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// Whether the file at the path is still the one opened. A journal deleted, moved or
    /// replaced under the service would otherwise take deliveries into a file nobody will
    /// read again, and a restart would begin an empty one.
    pub fn check(&self) -> anyhow::Result<()> {
        let problem = match std::fs::metadata(&self.path) {
            Ok(meta) if (meta.dev(), meta.ino()) == self.identity => return Ok(()),
            Ok(_) => "was replaced by another file",
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => "was deleted or moved",
            // Cannot tell (a disk that fails): the call itself will say.
            Err(_) => return Ok(()),
        };
        let message = format!(
            "journal {} {problem} while revertbot was running: nothing more is recorded; put the journal back (restore it from a backup) and restart revertbot",
            self.path.display()
        );
        if !self.said.swap(true, Ordering::Relaxed) {
            error!("{message}");
        }
        Err(Error::transient(message).with_code(UNWRITABLE).into())
    }

    /// Whether the journal can be written now: the same file, on a filesystem with room.
    pub fn writable(&self) -> bool {
        self.check().is_ok() && room::lacks_room(self.dir()).is_none()
    }

    /// An error of a call, said in terms of the file and what to do when SQLite says what is
    /// wrong with it (one line, the file named); other errors as they are.
    pub fn explain(&self, err: anyhow::Error) -> anyhow::Error {
        let Some(code) = err
            .chain()
            .find_map(|c| c.downcast_ref::<rusqlite::Error>())
            .and_then(rusqlite::Error::sqlite_error_code)
        else {
            return err;
        };
        let path = self.path.display();
        let dir = self.dir().display();
        let unwritable = |what: String| Error::transient(what).with_code(UNWRITABLE).into();
        match code {
            ErrorCode::DiskFull => unwritable(format!(
                "journal {path}: the disk is full; free space in data_dir {dir}"
            )),
            ErrorCode::SystemIoFailure => unwritable(format!(
                "journal {path}: the disk cannot be written (disk I/O error); check data_dir {dir}'s disk and its free space"
            )),
            ErrorCode::ReadOnly => unwritable(format!(
                "journal {path} cannot be written (read-only); make data_dir {dir} and the file writable by revertbot's user"
            )),
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::transient(format!(
                "journal {path} is locked by another process; trying again later"
            ))
            .into(),
            ErrorCode::NotADatabase => Error::usage(format!(
                "journal: {path} is not a SQLite database: restore it from a backup or move it away"
            ))
            .into(),
            ErrorCode::DatabaseCorrupt => Error::usage(format!(
                "journal: {path} is damaged (its database disk image is malformed): restore it from a backup or move it away"
            ))
            .into(),
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied => Error::usage(format!(
                "journal: cannot open {path}: make data_dir {dir} and the file readable and writable by revertbot's user"
            ))
            .into(),
            _ => err.context(format!("journal {path}")),
        }
    }
}
