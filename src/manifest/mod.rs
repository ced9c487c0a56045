//! GitOps manifests, pure: YAML read with positions, the places that reference an image (the
//! five reference formats), which places a change touched, and byte-level edits of one scalar
//! (edit) on the splicing that the holds use too (splice; json_splice for Renovate's JSON).
//! Workloads rendered as kustomize renders them (kustomize). Everything here works on `&str`;
//! nothing reads git or the disk.

pub mod edit;
pub mod hold;
pub mod json_splice;
pub mod kustomize;
pub mod paths;
pub mod place;
pub mod refs;
pub mod splice;
pub mod values;
pub mod yaml;

pub use paths::PathFilter;
pub use place::{Change, Location, Moved, Place};
pub use refs::{references, Field, Form, Reference};
pub use values::{
    changed_pairs, changed_places, holds_version, moved_from, values_of, PlacePair, Values,
};

/// Whether a file name is one the deploy tools read as YAML.
pub fn is_yaml_name(name: &str) -> bool {
    name.ends_with(".yaml") || name.ends_with(".yml") || name == "Kustomization"
}
