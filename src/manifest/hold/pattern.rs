//! A tag as each tool's pattern language matches exactly it, and only it.

/// Flux `exclusionList`: a Go (RE2) regular expression, matched unanchored: anchor it.
/// `master-26a4b87` → `^master-26a4b87$`, `1.5.0+build.1` → `^1\.5\.0\+build\.1$`.
pub fn flux_regex(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len() + 2);
    out.push('^');
    for c in tag.chars() {
        // RE2's metacharacters; `-` is literal outside a class, so tags keep their look.
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

/// Argo CD Image Updater ignore lists: Go `path/filepath.Match` globs, matched against the
/// whole tag; `*`, `?`, `[` and `\` are escaped with a backslash.
pub fn argo_glob(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for c in tag.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Renovate `allowedVersions`: the alternatives of a negated JavaScript regex,
/// `!/^(1\.5\.0|1\.5\.1)$/`, or `!/^1\.5\.0$/` for one.
pub fn renovate_excluding(tags: &[String]) -> String {
    let escaped: Vec<String> = tags.iter().map(|t| js_escape(t)).collect();
    match escaped.as_slice() {
        [one] => format!("!/^{one}$/"),
        many => format!("!/^({})$/", many.join("|")),
    }
}

/// The tags a negated regex written by [`renovate_excluding`] excludes; `None` for any other
/// `allowedVersions` (a person's constraint, which a hold must not rewrite).
pub fn renovate_excluded(allowed: &str) -> Option<Vec<String>> {
    let inner = allowed.strip_prefix("!/^")?.strip_suffix("$/")?;
    let list = match inner.strip_prefix('(').and_then(|i| i.strip_suffix(')')) {
        Some(group) => group
            .split('|')
            .map(js_unescape)
            .collect::<Option<Vec<_>>>()?,
        None => vec![js_unescape(inner)?],
    };
    Some(list)
}

fn js_escape(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for c in tag.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The literal an escaped alternative stands for; `None` when it holds regex syntax.
fn js_unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            c if "^$.|?*+()[]{}/".contains(c) => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_pattern_matches_the_tag_and_only_it() {
        let re = regex::Regex::new(&flux_regex("1.5.0+build.1")).unwrap();
        assert!(re.is_match("1.5.0+build.1"));
        assert!(!re.is_match("1.5.0+build.10") && !re.is_match("1x5x0+build.1"));
        assert_eq!(flux_regex("master-26a4b87"), "^master-26a4b87$");
        assert_eq!(argo_glob("v1.*[x]"), r"v1.\*\[x\]");
        let one = renovate_excluding(&["1.5.0".into()]);
        assert_eq!(one, r"!/^1\.5\.0$/");
        let two = renovate_excluding(&["1.5.0".into(), "v2-rc+1".into()]);
        assert_eq!(two, r"!/^(1\.5\.0|v2-rc\+1)$/");
        assert_eq!(
            renovate_excluded(&two).unwrap(),
            ["1.5.0".to_string(), "v2-rc+1".to_string()]
        );
        assert_eq!(renovate_excluded(&one).unwrap(), ["1.5.0".to_string()]);
        assert_eq!(renovate_excluded("<2.0.0"), None);
        assert_eq!(renovate_excluded("!/^1\\.5\\..*$/"), None);
    }
}
