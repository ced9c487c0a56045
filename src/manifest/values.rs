//! Comparing a file's references to an image between a commit and its parent: the versions it
//! holds, which places changed, and registry moves that keep the version.

use std::collections::{BTreeSet, HashSet};

use super::place::{Change, Location, Moved};
use super::refs::{Field, Reference};
use crate::image::{last_segment, ImageRef};

/// The set of versions a file holds for an image: what "its value changed" compares.
pub type Values = BTreeSet<(Field, Option<String>)>;

pub fn values_of(refs: &[Reference]) -> Values {
    refs.iter().map(|r| (r.field, r.value.clone())).collect()
}

/// Whether a reference holds the version named in `image`.
pub fn holds_version(r: &Reference, image: &ImageRef) -> bool {
    match r.field {
        Field::Tag => image.tag.is_some() && r.value == image.tag,
        Field::Digest => image.digest.is_some() && r.value == image.digest,
    }
}

/// A place whose value a commit changed: its version in the commit (`None` where the commit
/// removed it) and in the parent (`None` where the commit added it).
#[derive(Debug, Clone)]
pub struct PlacePair {
    pub new: Option<Reference>,
    pub old: Option<Reference>,
    /// The other side of a move to another image name at the same scalar: where the commit
    /// added the place, the reference the parent held there; where it removed it, the one the
    /// commit holds there. (Only [`changed_places`] sees the other names to set it.)
    pub renamed: Option<Reference>,
}

/// Pairs the places of a file in a commit with those in its parent (by YAML path, then in
/// order) and keeps those whose value differs.
pub fn changed_pairs(refs: &[Reference], parent: &[Reference]) -> Vec<PlacePair> {
    let mut parent_left: Vec<Option<&Reference>> = parent.iter().map(Some).collect();
    let mut pairs: Vec<(&Reference, Option<&Reference>)> = Vec::new();
    let mut unpaired = Vec::new();
    for r in refs {
        let same_place = parent_left.iter_mut().find(|p| {
            p.is_some_and(|p| {
                p.document == r.document && p.yaml_path == r.yaml_path && p.field == r.field
            })
        });
        match same_place {
            Some(slot) => pairs.push((r, slot.take())),
            None => unpaired.push(r),
        }
    }
    for r in unpaired {
        let slot = parent_left
            .iter_mut()
            .find(|p| p.is_some_and(|p| p.field == r.field));
        pairs.push((r, slot.and_then(Option::take)));
    }
    pairs.sort_by_key(|(r, _)| (r.document, r.offset, r.field));
    let mut out: Vec<PlacePair> = pairs
        .into_iter()
        .filter(|(r, p)| p.is_none_or(|p| p.value != r.value))
        .map(|(r, p)| PlacePair {
            new: Some(r.clone()),
            old: p.cloned(),
            renamed: None,
        })
        .collect();
    // Places that the commit removed.
    out.extend(parent_left.into_iter().flatten().map(|p| PlacePair {
        new: None,
        old: Some(p.clone()),
        renamed: None,
    }));
    out
}

/// [`changed_pairs`] of the image `name` in a file, given all its references (of every image)
/// in the commit (`refs`) and in the parent: each place the commit added or removed is paired
/// with what the same scalar holds under another name on the other side, a move.
pub fn changed_places(name: &str, refs: &[Reference], parent: &[Reference]) -> Vec<PlacePair> {
    let of = |side: &[Reference]| -> Vec<Reference> {
        side.iter().filter(|r| r.image == name).cloned().collect()
    };
    let mut pairs = changed_pairs(&of(refs), &of(parent));
    for pair in &mut pairs {
        pair.renamed = match (&pair.new, &pair.old) {
            (Some(new), None) => other_name(new, parent, refs),
            (None, Some(old)) => other_name(old, refs, parent),
            _ => None,
        };
    }
    pairs
}

/// The reference under another image name at `r`'s scalar on the side without `r` (`there`).
/// Among several, the one whose name is not at that scalar on `r`'s side (`here`) too: a
/// kustomize entry's `name` stays beside the `newName` that changed.
fn other_name(r: &Reference, there: &[Reference], here: &[Reference]) -> Option<Reference> {
    let same_scalar = |x: &Reference| {
        x.document == r.document
            && x.yaml_path == r.yaml_path
            && x.field == r.field
            && x.image != r.image
    };
    let others: Vec<&Reference> = there.iter().filter(|x| same_scalar(x)).collect();
    let one = match others.as_slice() {
        [one] => *one,
        several => {
            let stays = |o: &Reference| here.iter().any(|x| same_scalar(x) && x.image == o.image);
            let gone: Vec<&Reference> = several.iter().copied().filter(|o| !stays(o)).collect();
            match gone.as_slice() {
                [one] => *one,
                _ => return None,
            }
        }
    };
    Some(one.clone())
}

impl PlacePair {
    /// The change, located where the place is in the commit (in the parent if removed).
    pub fn change(&self, file: &str) -> Option<Change> {
        let at = self.new.as_ref().or(self.old.as_ref())?;
        let moved = self.renamed.as_ref().map(|other| match &self.new {
            Some(new) => Moved {
                from: other.full(),
                to: new.full(),
            },
            None => Moved {
                from: at.full(),
                to: other.full(),
            },
        });
        Some(Change {
            at: Location::of(file, at),
            from: self.old.as_ref().and_then(|p| p.value.clone()),
            to: self.new.as_ref().and_then(|r| r.value.clone()),
            moved,
        })
    }
}

/// On a registry move the reference to the new name is added in the same commit that removes
/// the old one, with the same versions (or, in a kustomize entry or an Argo CD `alias=` string,
/// the new name is added beside the old one, on the same scalar). Returns the old name when
/// exactly one such name exists, or, among several, exactly one with the followed image's last
/// path segment.
pub fn moved_from(
    image: &str,
    current: &[Reference],
    parent: &[Reference],
    values: &Values,
) -> Option<String> {
    let current_names: HashSet<&str> = current.iter().map(|r| r.image.as_str()).collect();
    let image_offsets: HashSet<usize> = current
        .iter()
        .filter(|r| r.image == image)
        .map(|r| r.offset)
        .collect();
    // Another name of the same places now (`name` beside a new `newName`).
    let alias_now = |name: &str| {
        current
            .iter()
            .any(|r| r.image == name && image_offsets.contains(&r.offset))
    };
    let mut candidates: Vec<&str> = parent
        .iter()
        .map(|r| r.image.as_str())
        .filter(|name| *name != image && (!current_names.contains(name) || alias_now(name)))
        .collect::<HashSet<_>>()
        .into_iter()
        .filter(|name| {
            let refs: Vec<Reference> = parent
                .iter()
                .filter(|r| r.image == *name)
                .cloned()
                .collect();
            &values_of(&refs) == values
        })
        .collect();
    candidates.sort_unstable();
    match candidates.as_slice() {
        [one] => Some(one.to_string()),
        [] => None,
        several => {
            let wanted = last_segment(image);
            let same: Vec<&&str> = several
                .iter()
                .filter(|n| last_segment(n) == wanted)
                .collect();
            match same.as_slice() {
                [one] => Some(one.to_string()),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::refs::references;

    /// The change lines of image `name` between two versions of a file.
    fn lines(name: &str, parent: &str, commit: &str) -> Vec<String> {
        let (parent, commit) = (references(parent).unwrap(), references(commit).unwrap());
        changed_places(name, &commit, &parent)
            .iter()
            .filter_map(|p| p.change("f.yaml"))
            .map(|c| c.versions())
            .collect()
    }

    #[test]
    fn a_move_reads_the_same_from_either_name() {
        let (old, new) = (
            "image: old.registry.io/acme/api:1.4.0\n",
            "image: ghcr.io/acme/api:1.4.0\n",
        );
        let moved = ["image old.registry.io/acme/api:1.4.0 -> ghcr.io/acme/api:1.4.0"];
        assert_eq!(lines("ghcr.io/acme/api", old, new), moved);
        assert_eq!(lines("old.registry.io/acme/api", old, new), moved);
        // Another image at the same place is no move of it: a place added stays one.
        assert_eq!(
            lines("ghcr.io/acme/api", "other: 1\n", new),
            ["tag (none) -> 1.4.0"]
        );
    }

    #[test]
    fn a_kustomize_entrys_name_stays_beside_the_new_name_that_moved() {
        let entry = |new_name: &str| {
            format!("images:\n  - name: acme/api\n    newName: {new_name}\n    newTag: 1.4.0\n")
        };
        assert_eq!(
            lines(
                "ghcr.io/acme/api",
                &entry("mirror.acme.io/acme/api"),
                &entry("ghcr.io/acme/api")
            ),
            ["image mirror.acme.io/acme/api:1.4.0 -> ghcr.io/acme/api:1.4.0"]
        );
        // A `newName` added where the entry had none: the image moves off `name`.
        assert_eq!(
            lines(
                "ghcr.io/acme/api",
                "images:\n  - name: acme/api\n    newTag: 1.4.0\n",
                &entry("ghcr.io/acme/api")
            ),
            ["image docker.io/acme/api:1.4.0 -> ghcr.io/acme/api:1.4.0"]
        );
    }
}
