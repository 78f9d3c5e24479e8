//! Address headers (From, To, Cc) written to RFC 5322 and RFC 2047.
//!
//! mail-builder writes every non-ASCII display name as an encoded word
//! inside quotes (`"=?utf-8?Q?Bob_B=C3=A4cker?=" <bob@…>`), which RFC 2047
//! §5 forbids: strict readers show the encoded text. Here a plain ASCII
//! name is an atom phrase or a quoted string, and any other name is a run
//! of encoded words with nothing around them, each at most 75 characters
//! and never splitting a character. Addresses were checked
//! ([`check_address`](tidings::sync::mail::check_address)) and names made
//! one line ([`header_text`](tidings::sync::mail::header_text)) before.

use std::fmt::Write;

/// Longest encoded word (RFC 2047 §2).
const MAX_WORD: usize = 75;
/// `=?utf-8?Q?` and `?=`.
const WORD_OVERHEAD: usize = 12;

/// One mailbox: `name <address>`, or the bare address without a name.
pub(super) fn mailbox(name: &str, address: &str) -> String {
    match name.trim() {
        "" => address.to_owned(),
        name => format!("{} <{address}>", phrase(name)),
    }
}

/// A header value listing `mailboxes`, one per line after the first.
pub(super) fn list(mailboxes: &[String]) -> String {
    mailboxes.join(",\r\n ")
}

/// A display name as an RFC 5322 phrase.
fn phrase(name: &str) -> String {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~ ".contains(c);
    if name.chars().all(atext) {
        return name.to_owned();
    }
    if name.is_ascii() {
        let mut quoted = String::with_capacity(name.len() + 2);
        quoted.push('"');
        for c in name.chars() {
            if c == '"' || c == '\\' {
                quoted.push('\\');
            }
            quoted.push(c);
        }
        quoted.push('"');
        return quoted;
    }
    encoded_words(name)
}

/// `text` as Q-encoded words (RFC 2047 §4.2 and §5(3): in a phrase only
/// letters, digits and `!*+-/` stand for themselves), folded between words.
fn encoded_words(text: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let mut encoded = String::new();
        if c == ' ' {
            encoded.push('_');
        } else if c.is_ascii_alphanumeric() || "!*+-/".contains(c) {
            encoded.push(c);
        } else {
            let mut bytes = [0u8; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(encoded, "={b:02X}");
            }
        }
        if word.len() + encoded.len() + WORD_OVERHEAD > MAX_WORD && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.push_str(&encoded);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
        .iter()
        .map(|w| format!("=?utf-8?Q?{w}?="))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_atoms_quoted_strings_or_bare_encoded_words() {
        assert_eq!(mailbox("Clerk", "c@t.example"), "Clerk <c@t.example>");
        assert_eq!(mailbox("", "c@t.example"), "c@t.example");
        assert_eq!(
            mailbox("Okoye, Sam \"the clerk\"", "c@t.example"),
            "\"Okoye, Sam \\\"the clerk\\\"\" <c@t.example>"
        );
        assert_eq!(
            mailbox("Bob Bäcker, Stadtwerke", "b@t.example"),
            "=?utf-8?Q?Bob_B=C3=A4cker=2C_Stadtwerke?= <b@t.example>"
        );
    }

    #[test]
    fn long_names_fold_between_words_of_at_most_75_characters() {
        let name = "Überlänge ".repeat(12);
        let written = phrase(name.trim());
        for word in written.split("\r\n ") {
            assert!(word.len() <= MAX_WORD, "{word}");
            assert!(
                word.starts_with("=?utf-8?Q?") && word.ends_with("?="),
                "{word}"
            );
        }
        let item = tidings::sync::mail::mail_item_from_message(
            format!("From: {written} <a@t.example>\r\n\r\nx\r\n").as_bytes(),
            &Default::default(),
        )
        .expect("parses");
        let from = &item.headers.expect("headers").from[0];
        assert_eq!(from.name, name.trim());
    }
}
