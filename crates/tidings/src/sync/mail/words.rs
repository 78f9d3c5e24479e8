//! A Subject with RFC 2047 encoded words, read as mail clients read what
//! mailers really send. mail-parser decodes each encoded word on its own,
//! so a character whose UTF-8 bytes a mailer split across two adjacent
//! words became two replacement characters ("Bestellbest��tigung"), and a
//! word written inside a word ("Unterlagen f=?utf-8?Q?=C3=BCr?=") gained a
//! space before it. Here, as Thunderbird and Gmail read them, adjacent
//! encoded words in one charset are decoded together (the white space
//! between encoded words is dropped, RFC 2047 §6.2) and a word inside
//! text is decoded where it stands. An address field's display names get
//! the same joining ([`joined_words`]), their syntax still read by
//! mail-parser.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;

/// Longest value read here; a longer one (no mailer writes one) is left
/// to mail-parser, whose reading is linear whatever the bytes.
const MAX_VALUE_BYTES: usize = 16 << 10;

/// Longest encoded word looked for: RFC 2047 allows 75 characters, and
/// some mailers write longer ones. Bounds the work at each `=?`.
const MAX_WORD_BYTES: usize = 1024;

/// The text of an unstructured header value `raw` (as it is in the
/// message, folded), or `None` when it holds no encoded word, is not UTF-8
/// or is longer than 16 KiB (then mail-parser's reading stands).
pub(super) fn unstructured(raw: &[u8]) -> Option<String> {
    if raw.len() > MAX_VALUE_BYTES {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    if !text.contains("=?") {
        return None;
    }
    // Unfolded: a line break before white space is not part of the value.
    let unfolded: String = text.replace("\r\n", "").replace('\n', "");
    let mut out = String::with_capacity(unfolded.len());
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut gap = String::new();
    let mut rest = unfolded.trim();
    while !rest.is_empty() {
        if let Some((charset, bytes, after)) = encoded_word(rest) {
            match &mut pending {
                Some((held, so_far)) if held.eq_ignore_ascii_case(&charset) => {
                    join_bytes(&charset, so_far, &bytes);
                }
                Some(_) => {
                    // Another charset: the space between words still goes.
                    flush(&mut out, pending.take());
                    pending = Some((charset, bytes));
                }
                None => {
                    out.push_str(&gap);
                    pending = Some((charset, bytes));
                }
            }
            gap.clear();
            rest = after;
            continue;
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        if c == ' ' || c == '\t' {
            gap.push(c);
        } else {
            flush(&mut out, pending.take());
            out.push_str(&gap);
            gap.clear();
            out.push(c);
        }
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    flush(&mut out, pending);
    out.push_str(&gap);
    Some(out)
}

/// An address field's value `raw` (as it is in the message, folded) with
/// each run of adjacent encoded words in one charset made one base64 word,
/// for mail-parser's address parser to read: it decodes each word on its
/// own, so a display name whose character a mailer cut across two words
/// came out with replacement characters. Joined, the name reads as a
/// Subject does ([`unstructured`]), and the address syntax around it
/// (quotes, commas, angle brackets) is still mail-parser's to read. `None`
/// when no run has two words, or the value is not UTF-8 or is longer than
/// 16 KiB.
pub(super) fn joined_words(raw: &[u8]) -> Option<String> {
    if raw.len() > MAX_VALUE_BYTES {
        return None;
    }
    let text = std::str::from_utf8(raw).ok()?;
    if !text.contains("=?") {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut joined = false;
    let mut rest = text;
    while !rest.is_empty() {
        if let Some((charset, mut bytes, mut after)) = encoded_word(rest) {
            let mut words = 1;
            // Only white space (folds included) between the words.
            while let Some((next, more, next_after)) =
                encoded_word(after.trim_start_matches([' ', '\t', '\r', '\n']))
            {
                if !next.eq_ignore_ascii_case(&charset) {
                    break;
                }
                join_bytes(&charset, &mut bytes, &more);
                after = next_after;
                words += 1;
            }
            if words > 1 {
                out.push_str(&format!("=?{charset}?B?{}?=", base64(&bytes)));
                joined = true;
            } else {
                let word_len = rest.len().saturating_sub(after.len());
                out.push_str(rest.get(..word_len).unwrap_or_default());
            }
            rest = after;
            continue;
        }
        let Some(c) = rest.chars().next() else {
            break;
        };
        out.push(c);
        rest = rest.get(c.len_utf8()..).unwrap_or_default();
    }
    joined.then_some(out)
}

/// Appends the bytes of the next encoded word in `charset` to `held`. An
/// ISO-2022 word is self-contained: it ends by shifting back to ASCII
/// (`ESC ( B`, RFC 1468), and the next one starts with its own shift
/// (`ESC $ B`). Two escapes in a row are an error to the WHATWG decoder
/// (a U+FFFD between every two words of a long Japanese subject), so a
/// shift at the end of `held` that the next word overrides at once goes.
fn join_bytes(charset: &str, held: &mut Vec<u8>, next: &[u8]) {
    const ESC: u8 = 0x1b;
    let stateful = charset.to_ascii_lowercase().contains("2022");
    let overridden = held.len() >= 3 && held.get(held.len() - 3) == Some(&ESC);
    if stateful && overridden && next.first() == Some(&ESC) {
        held.truncate(held.len() - 3);
    }
    held.extend_from_slice(next);
}

/// `bytes` in standard base64 with padding, on one line.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3).saturating_mul(4));
    for group in bytes.chunks(3) {
        let byte = |i: usize| u32::from(group.get(i).copied().unwrap_or(0));
        let word = (byte(0) << 16) | (byte(1) << 8) | byte(2);
        for i in 0..4 {
            let sextet = (word >> (18 - 6 * i)) & 63;
            let c = ALPHABET.get(sextet as usize).copied().unwrap_or(b'=');
            out.push(match i <= group.len() {
                true => char::from(c),
                false => '=',
            });
        }
    }
    out
}

/// Decodes held bytes in their charset onto `out`.
fn flush(out: &mut String, pending: Option<(String, Vec<u8>)>) {
    let Some((charset, bytes)) = pending else {
        return;
    };
    match charset_decoder(charset.as_bytes()) {
        Some(decode) => out.push_str(&decode(&bytes)),
        None => out.push_str(&String::from_utf8_lossy(&bytes)),
    }
}

/// `=?charset?B|Q?text?=` at the start of `s`: its charset (without an RFC
/// 2231 language), its bytes, and what follows it.
fn encoded_word(s: &str) -> Option<(String, Vec<u8>, &str)> {
    let body = s.strip_prefix("=?")?;
    let within = (0..=body.len().min(MAX_WORD_BYTES))
        .rev()
        .find(|&i| body.is_char_boundary(i))?;
    let window = body.get(..within)?;
    let (charset, rest) = window.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let text_len = rest.find("?=")?;
    let text = rest.get(..text_len)?;
    // What follows the word, in the whole value (not only the window).
    let used = charset.len() + encoding.len() + text_len + 4;
    let after = body.get(used..)?;
    let plain = |v: &str| !v.is_empty() && !v.contains([' ', '\t', '?']);
    if !plain(charset) || text.contains([' ', '\t']) {
        return None;
    }
    let charset = charset.split('*').next().unwrap_or_default().to_owned();
    let bytes = match encoding {
        "B" | "b" => base64_decode(text.as_bytes())?,
        "Q" | "q" => q_decode(text),
        _ => return None,
    };
    Some((charset, bytes, after))
}

/// RFC 2047 §4.2: `_` is a space, `=XX` a byte; anything else as written.
fn q_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = [bytes.next(), bytes.next()];
                let value = match hex {
                    [Some(h), Some(l)] => std::str::from_utf8(&[h, l])
                        .ok()
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok()),
                    _ => None,
                };
                match value {
                    Some(v) => out.push(v),
                    None => {
                        out.push(b'=');
                        out.extend(hex.into_iter().flatten());
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{base64, joined_words, unstructured};

    #[test]
    fn adjacent_words_in_one_charset_are_joined_and_others_kept() {
        assert_eq!(base64(b"\xc3\x84rger"), "w4RyZ2Vy");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(
            joined_words(b" =?UTF-8?B?ww==?=\r\n =?UTF-8?B?hHJnZXI=?= <a@ex.de>").as_deref(),
            Some(" =?UTF-8?B?w4RyZ2Vy?= <a@ex.de>")
        );
        assert_eq!(
            joined_words(b" =?utf-8?Q?a?= =?iso-8859-1?Q?b?= <a@ex.de>, c@ex.de"),
            None
        );
        assert_eq!(joined_words(b" Plain <a@ex.de>"), None);
    }

    #[test]
    fn adjacent_iso_2022_jp_words_join_without_a_replacement_character() {
        // Each word is ESC $ B "テスト" ESC ( B, as Outlook and Thunderbird
        // split a long Japanese subject; joined, only the shift back between
        // them goes.
        let word = "=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=";
        let subject = format!(" {word}\r\n {word}");
        assert_eq!(read(&subject).as_deref(), Some("テストテスト"));
        let joined = joined_words(format!("{subject} <a@example.org>").as_bytes());
        let name = joined.as_deref().unwrap_or_default();
        let encoded = name.trim_start().split('?').nth(3).unwrap_or_default();
        let bytes = mail_parser::decoders::base64::base64_decode(encoded.as_bytes());
        assert_eq!(
            bytes.as_deref(),
            Some(&b"\x1b$B%F%9%H\x1b$B%F%9%H\x1b(B"[..]),
            "{name}"
        );
        // A word cut inside a shifted run keeps its bytes as they are.
        assert_eq!(
            read(" =?iso-2022-jp?B?GyRCJUY=?= =?iso-2022-jp?B?JTklSBsoQg==?=").as_deref(),
            Some("テスト")
        );
    }

    fn read(raw: &str) -> Option<String> {
        unstructured(raw.as_bytes())
    }

    #[test]
    fn a_character_split_across_two_words_is_whole() {
        // "ä" is C3 A4: the mailer cut the text between the two bytes.
        assert_eq!(
            read(" =?utf-8?B?QmVzdGVsbGJlc3TD?= =?utf-8?B?pHRpZ3VuZw==?=").as_deref(),
            Some("Bestellbestätigung")
        );
    }

    #[test]
    fn a_word_inside_a_word_gains_no_space() {
        assert_eq!(
            read(" Unterlagen f=?utf-8?Q?=C3=BCr_morgen?=").as_deref(),
            Some("Unterlagen für morgen")
        );
    }

    #[test]
    fn text_between_words_and_folds_are_kept_as_written() {
        assert_eq!(
            read(" =?ISO-8859-1?Q?Andr=E9?= Pirard\r\n =?utf-8?Q?=E2=82=AC?= 5").as_deref(),
            Some("André Pirard € 5")
        );
        assert_eq!(read(" no words here"), None);
        // Hostile: many openings, no end. Each is looked at within 1 KiB.
        let hostile = format!(" {}", "=?a?Q?x".repeat(2_000));
        assert_eq!(read(&hostile).as_deref(), Some(hostile.trim()));
        assert_eq!(
            read(&"=?".repeat(10_000)),
            None,
            "over 16 KiB: mail-parser's"
        );
        assert_eq!(
            read(" =?utf-8?X?bad?= and =?broken").as_deref(),
            Some("=?utf-8?X?bad?= and =?broken")
        );
    }
}
