//! A small tmpfs that a test mounts (as root) to run out of disk on purpose.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A mounted tmpfs, unmounted when dropped.
pub struct Tmpfs {
    dir: PathBuf,
    /// The directory made for it by [`Tmpfs::mount`], removed once unmounted.
    _made: Option<tempfile::TempDir>,
}

impl Tmpfs {
    /// A tmpfs of `size` (`4m`) mounted at a new directory; `None` where mounting is not
    /// allowed (not root, or no CAP_SYS_ADMIN).
    pub fn mount(size: &str) -> Option<Tmpfs> {
        let made = tempfile::tempdir().expect("temp dir");
        let mut tmpfs = Tmpfs::mount_at(made.path(), size)?;
        tmpfs._made = Some(made);
        Some(tmpfs)
    }

    /// The same at `dir` (made if missing), such as a service's `data_dir`.
    pub fn mount_at(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("make the mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Tmpfs {
            dir: dir.to_path_buf(),
            _made: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Fills it: a file that takes every free byte. Its path, to free the space again.
    pub fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        // What is left is smaller than a chunk.
        while file.write_all(&chunk[..512]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
