//! Pushing an OCI image layout into the registry with Debian's `skopeo copy`: a real client,
//! doing the real upload and, with Bearer auth, the real token dance.

use std::path::Path;
use std::process::Command;

/// Copies the image tagged `tag` in the layout at `layout` to `dest`
/// (`docker://HOST/NAME:TAG`) over plain HTTP, with `creds` if given. `work` holds skopeo's
/// files (the digest it writes, an empty auth file so that no credentials of the machine's
/// own are used). Returns the digest of the manifest skopeo pushed.
pub fn copy(
    layout: &Path,
    tag: &str,
    dest: &str,
    creds: Option<(&str, &str)>,
    work: &Path,
) -> Result<String, String> {
    let digest_file = work.join("pushed-digest");
    let mut cmd = Command::new("skopeo");
    // The machine's signature policy is not the test's business.
    cmd.arg("--insecure-policy")
        .arg("copy")
        .arg("--quiet")
        // The manifest goes as written: skopeo would otherwise compress the layer, and the
        // digest would not be the layout's.
        .arg("--preserve-digests")
        .arg("--digestfile")
        .arg(&digest_file)
        .arg("--dest-tls-verify=false")
        .arg("--dest-authfile")
        .arg(work.join("no-auth.json"));
    if let Some((user, password)) = creds {
        cmd.arg("--dest-creds").arg(format!("{user}:{password}"));
    }
    cmd.arg(format!("oci:{}:{tag}", layout.display())).arg(dest);
    let out = cmd.output().map_err(|e| {
        format!("run skopeo ({e}): is Debian's skopeo installed? (scripts/test installs it)")
    })?;
    if !out.status.success() {
        return Err(format!(
            "skopeo copy to {dest} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let digest = std::fs::read_to_string(&digest_file)
        .map_err(|e| format!("skopeo wrote no digest to {}: {e}", digest_file.display()))?;
    Ok(digest.trim().to_string())
}
