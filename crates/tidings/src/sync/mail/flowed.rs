//! `text/plain; format=flowed` (RFC 3676) read as its paragraphs.
//!
//! A flowed text ends a line with a space where the writer only wrapped
//! it (a soft break), and stuffs a space before a line that starts with a
//! space, `>` or `From `. Served as written, a handset shows the wrapping
//! of the writer's screen and stray spaces; mail clients join the soft
//! breaks. Here each paragraph becomes one line, with its quote depth.

use mail_parser::{MessagePart, MimeHeaders};

/// Whether `part` is `text/plain` with `format=flowed`, and whether it
/// also says `delsp=yes` (the soft break's space is the writer's, not
/// the text's).
pub(super) fn flowed(part: &MessagePart<'_>) -> Option<bool> {
    let ct = part.content_type()?;
    let plain = ct.ctype().eq_ignore_ascii_case("text")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("plain"));
    let is = |name: &str, value: &str| {
        ct.attribute(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    (plain && is("format", "flowed")).then(|| is("delsp", "yes"))
}

/// `text` with its soft line breaks joined (RFC 3676 §4.2): a line ending
/// in a space (not the signature separator `-- `) flows into the next of
/// the same quote depth; space-stuffing is removed (§4.4), and with
/// `delsp` the soft break's space too. Line ends are written as the text
/// writes them (CRLF if it has any).
pub(super) fn unflowed(text: &str, delsp: bool) -> String {
    let newline = match text.contains("\r\n") {
        true => "\r\n",
        false => "\n",
    };
    let mut out = String::with_capacity(text.len());
    // The quote depth of the paragraph being joined, if the last line flowed.
    let mut open: Option<usize> = None;
    let mut first = true;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let content = line.get(depth..).unwrap_or_default();
        let content = content.strip_prefix(' ').unwrap_or(content);
        let signature = content == "-- ";
        let soft = !signature && content.ends_with(' ');
        let content = match soft && delsp {
            true => content.strip_suffix(' ').unwrap_or(content),
            false => content,
        };
        if open != Some(depth) {
            if !first {
                out.push_str(newline);
            }
            for _ in 0..depth {
                out.push('>');
            }
            if depth > 0 && !content.is_empty() {
                out.push(' ');
            }
        }
        out.push_str(content);
        first = false;
        open = soft.then_some(depth);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unflowed;

    #[test]
    fn soft_breaks_join_and_hard_breaks_stay() {
        let text = "This is a long \r\nparagraph.\r\n\r\nNext one.\r\n-- \r\nAda\r\n";
        assert_eq!(
            unflowed(text, false),
            "This is a long paragraph.\r\n\r\nNext one.\r\n-- \r\nAda\r\n"
        );
    }

    #[test]
    fn delsp_removes_the_soft_breaks_space() {
        assert_eq!(
            unflowed("a longer\nword that was split\n", false),
            "a longer\nword that was split\n"
        );
        assert_eq!(
            unflowed("longer \nwordthatwassplit\n", true),
            "longerwordthatwassplit\n"
        );
    }

    #[test]
    fn quotes_flow_within_their_depth_and_stuffing_is_removed() {
        let text = "> quoted and \n> wrapped\n>> deeper \n> back\n  stuffed\n From me\n";
        assert_eq!(
            unflowed(text, false),
            "> quoted and wrapped\n>> deeper \n> back\n stuffed\nFrom me\n"
        );
    }
}
