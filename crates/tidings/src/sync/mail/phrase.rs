//! A display name with a quoted word after other words (`Robert "Bob"
//! Smith`, as directory-built names from an Exchange GAL or LDAP write a
//! nickname): RFC 5322 §3.2.5 makes a phrase of words separated by white
//! space, kept when shown. mail-parser joins a quoted word to the word
//! before it without that space ("RobertBob Smith"), though it keeps the
//! space after one. Here the white space before such a quote is written
//! inside it instead, where mail-parser keeps it, so the name reads
//! "Robert Bob Smith" as Python's email reads it.

/// Longest value rewritten; a longer one stays mail-parser's reading.
const MAX_VALUE_BYTES: usize = 16 << 10;

/// Where the scan is in an address field's value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Within {
    Phrase,
    Quote,
    /// A comment, nested this deep.
    Comment(usize),
    Angle,
}

/// The address field's `value` with the white space between a word and a
/// quoted word after it moved inside the quote (one space, folds
/// dropped); `None` when there is none to move, or the value is longer
/// than 16 KiB.
pub(super) fn spaced_quotes(value: &str) -> Option<String> {
    if value.len() > MAX_VALUE_BYTES || !value.contains('"') {
        return None;
    }
    let mut out = String::with_capacity(value.len().saturating_add(16));
    let mut within = Within::Phrase;
    let mut escaped = false;
    let mut gap = String::new();
    let mut after_word = false;
    let mut moved = false;
    for c in value.chars() {
        if within != Within::Phrase {
            out.push(c);
            let was_escaped = std::mem::take(&mut escaped);
            within = match (within, c) {
                (Within::Quote | Within::Comment(_), '\\') if !was_escaped => {
                    escaped = true;
                    within
                }
                _ if was_escaped => within,
                (Within::Quote, '"') => Within::Phrase,
                (Within::Comment(depth), '(') => Within::Comment(depth.saturating_add(1)),
                (Within::Comment(1), ')') | (Within::Angle, '>') => Within::Phrase,
                (Within::Comment(depth), ')') => Within::Comment(depth.saturating_sub(1)),
                _ => within,
            };
            // A word ends with a closing quote; an address or comment is none.
            after_word = within == Within::Phrase && c == '"';
            continue;
        }
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            gap.push(c);
            continue;
        }
        if c == '"' && after_word && !gap.is_empty() {
            out.push_str("\" ");
            gap.clear();
            within = Within::Quote;
            moved = true;
            continue;
        }
        out.push_str(&gap);
        gap.clear();
        out.push(c);
        within = match c {
            '"' => Within::Quote,
            '(' => Within::Comment(1),
            '<' => Within::Angle,
            _ => Within::Phrase,
        };
        after_word = within == Within::Phrase && !matches!(c, ',' | ':' | ';' | '>' | ')');
    }
    out.push_str(&gap);
    moved.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::spaced_quotes;

    #[test]
    fn the_space_before_a_quoted_word_goes_inside_it() {
        assert_eq!(
            spaced_quotes(" Robert \"Bob\" Smith <bob@example.org>\r\n").as_deref(),
            Some(" Robert\" Bob\" Smith <bob@example.org>\r\n")
        );
        assert_eq!(
            spaced_quotes(" \"Dr.\" Who <w@x>, Jane\r\n \"JJ\" Doe <j@x>").as_deref(),
            Some(" \"Dr.\" Who <w@x>, Jane\" JJ\" Doe <j@x>")
        );
        assert_eq!(
            spaced_quotes(" \"Bob\" \"Smith\" <b@x>").as_deref(),
            Some(" \"Bob\"\" Smith\" <b@x>")
        );
    }

    #[test]
    fn quotes_in_addresses_comments_and_quotes_stay() {
        for value in [
            " \"Dr.\" Who <who@example.org>",
            " a@x, \"Bob\" <b@x>",
            " Team: \"Bob\" <b@x>;",
            " Sam (the \"boss\") <s@x>",
            " <\"odd local\"@x> \"tail\"",
            " \"a \\\" b\" <a@x>",
            " no quotes <a@x>",
        ] {
            assert_eq!(spaced_quotes(value), None, "{value}");
        }
        assert_eq!(
            spaced_quotes(&" a \"b\"".repeat(4_000)),
            None,
            "over 16 KiB"
        );
    }
}
