//! Markdown as HTML, for the pull requests the local forge keeps: rendered as GitHub would show
//! them, but safe for a page whose text comes partly from alerts. Raw HTML is shown as text
//! (HTML comments, GitHub's hidden markers, are left out), links go only to http(s) or the
//! service's own pages, and images become links (the page loads nothing).

use pulldown_cmark::{html, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};

pub fn to_html(markdown: &str) -> String {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    // An HTML block comes a line at a time: a comment over several lines is left out whole.
    let mut in_comment = false;
    let events = Parser::new_ext(markdown, options).filter_map(move |event| match event {
        Event::Html(raw) if in_comment => {
            in_comment = !raw.contains("-->");
            None
        }
        Event::Html(raw) | Event::InlineHtml(raw) if raw.trim_start().starts_with("<!--") => {
            in_comment = !raw.contains("-->");
            None
        }
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Some(Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        })),
        Event::Start(Tag::Image {
            dest_url,
            title,
            id,
            ..
        }) => Some(Event::Start(Tag::Link {
            link_type: LinkType::Inline,
            dest_url: safe_url(dest_url),
            title,
            id,
        })),
        Event::End(TagEnd::Image) => Some(Event::End(TagEnd::Link)),
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// The URL when it is http(s) or a path on this service; else none (`javascript:`, `data:`...).
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim_start().to_ascii_lowercase();
    let safe = lower.starts_with("https://")
        || lower.starts_with("http://")
        || (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with('#');
    if safe {
        url
    } else {
        CowStr::Borrowed("")
    }
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn renders_what_pull_request_bodies_use() {
        let html = to_html(
            "<!-- revertbot reverts abc -->\n## Why\n\n- **one** `code`\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[commit](https://github.com/acme/gitops/commit/abc)\n\n```diff\n-a\n+b\n```\n",
        );
        assert!(!html.contains("revertbot reverts"), "{html}");
        assert!(html.contains("<h2>Why</h2>"), "{html}");
        assert!(
            html.contains("<li><strong>one</strong> <code>code</code></li>"),
            "{html}"
        );
        assert!(html.contains("<td>1</td>"), "{html}");
        assert!(
            html.contains("<a href=\"https://github.com/acme/gitops/commit/abc\">commit</a>"),
            "{html}"
        );
        assert!(html.contains("-a\n+b"), "{html}");
    }

    #[test]
    fn a_comment_over_several_lines_is_left_out_whole() {
        let html = to_html("<!-- revertbot\nreverts abc\n-->\nText after.\n");
        assert!(
            !html.contains("reverts abc") && !html.contains("--&gt;"),
            "{html}"
        );
        assert!(html.contains("Text after."), "{html}");
    }

    #[test]
    fn raw_html_is_text_and_only_web_links_are_kept() {
        let html = to_html(
            "<script>alert(1)</script>\n\ntext <img src=x onerror=alert(1)> [x](javascript:alert(1)) ![i](https://e.example/i.png) [y](//evil.example)\n",
        );
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{html}"
        );
        assert!(!html.contains("javascript:"), "{html}");
        assert!(!html.contains("//evil.example\""), "{html}");
        assert!(
            html.contains("<a href=\"https://e.example/i.png\">i</a>"),
            "{html}"
        );
    }
}
