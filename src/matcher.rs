//! Alertmanager's label matchers, with its syntax and meaning: `name = "value"`, `!=`, `=~`,
//! `!~`; values quoted (with `\"`, `\\`, `\n` escapes) or bare; regexes anchored at both ends;
//! a label that is absent counts as the empty string. A matcher list may also be written as
//! Alertmanager's `{a="b", c=~"d"}`.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equal,
    NotEqual,
    Regex,
    NotRegex,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Equal => "=",
            Op::NotEqual => "!=",
            Op::Regex => "=~",
            Op::NotRegex => "!~",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub name: String,
    pub op: Op,
    pub value: String,
    /// For `=~` and `!~`: the value, anchored.
    regex: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        (&self.name, self.op, &self.value) == (&other.name, other.op, &other.value)
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted = self
            .value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        write!(f, "{}{}\"{quoted}\"", self.name, self.op.as_str())
    }
}

impl Matcher {
    pub fn new(name: &str, op: Op, value: &str) -> Result<Matcher, String> {
        let regex = match op {
            Op::Regex | Op::NotRegex => Some(
                Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("{value:?} is not a valid regular expression: {e}"))?,
            ),
            Op::Equal | Op::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_string(),
            op,
            value: value.to_string(),
            regex,
        })
    }

    /// Whether the labels match (an absent label is the empty string).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (Op::Equal, _) => value == self.value,
            (Op::NotEqual, _) => value != self.value,
            (Op::Regex, Some(re)) => re.is_match(value),
            (Op::NotRegex, Some(re)) => !re.is_match(value),
            (Op::Regex | Op::NotRegex, None) => false,
        }
    }
}

/// Parses one matcher string, which may hold several (`a="b", c="d"` or `{a="b", c="d"}`).
pub fn parse(text: &str) -> Result<Vec<Matcher>, String> {
    let trimmed = text.trim();
    let inner = match trimmed.strip_prefix('{') {
        Some(rest) => rest
            .strip_suffix('}')
            .ok_or_else(|| format!("{text:?}: a '{{' without its '}}'"))?,
        None => trimmed,
    };
    let mut out = Vec::new();
    for part in split_outside_quotes(inner, text)? {
        if part.trim().is_empty() {
            continue;
        }
        out.push(parse_one(part).map_err(|e| format!("{:?}: {e}", part.trim()))?);
    }
    if out.is_empty() {
        return Err(format!("{text:?} holds no matcher"));
    }
    Ok(out)
}

fn split_outside_quotes<'a>(inner: &'a str, text: &str) -> Result<Vec<&'a str>, String> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(format!("{text:?}: a quote is not closed"));
    }
    parts.push(&inner[start..]);
    Ok(parts)
}

fn parse_one(text: &str) -> Result<Matcher, String> {
    let text = text.trim();
    let name_len = text
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .count();
    let name = &text[..name_len];
    if name.is_empty() {
        return Err("give a label name, then =, !=, =~ or !~, then a value".into());
    }
    let rest = text[name_len..].trim_start();
    let (op, rest) = [
        ("=~", Op::Regex),
        ("!~", Op::NotRegex),
        ("!=", Op::NotEqual),
        ("=", Op::Equal),
    ]
    .iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|r| (*op, r)))
    .ok_or_else(|| format!("after {name:?} give =, !=, =~ or !~"))?;
    let raw = rest.trim();
    let value = match raw.strip_prefix('"') {
        Some(quoted) => unquote(quoted)?,
        None => {
            // Bare values are for plain words; anything that could be a mistyped operator or
            // a stray token must be quoted, so that a typo never widens a rule.
            if raw.contains(['"', ' ', '\t', '{', '}', '\\']) || raw.starts_with(['=', '!', '~']) {
                return Err(format!("{raw:?}: quote the value"));
            }
            raw.to_string()
        }
    };
    Matcher::new(name, op, &value)
}

/// The text of a quoted value, its opening quote already taken off.
fn unquote(quoted: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    return Err(format!("\\{other} is not an escape; use \\\", \\\\ or \\n"))
                }
                None => return Err("the value ends in a lone backslash".into()),
            },
            '"' => {
                return if chars.as_str().trim().is_empty() {
                    Ok(out)
                } else {
                    Err("text after the closing quote".into())
                }
            }
            c => out.push(c),
        }
    }
    Err("the quote is not closed".into())
}

/// A label set written as pairs, for the tests of everything that reads labels (matchers,
/// kustomize selectors, the workload an alert names).
#[cfg(test)]
pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Matcher {
        let mut m = parse(text).unwrap();
        assert_eq!(m.len(), 1, "{text}");
        m.remove(0)
    }

    #[test]
    fn reads_alertmanagers_syntax() {
        let m = one(r#"severity = "rollback""#);
        assert_eq!(
            (m.name.as_str(), m.op, m.value.as_str()),
            ("severity", Op::Equal, "rollback")
        );
        assert_eq!(one("severity=rollback").value, "rollback");
        assert_eq!(one(r#"a!~"x|y""#).op, Op::NotRegex);
        assert_eq!(one(r#"a="say \"hi\"\\n""#).value, "say \"hi\"\\n");
        assert_eq!(one(r#"a="line\nbreak""#).value, "line\nbreak");
        let several = parse(r#"{severity="rollback", namespace=~"prod|prod-.*"}"#).unwrap();
        assert_eq!(several.len(), 2);
        assert_eq!(several[1].to_string(), r#"namespace=~"prod|prod-.*""#);
        let comma_in_value = parse(r#"a="x,y", b="z""#).unwrap();
        assert_eq!(comma_in_value[0].value, "x,y");
    }

    #[test]
    fn refuses_what_is_not_a_matcher() {
        for bad in [
            "",
            "{}",
            "=x",
            "a",
            "a == b",
            r#"a="x"#,
            r#"a="x" y"#,
            r#"a=x"y"#,
            r#"a=~"(""#,
            r#"{a="b""#,
            r#"a="\q""#,
            "1a=b",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn matches_as_alertmanager_does() {
        let l = labels(&[("namespace", "prod-eu"), ("severity", "rollback")]);
        assert!(one(r#"namespace=~"prod|prod-.*""#).matches(&l));
        // Anchored: a regex must match the whole value.
        assert!(!one(r#"namespace=~"prod""#).matches(&l));
        assert!(one(r#"namespace!~"dev.*""#).matches(&l));
        assert!(one("severity!=page").matches(&l));
        // An absent label is the empty string.
        assert!(one(r#"team="""#).matches(&l));
        assert!(!one(r#"team!="""#).matches(&l));
        assert!(one(r#"team=~".*""#).matches(&l));
        assert!(!one(r#"severity="Rollback""#).matches(&l));
    }
}
