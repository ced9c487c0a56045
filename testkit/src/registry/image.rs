//! A tiny OCI image, written as an OCI image layout (`oci-layout`, `index.json`, content
//! under `blobs/sha256/`) that skopeo copies into the registry: one uncompressed tar layer
//! holding one small file, a config, a manifest. Everything in it is fixed but the file's
//! text, so the same text always makes the same manifest digest, and another text another.

use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const LAYER_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar";
/// The one file in the layer.
const FILE_NAME: &str = "revertbot-test-image.txt";

/// `sha256:HEX` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(bytes))
}

/// Writes the layout of the image whose file holds `text` into `dir`, its manifest named
/// `tag` in `index.json` (what `oci:DIR:TAG` selects). Returns the manifest's digest.
pub fn write_layout(dir: &Path, tag: &str, text: &[u8]) -> Result<String, String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).map_err(|e| format!("create {}: {e}", blobs.display()))?;
    let put = |bytes: &[u8]| -> Result<String, String> {
        let digest = digest(bytes);
        let path = blobs.join(&digest["sha256:".len()..]);
        std::fs::write(&path, bytes).map_err(|e| format!("write {}: {e}", path.display()))?;
        Ok(digest)
    };
    let layer = tar_with_one_file(FILE_NAME, text);
    let layer_digest = put(&layer)?;
    // Uncompressed: the layer's digest is its diff id too.
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
    }))
    .expect("a JSON value serialises");
    let config_digest = put(&config)?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": LAYER_MEDIA_TYPE, "digest": layer_digest, "size": layer.len()}],
    }))
    .expect("a JSON value serialises");
    let manifest_digest = put(&manifest)?;
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": MANIFEST_MEDIA_TYPE,
            "digest": manifest_digest,
            "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    }))
    .expect("a JSON value serialises");
    for (name, bytes) in [
        ("index.json", &index[..]),
        ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("write {}: {e}", path.display()))?;
    }
    Ok(manifest_digest)
}

/// A ustar archive holding one regular file (mode 0644, owner 0, time 0): a 512-byte header,
/// the contents padded to a block, and the two zero blocks that end an archive.
fn tar_with_one_file(name: &str, contents: &[u8]) -> Vec<u8> {
    assert!(name.len() < 100, "tar file name too long: {name}");
    let mut header = [0u8; 512];
    let mut field = |at: usize, value: &[u8]| header[at..at + value.len()].copy_from_slice(value);
    field(0, name.as_bytes());
    field(100, b"0000644\0"); // mode
    field(108, b"0000000\0"); // uid
    field(116, b"0000000\0"); // gid
    field(124, format!("{:011o}\0", contents.len()).as_bytes()); // size
    field(136, b"00000000000\0"); // mtime
    field(148, b"        "); // checksum: spaces while it is summed
    field(156, b"0"); // a regular file
    field(257, b"ustar\0");
    field(263, b"00");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(contents);
    tar.resize(tar.len().next_multiple_of(512) + 1024, 0);
    tar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tar_is_blocks_with_the_file_after_its_header() {
        let tar = tar_with_one_file("a.txt", b"hello\n");
        assert_eq!(tar.len(), 512 + 512 + 1024);
        assert_eq!(&tar[512..518], b"hello\n");
        assert_eq!(&tar[124..136], b"00000000006\0");
        // The checksum is the sum of the header's bytes with its own field as spaces.
        let mut spaced = tar[..512].to_vec();
        spaced[148..156].copy_from_slice(b"        ");
        let sum: u32 = spaced.iter().map(|&b| u32::from(b)).sum();
        assert_eq!(&tar[148..156], format!("{sum:06o}\0 ").as_bytes());
    }

    #[test]
    fn the_same_text_is_the_same_manifest_and_another_text_another() {
        let [a, b, c] = [(); 3].map(|_| tempfile::tempdir().unwrap());
        let one = write_layout(a.path(), "v1", b"one").unwrap();
        let again = write_layout(b.path(), "v2", b"one").unwrap();
        let other = write_layout(c.path(), "v1", b"two").unwrap();
        assert_eq!(one, again);
        assert_ne!(one, other);
        let manifest = std::fs::read(a.path().join("blobs/sha256").join(&one[7..])).unwrap();
        assert_eq!(digest(&manifest), one);
    }
}
