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
        marked.push('<');
        rest = inner;
    }
    marked.push_str(rest);
    html_to_text(&marked)
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
    fn inline_elements_stay_joined() {
        assert_eq!(
            preview("<p>Dear <b>Ada</b>,</p><p>see <a href=x>the</a>n</p>"),
            "Dear Ada,\nsee then"
        );
    }
}
