//! Go's `path/filepath.Match`, as Argo CD Image Updater matches an `ImageUpdater`'s
//! `namePattern` against an Application's name: a hold must go into the applicationRef that
//! Image Updater itself would pick, so the match is Go's, not a shell's.

/// Go `path/filepath.Match`: `*` (a run of non-`/`), `?` (one non-`/`), `[...]`/`[^...]`
/// classes with ranges, `\` escapes. A malformed pattern matches nothing, as in Image Updater.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_from(&p, &n).unwrap_or(false)
}

/// `None` for a malformed pattern.
fn glob_from(p: &[char], n: &[char]) -> Option<bool> {
    let Some(&first) = p.first() else {
        return Some(n.is_empty());
    };
    match first {
        '*' => {
            for i in 0..=n.len() {
                if glob_from(&p[1..], &n[i..])? {
                    return Some(true);
                }
                if n.get(i).is_none_or(|c| *c == '/') {
                    break;
                }
            }
            Some(false)
        }
        '?' => match n.first() {
            Some(c) if *c != '/' => glob_from(&p[1..], &n[1..]),
            _ => Some(false),
        },
        '[' => {
            let (matched, used) = class(&p[1..], n.first().copied())?;
            if matched {
                glob_from(&p[1 + used..], &n[1..])
            } else {
                Some(false)
            }
        }
        '\\' => {
            let c = *p.get(1)?;
            if n.first() == Some(&c) {
                glob_from(&p[2..], &n[1..])
            } else {
                Some(false)
            }
        }
        c => {
            if n.first() == Some(&c) {
                glob_from(&p[1..], &n[1..])
            } else {
                Some(false)
            }
        }
    }
}

/// A character class after its `[`: whether `c` is in it, and how many pattern characters it
/// used (its `]` included). `None` when malformed (unclosed, empty, a bare `-`).
fn class(p: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let mut i = 0;
    let negated = p.first() == Some(&'^');
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut ranges = 0;
    loop {
        if p.get(i) == Some(&']') && ranges > 0 {
            i += 1;
            break;
        }
        let (lo, used) = class_char(&p[i..])?;
        i += used;
        let mut hi = lo;
        if p.get(i) == Some(&'-') {
            let (h, used) = class_char(&p[i + 1..])?;
            hi = h;
            i += 1 + used;
        }
        ranges += 1;
        if c.is_some_and(|c| lo <= c && c <= hi) {
            hit = true;
        }
    }
    let c = c?;
    Some((c != '/' && hit != negated, i))
}

fn class_char(p: &[char]) -> Option<(char, usize)> {
    match p.first()? {
        '-' | ']' => None,
        '\\' => Some((*p.get(1)?, 2)),
        c => Some((*c, 1)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn name_patterns_are_filepath_match_globs() {
        for (pattern, name, matches) in [
            ("*", "anything", true),
            ("web-*", "web-prod", true),
            ("web-*", "api-prod", false),
            ("web-?", "web-1", true),
            ("web-?", "web-12", false),
            ("web-[a-c]", "web-b", true),
            ("web-[^a-c]", "web-b", false),
            ("web-[^a-c]", "web-d", true),
            ("web-\\*", "web-*", true),
            ("web-\\*", "web-x", false),
            ("*-prod", "a/b-prod", false),
            ("web-[", "web-[", false),
            ("web-[]", "web-]", false),
            ("*a*b", "xaxxb", true),
        ] {
            assert_eq!(super::matches(pattern, name), matches, "{pattern} ~ {name}");
        }
    }
}
