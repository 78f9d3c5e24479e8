//! Date fields ending in a zone of one or two letters, padded before the
//! parse.
//!
//! RFC 5322 §4.3 allows `UT` and the military letters (`Z`, `A`…) as a
//! Date's zone, and some mailers end a Date with `AM` or `PM`. mail-parser
//! reads a zone name as three bytes whatever follows, so after `UT` it took
//! the line break too and read the next field (From, Subject, Message-ID)
//! as part of the Date, and after a Date that ended the header block, the
//! whole body. A short zone gets spaces after it to make three bytes, so
//! the parse ends where the field does; the name itself is read as UTC,
//! as RFC 5322 asks of the letters. A numeric zone of three digits
//! (`-600`, `+530`: the hour's leading zero left out) gets that zero, as
//! Python reads it; mail-parser read `-600` as twelve hours west.

use std::borrow::Cow;

/// `raw` with each `Date:` or `Resent-Date:` field of its header block that
/// ends in a word of one or two letters padded to three bytes, and each
/// that ends in a three-digit zone given its hour's leading zero; `raw`
/// itself when there is none.
pub(super) fn padded(raw: &[u8]) -> Cow<'_, [u8]> {
    let ends = short_zone_ends(raw);
    if ends.is_empty() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + 2 * ends.len());
    let mut from = 0;
    for (at, insert) in ends {
        out.extend_from_slice(raw.get(from..at).unwrap_or_default());
        out.extend_from_slice(insert);
        from = at;
    }
    out.extend_from_slice(raw.get(from..).unwrap_or_default());
    Cow::Owned(out)
}

/// Where each short zone of the mail's header block needs bytes, and
/// which.
fn short_zone_ends(raw: &[u8]) -> Vec<(usize, &'static [u8])> {
    let mut ends = Vec::new();
    let mut at = 0;
    let mut in_date = false;
    while at < raw.len() {
        let rest = raw.get(at..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |n| n + 1);
        let line = rest.get(..len).unwrap_or_default();
        let text = line.strip_suffix(b"\n").unwrap_or(line);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.is_empty() {
            break;
        }
        if !matches!(text.first(), Some(b' ' | b'\t')) {
            in_date = is_date_field(text);
        }
        let next_continues = matches!(raw.get(at + len), Some(b' ' | b'\t'));
        if in_date && !next_continues {
            let value = text.trim_ascii_end();
            let word = value
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            let before = value.len() - word;
            let spaced = matches!(value.get(before.wrapping_sub(1)), Some(b' ' | b'\t'));
            if (1..=2).contains(&word) && spaced {
                let pad = b"  ".get(..3 - word).unwrap_or_default();
                ends.push((at + value.len(), pad));
            }
            let digits = value
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let sign_at = value.len().wrapping_sub(digits + 1);
            let signed = matches!(value.get(sign_at), Some(b'+' | b'-'));
            let spaced = matches!(value.get(sign_at.wrapping_sub(1)), Some(b' ' | b'\t'));
            if digits == 3 && signed && spaced {
                ends.push((at + sign_at + 1, b"0"));
            }
        }
        at += len;
    }
    ends
}

/// Whether `line` starts a `Date:` or `Resent-Date:` field.
fn is_date_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
    name.eq_ignore_ascii_case(b"date") || name.eq_ignore_ascii_case(b"resent-date")
}

#[cfg(test)]
mod tests {
    use super::padded;

    #[test]
    fn a_short_zone_is_padded_to_three_bytes() {
        let raw = b"Date: Fri, 06 Jul 2001 08:00:34 UT\r\nFrom: a@b\r\n\r\nDate: x Z\r\n";
        assert_eq!(
            &padded(raw)[..],
            b"Date: Fri, 06 Jul 2001 08:00:34 UT \r\nFrom: a@b\r\n\r\nDate: x Z\r\n"
        );
        let folded = b"resent-date: Fri, 06 Jul 2001\n 08:00:34 Z\nCc: c@d\n";
        assert_eq!(
            &padded(folded)[..],
            b"resent-date: Fri, 06 Jul 2001\n 08:00:34 Z  \nCc: c@d\n"
        );
        let three = b"Date: Fri, 06 Jul 2001 08:00:34 -600\r\nFrom: a@b\r\n";
        assert_eq!(
            &padded(three)[..],
            b"Date: Fri, 06 Jul 2001 08:00:34 -0600\r\nFrom: a@b\r\n"
        );
        for kept in [
            &b"Date: Fri, 06 Jul 2001 08:00:34 GMT\r\n"[..],
            b"Date: Fri, 06 Jul 2001 08:00:34 -0600\r\n",
            b"Date: Fri, 06 Jul 2001 08:00:34\r\n",
            b"Date: Fri, 06 Jul 2001 08:00:34 +0000 (UT)\r\n",
            b"X-Date: a UT\r\n",
        ] {
            assert_eq!(&padded(kept)[..], kept);
        }
    }
}
