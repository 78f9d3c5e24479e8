//! HTML as preview text. mail-parser's `html_to_text` breaks lines only at
//! `<br>` and `</p>`, so the blocks and table cells of HTML-only mail (a
//! newsletter, a list) ran their words together: "RabattDezember",
//! "Punkt einsPunkt zwei". Here a block element's end breaks the line and
//! any block or cell boundary separates words, as a browser lays them out.

use mail_parser::decoders::html::html_to_text;

/// Elements a browser lays out as blocks (`p` mail-parser handles itself).
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "dd",
    "div",
    "dl",
    "dt",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "pre",
    "section",
    "table",
    "tr",
    "ul",
];

/// Elements whose text a browser never shows (HTML §4.2.6, §4.12.1).
const HIDDEN: &[&str] = &["style", "script"];

/// What follows the closing tag of `name` in `html` (the text after an
/// opening one), or nothing when it is never closed.
fn after_closing_tag<'a>(html: &'a str, name: &str) -> &'a str {
    let mut from = 0;
    while let Some(found) = html.get(from..).and_then(|r| r.find("</")) {
        let at = from + found;
        let candidate = html.get(at + 2..at + 2 + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name)) {
            let after = html.get(at..).unwrap_or_default();
            return after
                .find('>')
                .map_or("", |end| after.get(end + 1..).unwrap_or_default());
        }
        from = at + 2;
    }
    ""
}

/// Elements set apart from their neighbours on one line.
const CELLS: &[&str] = &["td", "th"];

/// The readable text of `html`, for the preview.
pub(super) fn preview_text(html: &str) -> String {
    let mut marked = String::with_capacity(html.len().saturating_add(html.len() / 16));
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        let (before, tag) = rest.split_at(at);
        marked.push_str(before);
        let inner = tag.get(1..).unwrap_or_default();
        let closing = inner.starts_with('/');
        let name_len = inner
            .trim_start_matches('/')
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(inner.len());
        let name = inner
            .trim_start_matches('/')
            .get(..name_len)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if BLOCKS.contains(&name.as_str()) {
            marked.push_str(if closing { "<br>" } else { " " });
        } else if CELLS.contains(&name.as_str()) {
            marked.push(' ');
        }
        if !closing && HIDDEN.contains(&name.as_str()) {
            // Its text is never shown; mail-parser skipped it only before
            // `<body>`, and a newsletter's CSS became its preview.
            rest = after_closing_tag(inner, &name);
            continue;
        }
        marked.push('<');
        rest = inner;
        if name_len > 0 {
            let (tag, after) = tag_to_its_end(inner);
            marked.push_str(&tag);
            rest = after;
        }
    }
    marked.push_str(rest);
    html_to_text(&marked)
}

/// The rest of a tag after its `<`, to its `>`, and what follows it. A
/// `<` or `>` inside a quoted attribute value (`title="a > b"`) is made a
/// space: mail-parser ends a tag at any `>`, so the rest of the value
/// showed in the preview.
fn tag_to_its_end(inner: &str) -> (String, &str) {
    let mut tag = String::new();
    let mut quote = None;
    let mut after_equals = false;
    for (at, c) in inner.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) if matches!(c, '<' | '>') => {
                tag.push(' ');
                continue;
            }
            Some(_) => {}
            None if c == '>' => {
                tag.push(c);
                return (tag, inner.get(at + 1..).unwrap_or_default());
            }
            None if after_equals && matches!(c, '"' | '\'') => quote = Some(c),
            None => {}
        }
        if quote.is_none() && !c.is_ascii_whitespace() {
            after_equals = c == '=';
        }
        tag.push(c);
    }
    (tag, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::mail::preview::Preview;

    fn preview(html: &str) -> String {
        let mut preview = Preview::new(1000);
        preview.push_part(&preview_text(html));
        preview.finish().0
    }

    #[test]
    fn blocks_and_cells_do_not_run_words_together() {
        assert_eq!(
            preview("<ul><li>Punkt eins</li><li>Punkt zwei</li></ul>"),
            "Punkt eins\nPunkt zwei"
        );
        assert_eq!(
            preview(
                "<table><tr><td>20 % Rabatt</td><td>ab 5 &euro;</td></tr><tr><td>Dezember</td></tr></table>"
            ),
            "20 % Rabatt ab 5 €\nDezember"
        );
        assert_eq!(preview("<DIV>Hello</DIV><div>World</div>"), "Hello\nWorld");
    }

    #[test]
    fn a_bracket_inside_a_quoted_attribute_does_not_end_the_tag() {
        assert_eq!(
            preview("<p title=\"a > b\" class='<x>'>Hello</p><a href = \"?q=>\">there</a>"),
            "Hello\nthere"
        );
        // Unquoted, or a quote not after '=': the tag ends at its '>'.
        assert_eq!(preview("<p x=a>b>Hi</p><p x\">Yo</p>"), "b>Hi\nYo");
    }

    #[test]
    fn style_and_script_inside_the_body_are_not_text() {
        assert_eq!(
            preview(
                "<body><style>.x { color: red; }</style><p>Hello <SCRIPT>x()</Script>there</p>"
            ),
            "Hello there"
        );
        assert_eq!(preview("<p>a</p><style>never closed"), "a");
    }

    #[test]
    fn inline_elements_stay_joined() {
        assert_eq!(
            preview("<p>Dear <b>Ada</b>,</p><p>see <a href=x>the</a>n</p>"),
            "Dear Ada,\nsee then"
        );
    }
}
