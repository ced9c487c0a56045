//! Parsed references per blob id: each blob a walk meets is read and parsed once.

use std::collections::HashMap;
use std::rc::Rc;

use anyhow::Result;
use git2::{Odb, Oid, Repository};
use tracing::warn;

use super::commit::short;
use crate::image::last_segment;
use crate::manifest::{references, Reference};

/// Blobs larger than this are not parsed: no real manifest is this big.
pub const MAX_YAML_BYTES: usize = 8 << 20;

/// A blob that is not UTF-8, not YAML, or too large holds no
/// references; it is reported once.
pub struct Blobs<'r> {
    odb: Odb<'r>,
    parsed: HashMap<Oid, Rc<[Reference]>>,
}

impl<'r> Blobs<'r> {
    pub fn new(repo: &'r Repository) -> Result<Self> {
        Ok(Blobs {
            odb: repo.odb()?,
            parsed: HashMap::new(),
        })
    }

    pub fn odb(&self) -> &Odb<'r> {
        &self.odb
    }

    /// The references to `image` in a blob. A blob that does not even contain the image's
    /// last name segment cannot reference it, and is not parsed.
    pub fn refs_for(
        &mut self,
        blob: Oid,
        image: &str,
        path: &str,
        commit: Option<Oid>,
    ) -> Result<Rc<[Reference]>> {
        let all = match self.parsed.get(&blob) {
            Some(all) => all.clone(),
            None => {
                let object = self.odb.read(blob)?;
                let needle = last_segment(image).as_bytes();
                if memchr::memmem::find(object.data(), needle).is_none() {
                    return Ok(Rc::from(Vec::new()));
                }
                let refs = parse_refs(object.data(), path, commit);
                self.parsed.insert(blob, refs.clone());
                refs
            }
        };
        if all.iter().all(|r| r.image == image) {
            return Ok(all);
        }
        Ok(all.iter().filter(|r| r.image == image).cloned().collect())
    }

    /// Every reference in a blob.
    pub fn all_refs(
        &mut self,
        blob: Oid,
        path: &str,
        commit: Option<Oid>,
    ) -> Result<Rc<[Reference]>> {
        if let Some(all) = self.parsed.get(&blob) {
            return Ok(all.clone());
        }
        let object = self.odb.read(blob)?;
        let refs = parse_refs(object.data(), path, commit);
        self.parsed.insert(blob, refs.clone());
        Ok(refs)
    }
}

fn parse_refs(content: &[u8], path: &str, commit: Option<Oid>) -> Rc<[Reference]> {
    let at = match commit {
        Some(c) => format!("{path} at {}", short(c)),
        None => path.to_string(),
    };
    let refs = if content.len() > MAX_YAML_BYTES {
        warn!(
            "skipping {at}: {} bytes is larger than the {MAX_YAML_BYTES}-byte limit for a manifest",
            content.len()
        );
        Vec::new()
    } else {
        match std::str::from_utf8(content) {
            Err(_) => {
                warn!("skipping {at}: not UTF-8 text");
                Vec::new()
            }
            Ok(text) => references(text).unwrap_or_else(|e| {
                warn!("skipping {at}: not valid YAML ({})", e.0);
                Vec::new()
            }),
        }
    };
    Rc::from(refs)
}
