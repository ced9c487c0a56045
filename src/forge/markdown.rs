//! Making untrusted text (alert labels and annotations, commit subjects) safe in a GitHub
//! pull request: no Markdown or HTML takes effect, no @-mention notifies anyone, no `#123`
//! links an issue, and no field can grow the body past GitHub's limits.

/// GitHub rejects pull request and comment bodies longer than this (characters).
pub const GITHUB_BODY_LIMIT: usize = 65_536;

/// Zero-width space, written as an entity so it survives copy and paste visibly in the source.
const BREAK: &str = "&#8203;";

/// Escapes text for use inside a Markdown paragraph or table cell, on one line.
pub fn inline(text: &str, max_chars: usize) -> String {
    let text = truncate(text, max_chars);
    let mut out = String::with_capacity(text.len() + 16);
    for (i, c) in text.chars().enumerate() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '\r' | '\n' | '\t' => out.push(' '),
            // Break mentions (`@user`, `@org/team`) and references (`#123`).
            '@' | '#' => {
                out.push('\\');
                out.push(c);
                out.push_str(BREAK);
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '{' | '}' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // A list or heading marker where a line could start.
            '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    // `1. text` would start an ordered list in a block quote.
    if let Some(dot) = out.find(['.', ')']) {
        if dot > 0 && out[..dot].bytes().all(|b| b.is_ascii_digit()) {
            out.insert(dot, '\\');
        }
    }
    out
}

/// Untrusted text as a code span on one line: shown literally (no Markdown, HTML, mention or
/// reference takes effect), fenced with more backticks than any run inside it.
pub fn code(text: &str, max_chars: usize) -> String {
    let text: String = truncate(text, max_chars)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // A span starting or ending with a backtick needs a space inside the fence, which GitHub
    // strips; so does one that would otherwise be only spaces.
    let pad = if text.starts_with('`') || text.ends_with('`') || text.trim().is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Escapes multi-line text as a Markdown block quote.
pub fn quote(text: &str, max_chars: usize) -> String {
    truncate(text, max_chars)
        .lines()
        .map(|line| format!("> {}", inline(line, usize::MAX)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A link destination that cannot break out of `[text](<...>)`: only http(s) URLs are
/// kept, with spaces, angle brackets and parentheses percent-encoded.
pub fn url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let lower = raw.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) || raw.len() > 2048 {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            ' ' => out.push_str("%20"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '(' => out.push_str("%28"),
            ')' => out.push_str("%29"),
            '"' => out.push_str("%22"),
            '`' => out.push_str("%60"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Some(out)
}

/// Percent-encodes a URL query component.
pub fn query_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// At most `max_chars` characters, with a visible mark when cut.
pub fn truncate(text: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max_chars) {
        None => text.into(),
        Some((cut, _)) => format!(
            "{}… (truncated, {} characters in all)",
            &text[..cut],
            text.chars().count()
        )
        .into(),
    }
}

/// Plain text for a pull request title: one line, no control characters, bounded.
pub fn title_text(text: &str, max_chars: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(one_line.trim(), max_chars).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_markdown_html_mentions_and_references() {
        let hostile = "<img src=x onerror=alert(1)> **bold** [x](javascript:alert(1)) @octocat @org/team fixes #123 `code` | cell";
        let out = inline(hostile, 1000);
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        assert!(!out.contains("**") && !out.contains("]("), "{out}");
        assert!(out.contains("\\`code\\`"), "{out}");
        assert!(
            out.contains("\\@&#8203;octocat") && out.contains("\\#&#8203;123"),
            "{out}"
        );
        assert!(!out.contains('|'), "{out}");
        assert!(!inline("a\nb\r\nc", 100).contains('\n'));
    }

    #[test]
    fn code_spans_show_any_text_literally() {
        assert_eq!(
            code("apps/web/kustomization.yaml", 100),
            "`apps/web/kustomization.yaml`"
        );
        assert_eq!(code("a`b", 100), "``a`b``");
        assert_eq!(code("`x``", 100), "``` `x`` ```");
        assert_eq!(code("line\nbreak", 100), "`line break`");
        assert_eq!(code("", 100), "`  `");
    }

    #[test]
    fn caps_fields() {
        let long = "x".repeat(10_000);
        let out = inline(&long, 100);
        assert!(out.starts_with(&"x".repeat(100)));
        assert!(out.contains("truncated, 10000 characters"));
        assert!(out.chars().count() < 200);
        assert_eq!(truncate("éé", 1), "é… (truncated, 2 characters in all)");
    }

    #[test]
    fn keeps_only_http_links_that_cannot_break_out() {
        assert_eq!(url("javascript:alert(1)"), None);
        assert_eq!(url("data:text/html,x"), None);
        assert_eq!(
            url("http://prometheus:9090/graph?g0.expr=sum (x) > 0&g0.tab=1").as_deref(),
            Some("http://prometheus:9090/graph?g0.expr=sum%20%28x%29%20%3E%200&g0.tab=1")
        );
        assert_eq!(query_component("{a=\"b\"}"), "%7Ba%3D%22b%22%7D");
    }
}
