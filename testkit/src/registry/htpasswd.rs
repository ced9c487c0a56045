//! The registry's htpasswd file: distribution reads bcrypt entries only, which Debian's
//! `htpasswd -B` (package `apache2-utils`) writes.

use std::path::Path;
use std::process::Command;

/// Writes `path` with one bcrypt entry for `user` and `password`.
pub fn write(path: &Path, user: &str, password: &str) -> Result<(), String> {
    // -n: print the entry; -b: the password from the command line; -B: bcrypt;
    // -C 4: the lowest cost, since the registry checks it on every request.
    let out = Command::new("htpasswd")
        .args(["-n", "-b", "-B", "-C", "4", user, password])
        .output()
        .map_err(|e| {
            format!("run htpasswd ({e}): is Debian's apache2-utils installed? (scripts/test installs it)")
        })?;
    if !out.status.success() {
        return Err(format!(
            "htpasswd -nbB {user} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // `htpasswd -n` ends the entry with an empty line.
    let entry = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !entry.starts_with(&format!("{user}:$2")) {
        return Err(format!(
            "htpasswd -nbB {user} printed no bcrypt entry: {entry}"
        ));
    }
    std::fs::write(path, format!("{entry}\n")).map_err(|e| format!("write {}: {e}", path.display()))
}
