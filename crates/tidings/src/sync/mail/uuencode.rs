//! Parts sent with `Content-Transfer-Encoding: x-uuencode` (or `uuencode`,
//! `x-uue`), which older mailers and some gateways still produce and which
//! mail-parser passes through undecoded.
//!
//! The format is small and fixed (POSIX `uuencode`): a `begin <mode> <name>`
//! line, data lines whose first character gives their byte count, and a
//! zero-length line before `end`. Written here because no maintained crate
//! decodes it; the decoder is lenient the way common mail clients are (short
//! lines padded with zero bits, a missing `end` tolerated) and never yields
//! more bytes than its input.

/// Transfer encodings that mean this format.
pub(super) fn is_uuencode(transfer_encoding: &str) -> bool {
    ["x-uuencode", "uuencode", "x-uue"]
        .iter()
        .any(|name| transfer_encoding.trim().eq_ignore_ascii_case(name))
}

/// A decoded uuencoded block.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Decoded {
    /// The name on the `begin` line, when it has one.
    pub name: Option<String>,
    /// The decoded bytes.
    pub bytes: Vec<u8>,
}

/// Decodes the first uuencoded block of `body`; `None` when there is no
/// `begin` line (the part is then served as it is).
pub(super) fn decode(body: &[u8]) -> Option<Decoded> {
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let name = lines.by_ref().find_map(begin_line)?;
    let mut bytes = Vec::with_capacity(body.len() / 4 * 3);
    for line in lines {
        if line
            .strip_prefix(b"end")
            .is_some_and(|rest| rest.iter().all(u8::is_ascii_whitespace))
        {
            break;
        }
        let Some((&count, data)) = line.split_first() else {
            continue;
        };
        let count = usize::from(sextet(count));
        if count == 0 {
            break;
        }
        decode_line(data, count, &mut bytes);
    }
    Some(Decoded { name, bytes })
}

/// The name of a `begin <octal mode> <name>` line, or `None` when `line` is
/// not one (the outer `Option`).
fn begin_line(line: &[u8]) -> Option<Option<String>> {
    let rest = line.strip_prefix(b"begin ")?;
    let mode_len = rest
        .iter()
        .take_while(|b| (b'0'..=b'7').contains(b))
        .count();
    if mode_len == 0 || rest.get(mode_len).is_some_and(|&b| b != b' ') {
        return None;
    }
    let name = String::from_utf8_lossy(rest.get(mode_len + 1..).unwrap_or_default());
    let name = name.trim();
    Some((!name.is_empty()).then(|| name.to_owned()))
}

/// Appends the `count` bytes encoded by one data line (four characters per
/// three bytes; characters missing at the end count as zero bits).
fn decode_line(data: &[u8], count: usize, out: &mut Vec<u8>) {
    let mut chars = data.iter().map(|&c| sextet(c));
    let mut left = count;
    while left > 0 {
        let group: [u8; 4] = std::array::from_fn(|_| chars.next().unwrap_or(0));
        let triple = [
            (group[0] << 2) | (group[1] >> 4),
            (group[1] << 4) | (group[2] >> 2),
            (group[2] << 6) | group[3],
        ];
        let take = left.min(3);
        out.extend(triple.iter().take(take));
        left -= take;
        // A line that claims more bytes than it carries is cut short.
        if chars.len() == 0 {
            break;
        }
    }
}

/// The six bits a character stands for (space and backquote both mean 0).
fn sextet(c: u8) -> u8 {
    c.wrapping_sub(b' ') & 0x3F
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_uuencode_wrote() {
        // Python's `binascii.b2a_uu(b"Cat\nHello, world!\n", backtick=True)`.
        let block = b"begin 644 notes.txt\n20V%T\"DAE;&QO+\"!W;W)L9\"$*\n`\nend\n";
        let decoded = decode(block).expect("a block");
        assert_eq!(decoded.name.as_deref(), Some("notes.txt"));
        assert_eq!(decoded.bytes, b"Cat\nHello, world!\n");
    }

    #[test]
    fn crlf_lines_and_text_before_begin_are_fine() {
        let block = b"see below\r\n\r\nbegin 600 a.bin\r\n#86)C\r\n`\r\nend\r\n";
        let decoded = decode(block).expect("a block");
        assert_eq!(decoded.bytes, b"abc");
        assert_eq!(decoded.name.as_deref(), Some("a.bin"));
    }

    #[test]
    fn without_begin_there_is_nothing_to_decode() {
        assert_eq!(decode(b"plain text\nbegin here\n"), None);
        assert_eq!(decode(b""), None);
    }

    #[test]
    fn a_short_line_never_yields_more_than_it_claims_or_carries() {
        // Claims 45 bytes, carries 4 characters: 3 bytes come out.
        let decoded = decode(b"begin 644 x\nM86)C\nend\n").expect("a block");
        assert_eq!(decoded.bytes, b"abc");
    }

    #[test]
    fn transfer_encoding_names() {
        assert!(is_uuencode("X-UUENCODE"));
        assert!(is_uuencode(" x-uue "));
        assert!(!is_uuencode("base64"));
    }
}
