//! The problems found while validating, each `key.path: what is wrong`.

use std::time::Duration;

use crate::config::duration;
use crate::config::file::Scalar;

pub struct Problems<'a>(pub &'a mut Vec<String>);

impl Problems<'_> {
    pub fn push(&mut self, key_path: &str, what: String) {
        self.0.push(format!("{key_path}: {what}"));
    }

    /// A duration setting, or its default; a wrong one is a problem and the default stands in
    /// for it, so that the rest is still checked.
    pub fn duration(&mut self, key_path: &str, value: Option<&Scalar>, default: &str) -> Duration {
        let text = value.map_or(default, |s| s.0.as_str());
        duration::parse(text).unwrap_or_else(|e| {
            self.push(key_path, e);
            duration::parse(default).expect("defaults are valid durations")
        })
    }

    /// A connection's time limit: a duration above zero.
    pub fn timeout(&mut self, key_path: &str, value: Option<&Scalar>, default: &str) -> Duration {
        let limit = self.duration(key_path, value, default);
        if limit.is_zero() {
            self.push(
                key_path,
                "0 would close every connection at once; give a duration like 10s".into(),
            );
            return duration::parse(default).expect("defaults are valid durations");
        }
        limit
    }
}
