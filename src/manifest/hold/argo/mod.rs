//! Argo CD Image Updater: hold a tag in the ignore list Image Updater reads for an image, and
//! lift it again. Two places configure it: the `argocd-image-updater.argoproj.io/*` annotations
//! on an Application (`<alias>.ignore-tags`, one comma-separated string) and, since v1.0, an
//! `ImageUpdater` resource (`applicationRefs[].images[].commonUpdateSettings.ignoreTags`, a
//! list). Patterns are Go `filepath.Match` globs matched against the whole tag (`argo_glob`).
//!
//! Image Updater never merges ignore lists: the most specific one that exists replaces the
//! others (the alias annotation over the app-wide one; an image's list over its
//! applicationRef's over the spec's). A hold that creates a more specific list therefore copies
//! the inherited patterns into it, or it would stop ignoring them.
//!
//! Every edit inserts or removes bytes and keeps all others; the result is parsed again and
//! must ignore exactly what was meant, with every other value of the file unchanged.
//!
//! Laid out as the work goes: which configurations name the image (config), where the ignore
//! list is in one of them (place), adding the hold (add), lifting it (lift), and reading the
//! edited file back (verify).

mod add;
mod config;
mod lift;
mod place;
mod verify;

pub use add::hold;
pub use config::{configs, Config, ConfigKind};
pub use lift::unhold;

#[cfg(test)]
mod tests;
