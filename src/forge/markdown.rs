//! Making untrusted text (alert labels and annotations, commit subjects) safe in a pull
//! request on GitHub, GitLab or Gitea/Forgejo: no Markdown or HTML takes effect, no mention
//! notifies anyone, no reference (`#123`, and each forge's own: GitLab's `!123` or `~label`,
//! Gitea's `!123`) links or closes anything, and no field can grow the body past the forge's
//! limits.

pub use crate::https::query_component;

/// GitHub rejects pull request and comment bodies longer than this (characters).
pub const GITHUB_BODY_LIMIT: usize = 65_536;

/// GitLab checks a merge request description's size in bytes against 1 MiB
/// (`Issuable::DESCRIPTION_LENGTH_MAX`, a `bytesize` validation); UTF-8 spends at most four
/// bytes on a character, so this many characters always fit.
const GITLAB_DESCRIPTION_LIMIT: usize = 1_048_576 / 4;

/// GitLab rejects notes longer than this many characters (`Gitlab::Database::MAX_TEXT_SIZE_LIMIT`).
const GITLAB_NOTE_LIMIT: usize = 1_000_000;

/// Gitea and Forgejo set no limit of their own: the API takes any `body`, and `issue.content`
/// and `comment.content` are LONGTEXT on MySQL (since Gitea 1.16's migration v191; 64 KiB TEXT
/// before it) and unbounded on the other databases. GitHub's limit is kept, so that one body
/// fits every forge and a reader never gets more than GitHub would show.
const GITEA_BODY_LIMIT: usize = 65_536;

/// Zero-width space, written as an entity so it survives copy and paste visibly in the source.
const BREAK: &str = "&#8203;";

/// The forge a pull request's text is written for: its Markdown and the references it finds in
/// the rendered text (which link, notify or close), where its commit pages are, how long a body
/// may be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dialect {
    /// GitHub Flavored Markdown.
    #[default]
    GitHub,
    /// GitLab Flavored Markdown, in merge requests and their notes.
    GitLab,
    /// Gitea's Markdown, which Forgejo keeps.
    Gitea,
}

/// Which side of a character a zero-width break goes to split a reference there.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
}

impl Dialect {
    /// The most characters a pull request body may have.
    pub const fn body_limit(self) -> usize {
        match self {
            Dialect::GitHub => GITHUB_BODY_LIMIT,
            Dialect::GitLab => GITLAB_DESCRIPTION_LIMIT,
            Dialect::Gitea => GITEA_BODY_LIMIT,
        }
    }

    /// The most characters a comment may have.
    pub const fn comment_limit(self) -> usize {
        match self {
            Dialect::GitHub => GITHUB_BODY_LIMIT,
            Dialect::GitLab => GITLAB_NOTE_LIMIT,
            Dialect::Gitea => GITEA_BODY_LIMIT,
        }
    }

    /// The web page of commit `sha` in the repository at `repo_web_url`.
    pub fn commit_url(self, repo_web_url: &str, sha: &str) -> String {
        match self {
            Dialect::GitHub | Dialect::Gitea => format!("{repo_web_url}/commit/{sha}"),
            Dialect::GitLab => format!("{repo_web_url}/-/commit/{sha}"),
        }
    }

    /// What the forge calls a pull request.
    pub const fn pull_noun(self) -> &'static str {
        match self {
            Dialect::GitHub | Dialect::Gitea => "pull request",
            Dialect::GitLab => "merge request",
        }
    }

    /// Whether references in a title are broken too. GitLab renders references in a merge
    /// request's title and notifies the users it mentions; Gitea links them there and reads
    /// its cross-references, `closes #1` included, from the title as from the body. GitHub's
    /// titles are left as they were: GitHub neither notifies a mention nor closes an issue from
    /// a title, and `#123` there is only a link.
    const fn breaks_title_references(self) -> bool {
        !matches!(self, Dialect::GitHub)
    }

    /// Where the character at `i` needs a zero-width break so that no reference, mention or
    /// wiki link the forge finds in the rendered text starts (or, for GitLab's `project>`, ends)
    /// there. Each forge matches these in text nodes after rendering, where a backslash escape
    /// is gone (GitLab alone keeps it, for `@#!$&~%^`): a break between the sign and what
    /// follows is what every one of them misses.
    fn break_at(self, chars: &[char], i: usize) -> Option<Side> {
        let c = chars[i];
        match self {
            // `@user`, `@org/team`, `#123`, `owner/repo#123`. `GH-123` and commit ids are left
            // as revertbot has always written them: they link this repository's own issues and
            // commits, and notify no one.
            Dialect::GitHub => matches!(c, '@' | '#').then_some(Side::After),
            // Users, issues, merge requests, snippets, epics, labels, milestones, iterations
            // (`*iteration:`), `[issue:1]`-style and `[[wiki]]` references, `[[_TOC_]]`, inline
            // diffs (`{+ +}`, `[- -]`), `GL-123` and Jira keys; `group/project>` ends in `>`.
            Dialect::GitLab => match c {
                '@' | '#' | '!' | '$' | '&' | '~' | '%' | '*' | '[' | '{' => Some(Side::After),
                '>' => Some(Side::Before),
                '-' if issue_key_dash(chars, i) => Some(Side::After),
                _ => None,
            },
            // Users, issues and pull requests (`!123` is one), time logs (`@1h`), `[[links]]`,
            // `> [!NOTE]` callouts, and external trackers' `ABC-123`.
            Dialect::Gitea => match c {
                '@' | '#' | '!' | '[' => Some(Side::After),
                '-' if issue_key_dash(chars, i) => Some(Side::After),
                _ => None,
            },
        }
    }

    /// Writes `c` so that CommonMark and the forge's extensions read it as itself. `first`: it
    /// starts the line.
    fn escape(self, out: &mut String, c: char, first: bool) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '|' => out.push_str("&#124;"),
            '\r' | '\n' | '\t' => out.push(' '),
            // GitLab and Gitea render `$x$` as math, and an entity is no delimiter to either.
            '$' if self != Dialect::GitHub => out.push_str("&#36;"),
            // Gitea reads `\(x\)` as inline math and a line starting `\[` as a math block, so
            // there brackets are entities, which cannot make a link either.
            '(' | ')' | '[' | ']' if self == Dialect::Gitea => {
                write_entity(out, c);
            }
            '@' | '#' | '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '{' | '}' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // GitLab skips a reference whose sign is backslash-escaped (the break does the rest);
            // `%` starts its milestones'.
            '%' if self == Dialect::GitLab => out.push_str("\\%"),
            // A list or heading marker where a line could start.
            '-' | '+' | '=' if first => {
                out.push('\\');
                out.push(c);
            }
            // A GitLab quick action (`/merge`) where a line could start.
            '/' if first && self == Dialect::GitLab => out.push_str("\\/"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

/// Whether the `-` at `i` joins an issue key such as `GL-123` or `JIRA-42`: a digit after it, and
/// before it a run of letters, digits and underscores with a capital in it (so that dates and
/// `web-1` keep theirs).
fn issue_key_dash(chars: &[char], i: usize) -> bool {
    let digit_after = chars.get(i + 1).is_some_and(char::is_ascii_digit);
    digit_after
        && chars[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .any(char::is_ascii_uppercase)
}

fn write_entity(out: &mut String, c: char) {
    use std::fmt::Write;
    write!(out, "&#{};", u32::from(c)).ok();
}

/// Escapes text for use inside a Markdown paragraph or table cell, on one line, in the forge's
/// dialect.
pub fn inline(text: &str, max_chars: usize, dialect: Dialect) -> String {
    // Control characters are made what they are written as (a line break or tab a space, the
    // rest nothing) before references are looked for: a NUL between `TOC-` and `1` would
    // otherwise hide the reference the two make once it is gone.
    let text: String = truncate(text, max_chars)
        .chars()
        .filter_map(|c| match c {
            '\r' | '\n' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect();
    let mut out = with_breaks(&text, dialect, BREAK, |out, c, i| {
        dialect.escape(out, c, i == 0)
    });
    // `1. text` would start an ordered list in a block quote.
    if let Some(dot) = out.find(['.', ')']) {
        if dot > 0 && out[..dot].bytes().all(|b| b.is_ascii_digit()) {
            out.insert(dot, '\\');
        }
    }
    out
}

/// `text`, each character written by `write` (given its index), with `mark` wherever the
/// dialect breaks a reference.
fn with_breaks(
    text: &str,
    dialect: Dialect,
    mark: &str,
    mut write: impl FnMut(&mut String, char, usize),
) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    for (i, &c) in chars.iter().enumerate() {
        let side = dialect.break_at(&chars, i);
        if side == Some(Side::Before) {
            out.push_str(mark);
        }
        write(&mut out, c, i);
        if side == Some(Side::After) {
            out.push_str(mark);
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

/// Escapes multi-line text as a Markdown block quote. A line's leading blanks go (after `> `,
/// four of them would start a code block and one before `- ` a list, and no reader sees them),
/// and so do its control characters, so that its first character is the one [`inline`] escapes
/// as a line's start.
pub fn quote(text: &str, max_chars: usize, dialect: Dialect) -> String {
    truncate(text, max_chars)
        .lines()
        .map(|line| {
            let line: String = line
                .chars()
                .filter(|c| !c.is_control() || matches!(c, '\t' | '\r'))
                .collect();
            let line = line.trim_start_matches([' ', '\t', '\r']);
            format!("> {}", inline(line, usize::MAX, dialect))
        })
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

/// Plain text on one line: no control characters, bounded.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    truncate(one_line.trim(), max_chars).into_owned()
}

/// Plain text for a pull request title: [`one_line`], and where the forge finds references in
/// titles, none there (a title is no Markdown: the break is the character itself).
pub fn title_text(text: &str, max_chars: usize, dialect: Dialect) -> String {
    let title = one_line(text, max_chars);
    if !dialect.breaks_title_references() {
        return title;
    }
    with_breaks(&title, dialect, "\u{200B}", |out, c, _| out.push(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    use regex::Regex;

    const DIALECTS: [Dialect; 3] = [Dialect::GitHub, Dialect::GitLab, Dialect::Gitea];

    /// Pieces of text that make a reference, a link, HTML, math or Markdown structure on one
    /// forge or another.
    #[rustfmt::skip]
    const PIECES: &[&str] = &[
        "#", "!", "~", "%", "@", "$", "&", "*", "_", "\\", "`", "[", "]", "(", ")", "<", ">", "{",
        "}", "|", "^", "-", "+", "=", ".", ":", "/", "\"", "'", " ", "    ", "\n", "\r\n", "\r",
        "\t", "0", "1", "42", "a", "Z", "bug", "GL", "ABC", "iteration", "issue", "TOC", "_TOC_",
        "NOTE", "user", "org/repo", "http://x.io", "&#8203;", "&amp;", "\u{200B}", "é", "😀",
        "\u{0}", "\u{b}",
    ];

    /// Untrusted text, mostly built from [`PIECES`].
    fn hostile() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::collection::vec(prop::sample::select(PIECES), 0..32).prop_map(|p| p.concat()),
            1 => any::<String>(),
        ]
    }

    /// Each forge's references, mentions and wiki links, as they would be found in rendered text.
    /// Bare URLs and commit ids are left out: every forge links those, to what they say.
    fn references(dialect: Dialect) -> Vec<Regex> {
        let patterns: &[&str] = match dialect {
            Dialect::GitHub => &[r"[@#]\w"],
            Dialect::GitLab => &[
                r#"[@#!$&~%][\w"]"#,
                r"\*iteration:",
                r"(?i)\[(\[|\w+:|toc\])",
                r"[\w.-]>",
                r"[{\[][+-]",
                r"(\b[A-Z][A-Z0-9_]*|GL)-\d",
            ],
            Dialect::Gitea => &[
                r"[#!]\d",
                r"@[\w-]",
                r"\[\[",
                r"(?i)\[!(note|tip|important|warning|caution)\]",
                r"\b[A-Z]{1,10}-[1-9]",
            ],
        };
        patterns.iter().map(|p| Regex::new(p).unwrap()).collect()
    }

    fn reference_in(text: &str, dialect: Dialect) -> Option<String> {
        references(dialect)
            .iter()
            .find_map(|r| r.find(text).map(|m| m.as_str().to_string()))
    }

    /// The extensions each forge has; math only where `$` is escaped for it (GitHub's `$` is
    /// left as it was).
    fn options(dialect: Dialect) -> Options {
        let gfm = Options::ENABLE_TABLES
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_GFM
            | Options::ENABLE_WIKILINKS;
        match dialect {
            Dialect::GitHub => gfm,
            Dialect::GitLab | Dialect::Gitea => gfm | Options::ENABLE_MATH,
        }
    }

    /// The text `markdown` renders to, or the first event that is not text or whitespace
    /// (`allowed` says which blocks may hold it).
    fn rendered(
        markdown: &str,
        dialect: Dialect,
        allowed: fn(&Event) -> bool,
    ) -> Result<String, String> {
        let mut text = String::new();
        for event in Parser::new_ext(markdown, options(dialect)) {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::SoftBreak | Event::HardBreak | Event::End(TagEnd::Paragraph) => {
                    text.push('\n')
                }
                e if allowed(&e) => {}
                e => return Err(format!("{e:?} in {markdown:?}")),
            }
        }
        Ok(text)
    }

    fn paragraph(e: &Event) -> bool {
        matches!(e, Event::Start(Tag::Paragraph))
    }

    fn block_quote(e: &Event) -> bool {
        matches!(
            e,
            Event::Start(Tag::Paragraph | Tag::BlockQuote(None))
                | Event::End(TagEnd::BlockQuote(None))
        )
    }

    /// What a reader sees of untrusted text: control characters gone, the others as they are.
    fn visible(text: &str) -> String {
        text.chars()
            .map(|c| {
                if matches!(c, '\r' | '\n' | '\t') {
                    ' '
                } else {
                    c
                }
            })
            .filter(|c| !c.is_control() && *c != '\u{200B}')
            .collect()
    }

    fn words(text: &str) -> Vec<String> {
        text.replace('\u{200B}', "")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    /// Inline text in its place, mid-line in a paragraph, renders as nothing but the text, the
    /// same but for zero-width breaks, and with no reference of the forge's left whole.
    fn check_inline(text: &str, dialect: Dialect) -> Result<(), TestCaseError> {
        let out = inline(text, usize::MAX, dialect);
        prop_assert!(!out.contains('\n'), "{:?}", out);
        let line =
            rendered(&format!("x {out} y"), dialect, paragraph).map_err(TestCaseError::fail)?;
        let shown = line
            .trim_end_matches('\n')
            .strip_prefix("x ")
            .and_then(|l| l.strip_suffix(" y"));
        prop_assert_eq!(
            shown.map(|s| s.replace('\u{200B}', "")),
            Some(visible(text)),
            "{:?}",
            out
        );
        let found = reference_in(&line, dialect);
        prop_assert!(
            found.is_none(),
            "{:?} left whole in {:?} from {:?}",
            found,
            out,
            text
        );
        check_math_source(&out, dialect)
    }

    /// GitLab and Gitea find math in the source: no `$`, and on Gitea no `\(` or `\[`.
    fn check_math_source(out: &str, dialect: Dialect) -> Result<(), TestCaseError> {
        if dialect != Dialect::GitHub {
            prop_assert!(!out.contains('$'), "{:?}", out);
        }
        if dialect == Dialect::Gitea {
            prop_assert!(!out.contains("\\(") && !out.contains("\\["), "{:?}", out);
        }
        Ok(())
    }

    /// A quote renders as a block quote of paragraphs of the text's words, with no reference of
    /// the forge's left whole.
    fn check_quote(text: &str, dialect: Dialect) -> Result<(), TestCaseError> {
        let out = quote(text, usize::MAX, dialect);
        let shown = rendered(&out, dialect, block_quote).map_err(TestCaseError::fail)?;
        prop_assert_eq!(
            words(&shown),
            words(&visible(&text.replace('\n', " "))),
            "{:?}",
            out
        );
        let found = reference_in(&shown, dialect);
        prop_assert!(
            found.is_none(),
            "{:?} left whole in {:?} from {:?}",
            found,
            out,
            text
        );
        check_math_source(&out, dialect)
    }

    /// A title is the one-line text with zero-width breaks added, none on GitHub, and no
    /// reference of the forge's left whole.
    fn check_title(text: &str, dialect: Dialect) -> Result<(), TestCaseError> {
        let title = title_text(text, usize::MAX, dialect);
        prop_assert!(!title.chars().any(char::is_control), "{:?}", title);
        let plain = one_line(text, usize::MAX);
        if dialect == Dialect::GitHub {
            prop_assert_eq!(title, plain);
            return Ok(());
        }
        prop_assert_eq!(title.replace('\u{200B}', ""), plain.replace('\u{200B}', ""));
        let found = reference_in(&title, dialect);
        prop_assert!(found.is_none(), "{:?} left whole in {:?}", found, title);
        Ok(())
    }

    /// Found by `inline_on_gitea`: a NUL, dropped, joined `TOC-` and `1` into a reference.
    #[test]
    fn a_control_character_dropped_does_not_join_a_reference() {
        for dialect in [Dialect::GitHub, Dialect::GitLab, Dialect::Gitea] {
            for text in ["TOC-\u{0}1", "#\u{7}12", "!\t3", "acme/app\u{1b}#4"] {
                check_inline(text, dialect).unwrap();
                check_quote(text, dialect).unwrap();
            }
        }
    }

    proptest! {
        #[test]
        fn inline_on_github(text in hostile()) { check_inline(&text, Dialect::GitHub)?; }

        #[test]
        fn inline_on_gitlab(text in hostile()) { check_inline(&text, Dialect::GitLab)?; }

        #[test]
        fn inline_on_gitea(text in hostile()) { check_inline(&text, Dialect::Gitea)?; }

        #[test]
        fn quote_on_github(text in hostile()) { check_quote(&text, Dialect::GitHub)?; }

        #[test]
        fn quote_on_gitlab(text in hostile()) { check_quote(&text, Dialect::GitLab)?; }

        #[test]
        fn quote_on_gitea(text in hostile()) { check_quote(&text, Dialect::Gitea)?; }

        #[test]
        fn titles_on_each_forge(text in hostile()) {
            for dialect in DIALECTS {
                check_title(&text, dialect)?;
            }
        }
    }

    #[test]
    fn github_escapes_as_it_did() {
        assert_eq!(
            inline(
                "@octocat #1 !2 ~bug %v1 $x$ [a](b) GL-5 acme/app>",
                100,
                Dialect::GitHub
            ),
            r"\@&#8203;octocat \#&#8203;1 \!2 \~bug %v1 $x$ \[a\]\(b\) GL-5 acme/app&gt;"
        );
        assert_eq!(
            title_text("Revert web (closes #1 @octocat)", 100, Dialect::GitHub),
            "Revert web (closes #1 @octocat)"
        );
    }

    #[test]
    fn gitlab_references_are_broken() {
        let cases = [
            ("!12", r"\!&#8203;12"),
            ("~bug", r"\~&#8203;bug"),
            ("~\"a label\"", r"\~&#8203;&quot;a label&quot;"),
            ("%v1.2", r"\%&#8203;v1.2"),
            ("$3", "&#36;&#8203;3"),
            ("&4", "&amp;&#8203;4"),
            ("*iteration:\"x\"", r"\*&#8203;iteration:&quot;x&quot;"),
            ("[issue:7]", r"\[&#8203;issue:7\]"),
            ("[[_TOC_]]", r"\[&#8203;\[&#8203;\_TOC\_\]\]"),
            ("acme/app>", "acme/app&#8203;&gt;"),
            ("GL-5 JIRA-6 2026-11", "GL-&#8203;5 JIRA-&#8203;6 2026-11"),
            ("{+ added +}", r"\{&#8203;+ added +\}"),
            ("/merge", r"\/merge"),
            ("@all", r"\@&#8203;all"),
        ];
        for (text, escaped) in cases {
            assert_eq!(inline(text, 100, Dialect::GitLab), escaped, "{text}");
        }
    }

    #[test]
    fn gitea_references_and_math_are_broken() {
        let cases = [
            ("!12", r"\!&#8203;12"),
            ("#12", r"\#&#8203;12"),
            ("acme/app!3", r"acme/app\!&#8203;3"),
            ("@1h", r"\@&#8203;1h"),
            ("[[Home]]", "&#91;&#8203;&#91;&#8203;Home&#93;&#93;"),
            ("ABC-12", "ABC-&#8203;12"),
            ("(a) $x$", "&#40;a&#41; &#36;x&#36;"),
            ("\\(y\\)", r"\\&#40;y\\&#41;"),
            // Not Gitea's: left as GitHub writes them.
            ("~bug %v1 &4", r"\~bug %v1 &amp;4"),
        ];
        for (text, escaped) in cases {
            assert_eq!(inline(text, 100, Dialect::Gitea), escaped, "{text}");
        }
    }

    #[test]
    fn titles_break_references_where_the_forge_reads_them() {
        let text = "Revert web (closes #1, !2 @octocat GL-3)";
        assert_eq!(
            title_text(text, 100, Dialect::GitLab),
            "Revert web (closes #\u{200B}1, !\u{200B}2 @\u{200B}octocat GL-\u{200B}3)"
        );
        assert_eq!(
            title_text(text, 100, Dialect::Gitea),
            "Revert web (closes #\u{200B}1, !\u{200B}2 @\u{200B}octocat GL-\u{200B}3)"
        );
        assert_eq!(title_text(text, 100, Dialect::GitHub), text);
    }

    #[test]
    fn quotes_drop_leading_blanks() {
        assert_eq!(
            quote("  - item\n      code\n\t1. first", 100, Dialect::GitHub),
            "> \\- item\n> code\n> 1\\. first"
        );
    }

    #[test]
    fn each_forge_has_its_limits_and_commit_links() {
        assert_eq!(Dialect::default(), Dialect::GitHub);
        assert_eq!(Dialect::GitHub.body_limit(), 65_536);
        assert_eq!(Dialect::GitLab.body_limit(), 262_144);
        assert_eq!(Dialect::GitLab.comment_limit(), 1_000_000);
        assert_eq!(Dialect::Gitea.body_limit(), 65_536);
        let repo = "https://forge.example/acme/gitops";
        assert_eq!(
            Dialect::GitHub.commit_url(repo, "abc"),
            "https://forge.example/acme/gitops/commit/abc"
        );
        assert_eq!(
            Dialect::GitLab.commit_url(repo, "abc"),
            "https://forge.example/acme/gitops/-/commit/abc"
        );
        assert_eq!(
            Dialect::Gitea.commit_url(repo, "abc"),
            "https://forge.example/acme/gitops/commit/abc"
        );
    }

    #[test]
    fn neutralises_markdown_html_mentions_and_references() {
        let hostile = "<img src=x onerror=alert(1)> **bold** [x](javascript:alert(1)) @octocat @org/team fixes #123 `code` | cell";
        let out = inline(hostile, 1000, Dialect::GitHub);
        assert!(!out.contains('<') && !out.contains('>'), "{out}");
        assert!(!out.contains("**") && !out.contains("]("), "{out}");
        assert!(out.contains("\\`code\\`"), "{out}");
        assert!(
            out.contains("\\@&#8203;octocat") && out.contains("\\#&#8203;123"),
            "{out}"
        );
        assert!(!out.contains('|'), "{out}");
        assert!(!inline("a\nb\r\nc", 100, Dialect::GitHub).contains('\n'));
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
        let out = inline(&long, 100, Dialect::GitHub);
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
