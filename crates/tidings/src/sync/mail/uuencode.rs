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
//!
//! Older mailers also pasted such a block into a plain-text body, with no
//! MIME at all. [`blocks_in_text`] finds those, strictly (every line
//! between `begin` and `end` must be a data line), so that prose that
//! happens to start with "begin 644" stays prose.

use std::ops::Range;

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
    #[cfg(test)]
    DECODES.with(|n| n.set(n.get() + 1));
    let (name, lines) = data_lines(body)?;
    let mut bytes = Vec::with_capacity(body.len() / 4 * 3);
    for (count, data) in lines {
        decode_line(data, count, &mut bytes);
    }
    Some(Decoded { name, bytes })
}

#[cfg(test)]
thread_local! {
    /// How many blocks [`decode`] decoded on this thread: tests check that
    /// listing decodes none and a fetch only the block it serves.
    pub(super) static DECODES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The name and decoded length of the first uuencoded block of `body`, as
/// [`decode`] would give them, read from the lines' count characters and
/// lengths without decoding; `None` when there is no `begin` line.
pub(super) fn summary(body: &[u8]) -> Option<(Option<String>, usize)> {
    let (name, lines) = data_lines(body)?;
    let len = lines.map(|(count, data)| line_len(data.len(), count)).sum();
    Some((name, len))
}

/// A data line's byte count and its characters after the count character.
type DataLine<'a> = (usize, &'a [u8]);

/// The name on the first `begin` line of `body`, and the data lines after
/// it up to `end` or the zero-length line, each as its byte count and its
/// characters after the count character.
fn data_lines(body: &[u8]) -> Option<(Option<String>, impl Iterator<Item = DataLine<'_>>)> {
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line));
    let name = lines.by_ref().find_map(begin_line)?;
    let data = lines
        .take_while(|line| !is_end_line(line))
        .filter_map(|line| line.split_first())
        .map(|(&count, data)| (usize::from(sextet(count)), data))
        .take_while(|&(count, _)| count != 0);
    Some((name, data))
}

/// The byte ranges of the uuencoded blocks pasted into `text`, in order,
/// each from its `begin` line to the end of its `end` line.
pub(super) fn blocks_in_text(text: &str) -> Vec<Range<usize>> {
    let mut blocks = Vec::new();
    let mut lines = lines_with_offsets(text.as_bytes()).peekable();
    while let Some((start, line)) = lines.next() {
        if begin_line(line).is_none() {
            continue;
        }
        // The block's lines, up to `end`; `None` when it is not a block.
        let mut seen_data = false;
        let mut block_end = None;
        while let Some(&(at, next)) = lines.peek() {
            if is_end_line(next) {
                lines.next();
                block_end = seen_data.then(|| at + next_line_len(text.as_bytes(), at));
                break;
            }
            if !is_data_line(next) {
                break;
            }
            seen_data = true;
            lines.next();
        }
        if let Some(end) = block_end {
            blocks.push(start..end);
        }
    }
    blocks
}

/// Each line of `bytes` (without its LF or CRLF) with its start offset.
fn lines_with_offsets(bytes: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut at = 0;
    bytes.split_inclusive(|&b| b == b'\n').map(move |raw| {
        let start = at;
        at += raw.len();
        let line = raw.strip_suffix(b"\n").unwrap_or(raw);
        (start, line.strip_suffix(b"\r").unwrap_or(line))
    })
}

/// The length of the line starting at `at`, its line end included.
fn next_line_len(bytes: &[u8], at: usize) -> usize {
    let rest = bytes.get(at..).unwrap_or_default();
    rest.iter()
        .position(|&b| b == b'\n')
        .map_or(rest.len(), |end| end + 1)
}

fn is_end_line(line: &[u8]) -> bool {
    line.strip_prefix(b"end")
        .is_some_and(|rest| rest.iter().all(u8::is_ascii_whitespace))
}

/// Whether `line` is a data line as uuencode writes it: a count character,
/// then four characters per three bytes (a transport may have cut the
/// trailing spaces, and some encoders add a check character), all in the
/// alphabet. The zero-length line before `end` is one too.
fn is_data_line(line: &[u8]) -> bool {
    let Some((&count, data)) = line.split_first() else {
        return false;
    };
    let in_alphabet = |c: &u8| (b' '..=b'`').contains(c);
    if !in_alphabet(&count) || !data.iter().all(in_alphabet) {
        return false;
    }
    let full = usize::from(sextet(count)).div_ceil(3) * 4;
    (full.saturating_sub(3)..=full + 2).contains(&data.len())
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

/// How many bytes [`decode_line`] appends for a line of `data_len`
/// characters after a count of `count`: `count`, unless the line carries
/// fewer groups of four than that needs (it is cut after the last group,
/// at least one).
fn line_len(data_len: usize, count: usize) -> usize {
    let groups = count.div_ceil(3).min(data_len.div_ceil(4).max(1));
    count.min(groups * 3)
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
    fn blocks_are_found_in_text_and_prose_is_left_alone() {
        let text =
            "see attached\r\n\r\nbegin 644 hello.txt\r\n+:&5L;&\\@=V]R;&0*\r\n`\r\nend\r\nbye\r\n";
        let blocks = blocks_in_text(text);
        assert_eq!(blocks.len(), 1);
        let block = text.get(blocks[0].clone()).expect("in text");
        assert!(block.starts_with("begin 644") && block.ends_with("end\r\n"));
        let decoded = decode(block.as_bytes()).expect("a block");
        assert_eq!(decoded.bytes, b"hello world");
        for prose in [
            "begin 644 plans\nwe meet at noon\nend\n",
            "begin 644 x\nM86)C\n",
            "begin 644 x\nend\n",
            "begin 2024 budget\n",
        ] {
            assert!(blocks_in_text(prose).is_empty(), "{prose:?}");
        }
    }

    #[test]
    fn the_summary_gives_the_name_and_length_decode_gives() {
        let mut blocks: Vec<Vec<u8>> = vec![
            b"begin 644 notes.txt\n20V%T\"DAE;&QO+\"!W;W)L9\"$*\n`\nend\n".to_vec(),
            b"begin 600 a.bin\r\n#86)C\r\n`\r\nend\r\n".to_vec(),
            b"begin 644 x\nM86)C\nend\n".to_vec(),
            b"begin 644 x\nM\n\n#86)C\n".to_vec(),
            b"begin 644\n!\n\"86)C86)C86)C\nend\n".to_vec(),
        ];
        // Every count with every data length up to a full line and beyond.
        for count in b' '..=b'`' {
            for len in 0..=64 {
                let mut block = b"begin 644 y\n".to_vec();
                block.push(count);
                block.extend(std::iter::repeat_n(b'A', len));
                block.extend(b"\n`\nend\n");
                blocks.push(block);
            }
        }
        for block in &blocks {
            let decoded = decode(block).expect("a block");
            assert_eq!(
                summary(block),
                Some((decoded.name, decoded.bytes.len())),
                "{:?}",
                String::from_utf8_lossy(block)
            );
        }
        assert_eq!(summary(b"no begin\n"), None);
    }

    #[test]
    fn transfer_encoding_names() {
        assert!(is_uuencode("X-UUENCODE"));
        assert!(is_uuencode(" x-uue "));
        assert!(!is_uuencode("base64"));
    }
}
