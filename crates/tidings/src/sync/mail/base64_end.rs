//! Where the base64 data of a part ends when text follows it: a mailing
//! list's footer or a gateway's disclaimer appended to the last part, a
//! "Cheerio!" after the data (mu's Emacs/SEMI test mail). mail-parser's
//! decoder gives up on the whole part at the first character outside the
//! alphabet, and the file was served as its base64 text. Python and MimeKit
//! decode the data and drop the tail (RFC 2045 §6.8: characters outside
//! the alphabet are to be ignored); so is it read here.

/// The length of the base64 data at the start of `body`: blank lines
/// first, then lines of the base64 alphabet only, up to and including the
/// first with `=` padding, or up to the first blank line or line of any
/// other text. `None` when there is none, or its characters are not a
/// whole number of groups of four (then the text is no complete base64
/// stream, such as a plain text part labelled base64, and stays as it was
/// read).
pub(super) fn data_end(body: &[u8]) -> Option<usize> {
    let mut end = None;
    let mut at = 0;
    let mut characters = 0usize;
    for line in body.split_inclusive(|&b| b == b'\n') {
        let text = line.trim_ascii_end();
        let next = at + line.len();
        if text.is_empty() {
            if end.is_some() {
                break;
            }
            at = next;
            continue;
        }
        let data = without_padding(text);
        let padded = data.len() < text.len();
        if !data.iter().all(|&b| is_alphabet(b)) {
            break;
        }
        characters = characters.saturating_add(text.len());
        end = Some(next);
        at = next;
        if padded {
            break;
        }
    }
    end.filter(|_| characters % 4 == 0)
}

/// Whether `b` is one of base64's 64 characters (RFC 2045 Table 1).
fn is_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

/// `line` without its `=` padding (at most two).
fn without_padding(line: &[u8]) -> &[u8] {
    let once = line.strip_suffix(b"=").unwrap_or(line);
    once.strip_suffix(b"=").unwrap_or(once)
}

#[cfg(test)]
mod tests {
    use super::data_end;

    fn data(body: &[u8]) -> Option<&[u8]> {
        body.get(..data_end(body)?)
    }

    #[test]
    fn the_data_ends_at_its_padding_or_before_other_text() {
        let footer = b"SGVsbG8sIHdvcmxkIQ==\r\n\r\nCheerio!\r\n";
        assert_eq!(data(footer), Some(&b"SGVsbG8sIHdvcmxkIQ==\r\n"[..]));
        let unpadded = b"\r\nSGVsbG8s\r\nSGVsbG8s\r\n\r\n____\r\nlist footer\r\n";
        assert_eq!(data(unpadded), Some(&b"\r\nSGVsbG8s\r\nSGVsbG8s\r\n"[..]));
        assert_eq!(
            data(b"SGVsbG8s\r\n-- \r\nSam\r\n"),
            Some(&b"SGVsbG8s\r\n"[..])
        );
    }

    #[test]
    fn text_that_is_no_base64_stream_has_no_data() {
        for text in [
            &b"Hello there, see you!\r\n"[..],
            b"Hi\r\n\r\nThanks!\r\n",
            b"",
            b"\r\n\r\n",
            b"===\r\n",
        ] {
            assert_eq!(data_end(text), None, "{:?}", String::from_utf8_lossy(text));
        }
    }
}
