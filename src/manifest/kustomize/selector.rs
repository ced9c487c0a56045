//! A patch's `target:`, matched as kustomize's `resWrangler.Select` does
//! (`api/resmap/reswrangler.go`, `api/types/selector.go`): `group`, `version`, `kind`, `name`
//! and `namespace` are regular expressions anchored at both ends; name and namespace match
//! either the resource's original id or its current one; `labelSelector` and
//! `annotationSelector` are Kubernetes label selectors.

use std::collections::BTreeMap;

use regex::Regex;

use super::resource::{text, Id, Resource};
use crate::manifest::yaml::Node;

#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub label_selector: String,
    pub annotation_selector: String,
}

impl Selector {
    pub fn from_node(node: &Node) -> Selector {
        let field = |key: &str| node.get(key).and_then(text).unwrap_or("").to_string();
        Selector {
            group: field("group"),
            version: field("version"),
            kind: field("kind"),
            name: field("name"),
            namespace: field("namespace"),
            label_selector: field("labelSelector"),
            annotation_selector: field("annotationSelector"),
        }
    }

    pub fn matches(&self, r: &Resource) -> bool {
        let (group, version) = r
            .api_version
            .rsplit_once('/')
            .unwrap_or(("", r.api_version.as_str()));
        let ids = [r.original(), r.current()];
        let any_id = |f: &dyn Fn(&Id) -> &str, pattern: &str| {
            ids.iter().any(|id| pattern_matches(pattern, f(id)))
        };
        pattern_matches(&self.group, group)
            && pattern_matches(&self.version, version)
            && pattern_matches(&self.kind, r.kind.as_str())
            && any_id(&|id| id.name.as_str(), &self.name)
            && any_id(&|id| id.effective_namespace(), &self.namespace)
            && selects(&self.label_selector, &r.labels).unwrap_or(false)
            && selects(&self.annotation_selector, &r.annotations).unwrap_or(false)
    }
}

/// An empty pattern matches anything; an invalid one nothing (kustomize fails the build).
fn pattern_matches(pattern: &str, value: &str) -> bool {
    if pattern.is_empty() {
        return true;
    }
    Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|re| re.is_match(value))
}

/// Whether a label selector (`app=web,tier!=db,env in (prod,stage),!canary,team`) selects a
/// set of labels; `None` when it cannot be parsed.
pub fn selects(selector: &str, labels: &BTreeMap<String, String>) -> Option<bool> {
    let mut all = true;
    for requirement in top_level_parts(selector) {
        let requirement = requirement.trim();
        if requirement.is_empty() {
            if selector.trim().is_empty() {
                continue;
            }
            return None;
        }
        all &= matches_requirement(requirement, labels)?;
    }
    Some(all)
}

fn matches_requirement(req: &str, labels: &BTreeMap<String, String>) -> Option<bool> {
    if let Some(key) = req.strip_prefix('!') {
        return Some(!labels.contains_key(valid_key(key.trim())?));
    }
    for (op, negate) in [("!=", true), ("==", false), ("=", false)] {
        if let Some((key, value)) = req.split_once(op) {
            let held = labels.get(valid_key(key.trim())?).map(String::as_str);
            return Some((held == Some(value.trim())) != negate);
        }
    }
    if let Some((key, rest)) = req.split_once(char::is_whitespace) {
        let rest = rest.trim_start();
        let (negate, list) = if let Some(list) = rest.strip_prefix("notin") {
            (true, list)
        } else {
            (false, rest.strip_prefix("in")?)
        };
        let list = list.trim().strip_prefix('(')?.strip_suffix(')')?;
        let held = labels.get(valid_key(key)?);
        let inside = held.is_some_and(|v| list.split(',').any(|item| item.trim() == v));
        return Some(inside != negate);
    }
    Some(labels.contains_key(valid_key(req)?))
}

fn valid_key(key: &str) -> Option<&str> {
    let ok = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    ok.then_some(key)
}

/// Splits at commas that are not inside parentheses.
fn top_level_parts(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::labels;

    #[test]
    fn label_selectors_in_every_spelling() {
        let l = labels(&[("app", "web"), ("env", "prod")]);
        for (selector, want) in [
            ("", Some(true)),
            ("app=web", Some(true)),
            ("app==web,env=prod", Some(true)),
            ("app=api", Some(false)),
            ("app!=api", Some(true)),
            ("tier!=db", Some(true)),
            ("env in (prod, stage)", Some(true)),
            ("env notin (prod)", Some(false)),
            ("app,env in (prod)", Some(true)),
            ("!canary", Some(true)),
            ("!app", Some(false)),
            ("team", Some(false)),
            ("env in prod", None),
            ("app=web,", None),
        ] {
            assert_eq!(selects(selector, &l), want, "{selector:?}");
        }
    }

    #[test]
    fn patterns_are_anchored_and_an_invalid_one_matches_nothing() {
        assert!(pattern_matches("", "anything"));
        assert!(pattern_matches("web|api", "api"));
        assert!(pattern_matches("web-.*", "web-canary"));
        assert!(!pattern_matches("web", "web-canary"));
        assert!(!pattern_matches("web(", "web("));
    }
}
