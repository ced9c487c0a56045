//! Renovate holds: a `packageRules` entry for one docker package whose `allowedVersions` is a
//! negated regex of the bad tags (`!/^(1\.4\.9|1\.5\.0)$/`), so Renovate stops proposing them.
//!
//! `allowedVersions` is a single, non-mergeable string and the last matching rule that sets it
//! wins, so every tag held for a package goes into one regex, in the package's own rule.
//!
//! The config is parsed with serde_json to know what it says, but the edit is made on its
//! bytes: a small scanner (`manifest::json_splice`) finds where each value, key and item lies in
//! the text, and only the
//! bytes of the hold are inserted, replaced or removed, laid out like their neighbours. The
//! result is parsed again and must equal the config before with just that change; lifting a
//! hold gives back the file as it was before the hold, byte for byte.

use serde_json::{json, Map, Value};

use super::pattern::{renovate_excluded, renovate_excluding};
use super::{Edited, HoldError};
use crate::manifest::json_splice::{
    append, colon_of, member, remove, scan, Item, Node, Splice, Style,
};

/// Config files Renovate reads, in its order, that revertbot can edit (strict JSON only).
pub const CONFIG_FILES: &[&str] = &[
    "renovate.json",
    ".github/renovate.json",
    ".gitlab/renovate.json",
    ".renovaterc",
    ".renovaterc.json",
];

/// Files Renovate reads that revertbot does not edit (JSON5/JSONC: comments, unquoted keys):
/// the PR gives the patch by hand instead.
pub const OTHER_CONFIG_FILES: &[&str] = &[
    "renovate.json5",
    "renovate.jsonc",
    ".github/renovate.json5",
    ".github/renovate.jsonc",
    ".gitlab/renovate.json5",
    ".gitlab/renovate.jsonc",
    ".renovaterc.json5",
    ".renovaterc.jsonc",
];

/// How revertbot's own rules describe themselves; a rule so described is removed whole when
/// its last tag is lifted (a person's rule only loses the `allowedVersions` revertbot added).
const MARK: &str = "revertbot: hold";

/// The matchers a rule revertbot merges into may have: any other (`matchFileNames`,
/// `matchUpdateTypes`, `matchCurrentVersion`, `exclude…`) narrows it, and a hold there would
/// not hold everywhere.
const OWN_MATCHERS: &[&str] = &["matchDatasources", "matchPackageNames", "matchDepNames"];

/// Holds `tag` of `package` (a docker image name without tag, e.g. `ghcr.io/acme/app`):
/// Renovate will not propose it again.
pub fn hold(text: &str, package: &str, tag: &str) -> Result<Edited, HoldError> {
    if package.trim().is_empty() || tag.trim().is_empty() {
        return Err(HoldError(
            "no image name or tag to hold; give both, e.g. ghcr.io/acme/app and 1.5.0".into(),
        ));
    }
    let config = Config::read(text)?;
    config.refuse_overriding(package)?;
    let mut expected = config.value.clone();
    let splice = match config.own_rule(package) {
        Some(i) => config.hold_in_rule(i, package, tag, &mut expected)?,
        None => config.add_rule(package, tag, &mut expected)?,
    };
    let Some(splice) = splice else {
        return Ok(Edited::Unchanged);
    };
    checked(text, &splice, &expected).map(Edited::Changed)
}

/// Lifts that hold (only it): the tag leaves the negated regex; a rule revertbot added that
/// holds nothing more is removed whole.
pub fn unhold(text: &str, package: &str, tag: &str) -> Result<Edited, HoldError> {
    let config = Config::read(text)?;
    let rules = config.rules();
    // The last rule holding it is the one in force; any earlier one is lifted by the recursion.
    let found = (0..rules.len()).rev().find_map(|i| {
        let tags = held_tags(&rules[i]).filter(|_| fits(&rules[i], package))?;
        tags.iter().any(|t| t == tag).then_some((i, tags))
    });
    let Some((i, tags)) = found else {
        return Ok(Edited::Unchanged);
    };
    let remaining: Vec<String> = tags.into_iter().filter(|t| t != tag).collect();
    let mut expected = config.value.clone();
    let splice = config.lift(i, &remaining, &mut expected)?;
    let out = checked(text, &splice, &expected)?;
    match unhold(&out, package, tag)? {
        Edited::Changed(again) => Ok(Edited::Changed(again)),
        Edited::Unchanged => Ok(Edited::Changed(out)),
    }
}

/// The rule to add by hand when the config cannot be edited (JSON, pretty, for the PR body).
pub fn rule_by_hand(package: &str, tags: &[String]) -> String {
    let style = Style {
        nl: "\n",
        unit: "  ".into(),
        colon: ": ".into(),
        multi: true,
    };
    rule_text(package, tags, &style, Some(""))
}

/// A parsed config: what it says (`value`), where its parts lie (`root`), and how it is laid out.
struct Config<'a> {
    text: &'a str,
    value: Value,
    root: Node,
    style: Style,
}

impl<'a> Config<'a> {
    fn read(text: &'a str) -> Result<Self, HoldError> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            HoldError(format!(
                "not JSON: {e}; revertbot edits renovate.json only when it is strict JSON"
            ))
        })?;
        if !value.is_object() {
            return Err(HoldError(
                "the Renovate config is not a JSON object; fix it, or add the rule by hand".into(),
            ));
        }
        if value.get("packageRules").is_some_and(|r| !r.is_array()) {
            return Err(HoldError(
                "packageRules in the Renovate config is not a list; fix it, or add the rule by hand"
                    .into(),
            ));
        }
        let root = scan(text).ok_or_else(|| {
            HoldError("could not place the parts of the JSON text; add the rule by hand".into())
        })?;
        let style = Style::of(text, &root);
        Ok(Config {
            text,
            value,
            root,
            style,
        })
    }

    fn rules(&self) -> &[Value] {
        self.value
            .get("packageRules")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The `packageRules` member: its index among the root's members, and its bytes.
    fn rules_member(&self) -> Option<(usize, &Item)> {
        member(&self.root, "packageRules")
    }

    fn rule_node(&self, i: usize) -> Result<&Node, HoldError> {
        self.rules_member()
            .and_then(|(_, m)| m.value.items.get(i))
            .map(|item| &item.value)
            .ok_or_else(|| {
                HoldError(format!(
                    "could not place packageRules[{i}] in the text; add the rule by hand"
                ))
            })
    }

    /// Refuses when a rule for the package sets an `allowedVersions` of its own: revertbot's
    /// rule, coming later, would replace that constraint (the later rule wins), not add to it.
    fn refuse_overriding(&self, package: &str) -> Result<(), HoldError> {
        for (i, rule) in self.rules().iter().enumerate() {
            if !names(rule, package) || !for_docker(rule) {
                continue;
            }
            match rule.get("allowedVersions") {
                None => {}
                Some(Value::String(s)) if renovate_excluded(s).is_some() => {}
                Some(Value::String(s)) => {
                    return Err(HoldError(format!(
                        "packageRules[{i}] for {package} already sets allowedVersions {}; \
                         revertbot will not override it: add the bad version to it by hand",
                        Value::from(s.as_str())
                    )))
                }
                Some(_) => {
                    return Err(HoldError(format!(
                        "packageRules[{i}] for {package} has an allowedVersions that is not a \
                         string; fix it, or add the bad version by hand"
                    )))
                }
            }
        }
        Ok(())
    }

    /// The rule to merge the hold into: the last that holds tags already, else the last that
    /// matches the package alone.
    fn own_rule(&self, package: &str) -> Option<usize> {
        let rules = self.rules();
        let fitting: Vec<usize> = (0..rules.len())
            .filter(|&i| fits(&rules[i], package))
            .collect();
        let holding = fitting
            .iter()
            .rev()
            .find(|&&i| rules[i].get("allowedVersions").is_some());
        holding.or(fitting.last()).copied()
    }

    /// Adds `tag` to rule `i`'s regex, or gives the rule one; `None` when it is held already.
    fn hold_in_rule(
        &self,
        i: usize,
        package: &str,
        tag: &str,
        expected: &mut Value,
    ) -> Result<Option<Splice>, HoldError> {
        let node = self.rule_node(i)?;
        let mut tags = held_tags(&self.rules()[i]).unwrap_or_default();
        if tags.iter().any(|t| t == tag) {
            return Ok(None);
        }
        tags.push(tag.to_string());
        let pattern = excluding(&tags, tag, package)?;
        rule_mut(expected, i)?.insert("allowedVersions".into(), pattern.as_str().into());
        if let Some((_, allowed)) = member(node, "allowedVersions") {
            return Ok(Some(Splice::replace(&allowed.value, json_str(&pattern))));
        }
        let colon = node.items.first().map_or(": ", |m| colon_of(self.text, m));
        let line = format!(
            "{}{colon}{}",
            json_str("allowedVersions"),
            json_str(&pattern)
        );
        Ok(Some(append(self.text, node, &self.style, |_| line)))
    }

    /// Appends a new rule for the package to `packageRules`, creating the list if need be.
    fn add_rule(
        &self,
        package: &str,
        tag: &str,
        expected: &mut Value,
    ) -> Result<Option<Splice>, HoldError> {
        let tags = [tag.to_string()];
        excluding(&tags, tag, package)?;
        let rule = rule_value(package, &tags);
        let (text, style) = (self.text, &self.style);
        let root = expected.as_object_mut().ok_or_else(mismatch)?;
        if let Some((_, rules)) = self.rules_member() {
            let array = root.get_mut("packageRules").and_then(Value::as_array_mut);
            array.ok_or_else(mismatch)?.push(rule);
            // A rule goes on several lines only where its siblings do.
            let siblings_on_lines = (rules.value.items.last())
                .is_none_or(|last| text[last.value.start..last.value.end].contains('\n'));
            let splice = append(text, &rules.value, style, |indent| {
                rule_text(package, &tags, style, indent.filter(|_| siblings_on_lines))
            });
            return Ok(Some(splice));
        }
        root.insert("packageRules".into(), json!([rule]));
        let key = format!("{}{}", json_str("packageRules"), style.colon);
        let splice = append(text, &self.root, style, |indent| match indent {
            Some(outer) => {
                let inner = format!("{outer}{}", style.unit);
                let rule = rule_text(package, &tags, style, Some(&inner));
                let nl = style.nl;
                format!("{key}[{nl}{inner}{rule}{nl}{outer}]")
            }
            None => format!("{key}[{}]", rule_text(package, &tags, style, None)),
        });
        Ok(Some(splice))
    }

    /// Takes the tag out of rule `i`: writes the `remaining` tags, or, with none left, removes
    /// revertbot's rule (and the `packageRules` it created) or a person's rule's `allowedVersions`.
    fn lift(
        &self,
        i: usize,
        remaining: &[String],
        expected: &mut Value,
    ) -> Result<Splice, HoldError> {
        let node = self.rule_node(i)?;
        let (k, allowed) = member(node, "allowedVersions").ok_or_else(mismatch)?;
        if !remaining.is_empty() {
            let pattern = renovate_excluding(remaining);
            rule_mut(expected, i)?.insert("allowedVersions".into(), pattern.as_str().into());
            return Ok(Splice::replace(&allowed.value, json_str(&pattern)));
        }
        let ours = (self.rules()[i].get("description").and_then(Value::as_str))
            .is_some_and(|d| d.starts_with(MARK));
        if !ours {
            rule_mut(expected, i)?.remove("allowedVersions");
            return Ok(remove(node, k));
        }
        let root = expected.as_object_mut().ok_or_else(mismatch)?;
        let (m, rules) = self.rules_member().ok_or_else(mismatch)?;
        // Hold puts a `packageRules` it creates last; emptied, it goes too. (One that was
        // `[]` before goes as well, which Renovate reads the same.)
        if rules.value.items.len() == 1 && m + 1 == self.root.items.len() {
            root.remove("packageRules");
            return Ok(remove(&self.root, m));
        }
        let array = root.get_mut("packageRules").and_then(Value::as_array_mut);
        let array = array.filter(|a| i < a.len()).ok_or_else(mismatch)?;
        array.remove(i);
        Ok(remove(&rules.value, i))
    }
}

/// Whether the rule names the package in `matchPackageNames` or `matchDepNames` (exactly,
/// ignoring case as Renovate's exact and glob matching does), among other names or not.
fn names(rule: &Value, package: &str) -> bool {
    ["matchPackageNames", "matchDepNames"].iter().any(|key| {
        (rule.get(*key).and_then(Value::as_array))
            .is_some_and(|names| names.iter().any(|n| same_name(n, package)))
    })
}

/// Whether the rule is the package's own: it matches that name alone, for docker, and
/// nothing narrows it, so a hold in it holds wherever the image is used.
fn fits(rule: &Value, package: &str) -> bool {
    let Some(members) = rule.as_object() else {
        return false;
    };
    let narrowed = members.keys().any(|k| {
        (k.starts_with("match") || k.starts_with("exclude")) && !OWN_MATCHERS.contains(&k.as_str())
    });
    let alone = |key: &str| match members.get(key) {
        None => None,
        Some(Value::Array(names)) => Some(names.len() == 1 && same_name(&names[0], package)),
        Some(_) => Some(false),
    };
    let (by_package, by_dep) = (alone("matchPackageNames"), alone("matchDepNames"));
    !narrowed
        && for_docker(rule)
        && (by_package.is_some() || by_dep.is_some())
        && by_package != Some(false)
        && by_dep != Some(false)
}

fn same_name(name: &Value, package: &str) -> bool {
    name.as_str()
        .is_some_and(|n| n.to_lowercase() == package.to_lowercase())
}

/// Whether the rule can apply to docker images: no `matchDatasources`, or one naming docker.
fn for_docker(rule: &Value) -> bool {
    match rule.get("matchDatasources") {
        None => true,
        Some(Value::Array(sources)) => sources.iter().any(|s| s == "docker"),
        Some(_) => false,
    }
}

/// The tags the rule's `allowedVersions` holds, when revertbot wrote it.
fn held_tags(rule: &Value) -> Option<Vec<String>> {
    renovate_excluded(rule.get("allowedVersions")?.as_str()?)
}

/// The regex excluding `tags`, checked to read back as excluding `tag`.
fn excluding(tags: &[String], tag: &str, package: &str) -> Result<String, HoldError> {
    let pattern = renovate_excluding(tags);
    if renovate_excluded(&pattern).is_some_and(|back| back.iter().any(|t| t == tag)) {
        Ok(pattern)
    } else {
        Err(HoldError(format!(
            "the tag {tag} of {package} does not make a regex revertbot can read back; \
             hold it by hand"
        )))
    }
}

fn rule_value(package: &str, tags: &[String]) -> Value {
    json!({
        "description": description(package, tags),
        "matchDatasources": ["docker"],
        "matchPackageNames": [package],
        "allowedVersions": renovate_excluding(tags),
    })
}

fn description(package: &str, tags: &[String]) -> String {
    format!("{MARK} {package} {} (rolled back)", tags.join(", "))
}

/// A new rule's text: its members on lines under `indent`, or inline when `indent` is `None`.
fn rule_text(package: &str, tags: &[String], style: &Style, indent: Option<&str>) -> String {
    let members = [
        ("description", json_str(&description(package, tags))),
        ("matchDatasources", format!("[{}]", json_str("docker"))),
        ("matchPackageNames", format!("[{}]", json_str(package))),
        ("allowedVersions", json_str(&renovate_excluding(tags))),
    ]
    .map(|(key, value)| format!("{}{}{value}", json_str(key), style.colon));
    match indent {
        Some(outer) => {
            let (nl, inner) = (style.nl, format!("{outer}{}", style.unit));
            let body = members.join(&format!(",{nl}{inner}"));
            format!("{{{nl}{inner}{body}{nl}{outer}}}")
        }
        None => format!("{{{}}}", members.join(style.inline_sep())),
    }
}

/// A JSON string literal (quotes, escapes: the regex's backslashes doubled).
fn json_str(s: &str) -> String {
    Value::from(s).to_string()
}

fn rule_mut(value: &mut Value, i: usize) -> Result<&mut Map<String, Value>, HoldError> {
    (value.get_mut("packageRules").and_then(|r| r.get_mut(i)))
        .and_then(Value::as_object_mut)
        .ok_or_else(mismatch)
}

fn mismatch() -> HoldError {
    HoldError(
        "the Renovate config did not read as expected while editing it; add the rule by hand"
            .into(),
    )
}

/// Applies the splice and checks the result says exactly `expected`.
fn checked(text: &str, splice: &Splice, expected: &Value) -> Result<String, HoldError> {
    let mut out = text.to_string();
    out.replace_range(splice.start..splice.end, &splice.with);
    match serde_json::from_str::<Value>(&out) {
        Ok(got) if got == *expected => Ok(out),
        _ => Err(HoldError(
            "editing the Renovate config did not give the intended JSON; add the rule by hand"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "ghcr.io/acme/app";

    fn changed(edited: Result<Edited, HoldError>) -> String {
        match edited {
            Ok(Edited::Changed(text)) => text,
            other => panic!("expected a change, got {other:?}"),
        }
    }

    fn error(edited: Result<Edited, HoldError>) -> String {
        match edited {
            Err(e) => e.0,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Holding twice changes nothing the second time; lifting gives the file back byte for
    /// byte; lifting what is not held changes nothing.
    fn round_trip(text: &str, tag: &str) -> String {
        let held = changed(hold(text, APP, tag));
        assert_eq!(hold(&held, APP, tag), Ok(Edited::Unchanged), "{held}");
        assert_eq!(changed(unhold(&held, APP, tag)), text, "{held}");
        assert_eq!(unhold(text, APP, tag), Ok(Edited::Unchanged));
        held
    }

    const NO_RULES: &str = r#"{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended"]
}
"#;

    #[test]
    fn a_config_without_package_rules_gets_them_with_the_hold() {
        let held = round_trip(NO_RULES, "1.5.0");
        assert_eq!(
            held,
            r#"{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended"],
  "packageRules": [
    {
      "description": "revertbot: hold ghcr.io/acme/app 1.5.0 (rolled back)",
      "matchDatasources": ["docker"],
      "matchPackageNames": ["ghcr.io/acme/app"],
      "allowedVersions": "!/^1\\.5\\.0$/"
    }
  ]
}
"#
        );
    }

    #[test]
    fn a_second_tag_joins_revertbots_rule_and_leaves_it_again() {
        let one = changed(hold(NO_RULES, APP, "1.4.9"));
        let two = changed(hold(&one, APP, "1.5.0"));
        assert_eq!(
            two,
            r#"{
  "$schema": "https://docs.renovatebot.com/renovate-schema.json",
  "extends": ["config:recommended"],
  "packageRules": [
    {
      "description": "revertbot: hold ghcr.io/acme/app 1.4.9 (rolled back)",
      "matchDatasources": ["docker"],
      "matchPackageNames": ["ghcr.io/acme/app"],
      "allowedVersions": "!/^(1\\.4\\.9|1\\.5\\.0)$/"
    }
  ]
}
"#
        );
        assert_eq!(round_trip(&one, "1.5.0"), two);
        // Lifted in the other order, the rule is gone with its last tag all the same.
        let only_new = changed(unhold(&two, APP, "1.4.9"));
        assert!(only_new.contains(r#""allowedVersions": "!/^1\\.5\\.0$/""#));
        assert_eq!(changed(unhold(&only_new, APP, "1.5.0")), NO_RULES);
    }

    #[test]
    fn another_packages_rule_is_left_alone_and_the_new_rule_follows_it() {
        let text = r#"{
  "extends": ["config:recommended"],
  "packageRules": [
    {
      "matchPackageNames": ["ghcr.io/acme/worker"],
      "automerge": true
    }
  ]
}
"#;
        assert_eq!(
            round_trip(text, "1.5.0"),
            r#"{
  "extends": ["config:recommended"],
  "packageRules": [
    {
      "matchPackageNames": ["ghcr.io/acme/worker"],
      "automerge": true
    },
    {
      "description": "revertbot: hold ghcr.io/acme/app 1.5.0 (rolled back)",
      "matchDatasources": ["docker"],
      "matchPackageNames": ["ghcr.io/acme/app"],
      "allowedVersions": "!/^1\\.5\\.0$/"
    }
  ]
}
"#
        );
    }

    #[test]
    fn the_packages_own_rule_gets_allowed_versions_as_its_last_member() {
        let text = r#"{
  "packageRules": [
    {
      "matchDatasources": ["docker"],
      "matchPackageNames": ["GHCR.io/Acme/App"],
      "automerge": false
    },
    { "matchPackageNames": ["ghcr.io/acme/worker"], "enabled": false }
  ]
}
"#;
        assert_eq!(
            round_trip(text, "1.5.0"),
            r#"{
  "packageRules": [
    {
      "matchDatasources": ["docker"],
      "matchPackageNames": ["GHCR.io/Acme/App"],
      "automerge": false,
      "allowedVersions": "!/^1\\.5\\.0$/"
    },
    { "matchPackageNames": ["ghcr.io/acme/worker"], "enabled": false }
  ]
}
"#
        );
        let inline = r#"{"packageRules": [{"matchDepNames": ["ghcr.io/acme/app"]}]}"#;
        assert_eq!(
            round_trip(inline, "1.5.0"),
            r#"{"packageRules": [{"matchDepNames": ["ghcr.io/acme/app"], "allowedVersions": "!/^1\\.5\\.0$/"}]}"#
        );
    }

    #[test]
    fn a_narrowed_rule_or_one_for_several_images_is_not_merged_into() {
        for matcher in [
            r#""matchFileNames": ["apps/prod/**"]"#,
            r#""matchUpdateTypes": ["minor"]"#,
            r#""matchDatasources": ["helm"]"#,
            r#""matchPackageNames": ["ghcr.io/acme/app", "ghcr.io/acme/worker"]"#,
        ] {
            let text = format!(
                "{{\n  \"packageRules\": [\n    {{\n      \"matchDepNames\": [\"{APP}\"],\n      {matcher}\n    }}\n  ]\n}}\n"
            );
            let held = round_trip(&text, "1.5.0");
            let rules = &serde_json::from_str::<Value>(&held).unwrap()["packageRules"];
            assert_eq!(rules.as_array().unwrap().len(), 2, "{held}");
            assert!(rules[1]["description"].as_str().unwrap().starts_with(MARK));
        }
    }

    #[test]
    fn four_spaces_tabs_and_crlf_are_kept() {
        // An empty `packageRules` last in the root would go when the hold is lifted (see lift).
        let four = "{\n    \"packageRules\": [],\n    \"extends\": [\n        \"config:recommended\"\n    ]\n}";
        let held = round_trip(four, "1.5.0");
        assert!(held.contains("\"packageRules\": [\n        {\n            \"description\""));
        assert!(
            held.contains("\"\n        }\n    ],\n    \"extends\""),
            "{held}"
        );

        let tabs = "{\n\t\"packageRules\": [\n\t\t{\n\t\t\t\"matchPackageNames\": [\"x\"]\n\t\t}\n\t]\n}\n";
        let held = round_trip(tabs, "1.5.0");
        assert!(
            held.contains("\t\t},\n\t\t{\n\t\t\t\"description\""),
            "{held}"
        );
        assert!(held.contains("\t\t\t\"allowedVersions\": \"!/^1\\\\.5\\\\.0$/\"\n\t\t}\n\t]"));

        let crlf = NO_RULES.replace('\n', "\r\n");
        let held = round_trip(&crlf, "1.5.0");
        assert_eq!(
            held,
            changed(hold(NO_RULES, APP, "1.5.0")).replace('\n', "\r\n")
        );
    }

    #[test]
    fn a_one_line_file_stays_on_one_line() {
        let text = r#"{"extends":["config:recommended"]}"#;
        assert_eq!(
            round_trip(text, "1.5.0"),
            r#"{"extends":["config:recommended"],"packageRules":[{"description":"revertbot: hold ghcr.io/acme/app 1.5.0 (rolled back)","matchDatasources":["docker"],"matchPackageNames":["ghcr.io/acme/app"],"allowedVersions":"!/^1\\.5\\.0$/"}]}"#
        );
        let spaced = r#"{ "packageRules": [], "extends": ["config:recommended"] }"#;
        let held = round_trip(spaced, "1.5.0");
        assert!(held.starts_with(r#"{ "packageRules": [{"description": "revertbot: hold "#));
        assert!(held.ends_with(r#"$/"}], "extends": ["config:recommended"] }"#));
        assert!(!held.contains('\n'));
    }

    #[test]
    fn an_empty_package_rules_last_in_the_root_goes_with_the_hold() {
        // Indistinguishable from the list hold creates; Renovate reads both files the same.
        let text = "{\n  \"extends\": [\"config:recommended\"],\n  \"packageRules\": []\n}\n";
        let held = changed(hold(text, APP, "1.5.0"));
        let lifted = changed(unhold(&held, APP, "1.5.0"));
        assert_eq!(lifted, "{\n  \"extends\": [\"config:recommended\"]\n}\n");
    }

    #[test]
    fn an_empty_config_gets_a_pretty_rule() {
        let held = round_trip("{}\n", "1.5.0");
        assert!(held.starts_with("{\n  \"packageRules\": [\n    {\n      \"description\""));
        assert!(held.ends_with("\n    }\n  ]\n}\n"));
    }

    #[test]
    fn tags_with_regex_characters_are_escaped_once_for_the_regex_and_once_for_json() {
        let held = round_trip(NO_RULES, "1.5.0+build.1");
        assert!(held.contains(r#""allowedVersions": "!/^1\\.5\\.0\\+build\\.1$/""#));
        let value: Value = serde_json::from_str(&held).unwrap();
        let allowed = value["packageRules"][0]["allowedVersions"]
            .as_str()
            .unwrap();
        assert_eq!(renovate_excluded(allowed).unwrap(), ["1.5.0+build.1"]);
        round_trip(NO_RULES, "v2-rc_1");
    }

    #[test]
    fn a_persons_allowed_versions_is_not_overridden() {
        let text = r#"{"packageRules": [{"matchPackageNames": ["ghcr.io/acme/app"], "allowedVersions": "<2.0.0"}]}"#;
        let message = error(hold(text, APP, "1.5.0"));
        assert!(
            message.starts_with(
                "packageRules[0] for ghcr.io/acme/app already sets allowedVersions \"<2.0.0\""
            ),
            "{message}"
        );
        assert!(message.contains("by hand"));
        assert_eq!(unhold(text, APP, "1.5.0"), Ok(Edited::Unchanged));
    }

    #[test]
    fn what_is_not_strict_json_or_not_a_config_is_refused() {
        let json5 = "{\n  // pinned\n  extends: ['config:recommended'],\n}\n";
        assert!(error(hold(json5, APP, "1.5.0")).starts_with("not JSON: "));
        assert!(error(unhold("", APP, "1.5.0")).starts_with("not JSON: "));
        assert!(error(hold("[]", APP, "1.5.0")).contains("not a JSON object"));
        let bad_rules = r#"{"packageRules": {}}"#;
        assert!(error(hold(bad_rules, APP, "1.5.0")).contains("not a list"));
        assert!(error(hold(NO_RULES, APP, " ")).contains("no image name or tag"));
    }

    #[test]
    fn keys_and_strings_with_escapes_are_placed_right() {
        let text = "{\n  \"a\\\"}]\": \"x\\\\\\\"[{\",\n  \"packageRules\": [\n    {\"matchPackageNames\": [\"ghcr.io/acme/app\"], \"n\": -1.5e3, \"o\": null}\n  ]\n}";
        let held = round_trip(text, "1.5.0");
        assert!(
            held.contains(r#""o": null, "allowedVersions": "!/^1\\.5\\.0$/"}"#),
            "{held}"
        );
    }

    /// A config as a person or a formatter writes it: some of the sample rules, laid out
    /// compact or pretty with two spaces, four, or tabs, with `\n` or `\r\n`.
    fn config() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let samples = vec![
            json!({"matchPackageNames": ["ghcr.io/acme/worker"], "automerge": true}),
            json!({"matchPackageNames": [APP], "enabled": true}),
            json!({"matchDepNames": [APP], "matchFileNames": ["apps/**"]}),
            json!({"matchPackageNames": [APP], "allowedVersions": "<2"}),
            rule_value(APP, &["1.4.9".into()]),
        ];
        let rules = proptest::collection::vec(proptest::sample::select(samples), 0..4);
        let layout = proptest::sample::select(vec!["", "  ", "    ", "\t"]);
        (rules, any::<bool>(), layout, any::<bool>()).prop_map(
            |(rules, with_rules, indent, crlf)| {
                let mut root = json!({"extends": ["config:recommended"]});
                // An empty list is left out: last in the root, lifting the hold removes it.
                if with_rules && !rules.is_empty() {
                    root["packageRules"] = Value::from(rules);
                }
                let text = if indent.is_empty() {
                    root.to_string()
                } else {
                    let mut out = Vec::new();
                    let formatter =
                        serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
                    let mut serializer =
                        serde_json::Serializer::with_formatter(&mut out, formatter);
                    serde::Serialize::serialize(&root, &mut serializer).unwrap();
                    String::from_utf8(out).unwrap() + "\n"
                };
                if crlf {
                    text.replace('\n', "\r\n")
                } else {
                    text
                }
            },
        )
    }

    proptest::proptest! {
        #[test]
        fn any_config_and_tag_round_trip(text in config(), tag in "[A-Za-z0-9_][A-Za-z0-9_.+-]{0,20}") {
            match hold(&text, APP, &tag) {
                Ok(Edited::Changed(held)) => {
                    proptest::prop_assert_eq!(hold(&held, APP, &tag), Ok(Edited::Unchanged));
                    proptest::prop_assert_eq!(changed(unhold(&held, APP, &tag)), text);
                }
                Ok(Edited::Unchanged) => proptest::prop_assert_eq!(tag, "1.4.9"),
                Err(e) => proptest::prop_assert!(e.0.contains("already sets allowedVersions \"<2\""), "{}", e.0),
            }
        }

        #[test]
        fn any_text_gets_an_answer_not_a_panic(text in r#"[{}\[\]":, \n\\a-z0-9]{0,60}"#) {
            let _ = hold(&text, APP, "1.5.0");
            let _ = unhold(&text, APP, "1.5.0");
        }
    }

    #[test]
    fn the_rule_by_hand_is_pretty_json() {
        let rule = rule_by_hand(APP, &["1.4.9".into(), "1.5.0".into()]);
        assert_eq!(
            rule,
            r#"{
  "description": "revertbot: hold ghcr.io/acme/app 1.4.9, 1.5.0 (rolled back)",
  "matchDatasources": ["docker"],
  "matchPackageNames": ["ghcr.io/acme/app"],
  "allowedVersions": "!/^(1\\.4\\.9|1\\.5\\.0)$/"
}"#
        );
        assert!(serde_json::from_str::<Value>(&rule).is_ok());
        assert!(CONFIG_FILES.iter().all(|f| !OTHER_CONFIG_FILES.contains(f)));
    }
}
