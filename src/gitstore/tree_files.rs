//! One commit's tree as the kustomize renderer reads it: files by path, directories by
//! listing, from raw trees and blobs, each blob read and decoded once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use git2::{Odb, Oid};

use super::objects::{EntryKind, RawTree};
use crate::manifest::kustomize::Files;

/// Files above this size are not manifests; they read as absent.
const MAX_BYTES: usize = super::blobs::MAX_YAML_BYTES;

pub struct TreeFiles<'a, 'r> {
    odb: &'a Odb<'r>,
    root: Oid,
    /// Decoded blobs by id, shared across commits: a walk meets the same blobs again and again.
    texts: &'a RefCell<HashMap<Oid, Option<Rc<str>>>>,
}

impl<'a, 'r> TreeFiles<'a, 'r> {
    pub fn new(
        odb: &'a Odb<'r>,
        root: Oid,
        texts: &'a RefCell<HashMap<Oid, Option<Rc<str>>>>,
    ) -> Self {
        TreeFiles { odb, root, texts }
    }

    pub fn odb(&self) -> &'a Odb<'r> {
        self.odb
    }

    /// The root tree's id.
    pub fn root(&self) -> Oid {
        self.root
    }

    /// The id of the entry at `path` (a file or a directory), `""` being the root.
    pub fn entry(&self, path: &str) -> Option<(EntryKind, Oid)> {
        let mut kind = EntryKind::Tree;
        let mut id = self.root;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            if kind != EntryKind::Tree {
                return None;
            }
            let tree = RawTree::read(self.odb, id).ok()?;
            (kind, id) = tree.entry(part).ok()??;
        }
        Some((kind, id))
    }

    /// The blob id of a regular file at `path`.
    pub fn blob(&self, path: &str) -> Option<Oid> {
        match self.entry(path)? {
            (EntryKind::File, id) => Some(id),
            _ => None,
        }
    }
}

impl Files for TreeFiles<'_, '_> {
    fn read(&self, path: &str) -> Option<Rc<str>> {
        let id = self.blob(path)?;
        if let Some(text) = self.texts.borrow().get(&id) {
            return text.clone();
        }
        let text = self
            .odb
            .read(id)
            .ok()
            .filter(|o| o.data().len() <= MAX_BYTES)
            .and_then(|o| std::str::from_utf8(o.data()).ok().map(Rc::from));
        self.texts.borrow_mut().insert(id, text.clone());
        text
    }

    fn list(&self, dir: &str) -> Vec<String> {
        let Some((EntryKind::Tree, id)) = self.entry(dir) else {
            return Vec::new();
        };
        let Ok(tree) = RawTree::read(self.odb, id) else {
            return Vec::new();
        };
        tree.entries()
            .filter_map(|e| e.ok())
            .filter_map(|e| std::str::from_utf8(e.name).ok().map(str::to_string))
            .collect()
    }
}
