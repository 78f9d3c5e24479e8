//! Splitting an mbox file into its messages, one at a time.

use std::io::{self, BufRead, Read};

/// Splits an mbox (mboxrd or mboxo) into messages: each starts at a
/// `From ` line and ends before the blank line that precedes the next;
/// `>From ` quoting inside bodies is undone (mboxrd).
pub fn split_mbox(mbox: &[u8]) -> Vec<Vec<u8>> {
    split_mbox_numbered(mbox)
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

/// [`split_mbox`], each message with the 1-based line of its `From ` line.
pub fn split_mbox_numbered(mbox: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut reader = MboxReader::new(mbox, usize::MAX);
    let mut messages = Vec::new();
    // Reading a slice cannot fail, and no message is over `usize::MAX`.
    while let Ok(Some((line, Ok(message)))) = reader.next_message() {
        messages.push((line, message));
    }
    messages
}

/// The most bytes read at once: a line longer than this is read in pieces,
/// so no line, however long, is held whole.
const PIECE: u64 = 64 << 10;

/// The most bytes read before the first `From ` line: an mbox starts with
/// one, and a file that does not within this is not an mbox.
pub const MAX_PREAMBLE: u64 = 64 << 10;

/// Reads an mbox one message at a time, holding at most one message of at
/// most `max_message` bytes: an mbox of many gigabytes, or no mbox at all
/// (`/dev/zero`), is read in bounded memory.
pub struct MboxReader<R> {
    input: R,
    max_message: usize,
    /// Lines begun so far.
    lines: usize,
    /// Whether the next byte starts a line.
    at_line_start: bool,
    /// Whether the rest of the current line is a separator's.
    in_separator: bool,
    /// The message being read: its `From ` line and its bytes, or the
    /// bytes it has reached when it is over `max_message`.
    current: Option<(usize, Result<Vec<u8>, usize>)>,
    /// Bytes read before the first `From ` line.
    preamble: u64,
    /// Whether a `From ` line has been read.
    separated: bool,
}

/// One message of an mbox: its `From ` line, and its bytes or, when it is
/// over the reader's bound, how many it has.
pub type MboxMessage = (usize, Result<Vec<u8>, usize>);

impl<R: BufRead> MboxReader<R> {
    /// A reader of `input` refusing messages over `max_message` bytes.
    pub fn new(input: R, max_message: usize) -> Self {
        Self {
            input,
            max_message,
            lines: 0,
            at_line_start: true,
            in_separator: false,
            current: None,
            preamble: 0,
            separated: false,
        }
    }

    /// Whether a `From ` line has been read: the input is an mbox.
    pub fn separated(&self) -> bool {
        self.separated
    }

    /// Bytes read before the first `From ` line.
    pub fn preamble(&self) -> u64 {
        self.preamble
    }

    /// The next message, `None` at the end of the input; a message over
    /// the bound is read past and returned as its size. An input with no
    /// `From ` line in its first [`MAX_PREAMBLE`] bytes is not an mbox:
    /// `InvalidData`.
    pub fn next_message(&mut self) -> io::Result<Option<MboxMessage>> {
        let mut piece = Vec::new();
        loop {
            piece.clear();
            let read = Read::take(&mut self.input, PIECE).read_until(b'\n', &mut piece)?;
            if read == 0 {
                return Ok(self.current.take().map(finish));
            }
            let starts_line = self.at_line_start;
            self.at_line_start = piece.last() == Some(&b'\n');
            if starts_line {
                self.lines += 1;
                self.in_separator = false;
                if piece.starts_with(b"From ") {
                    self.separated = true;
                    self.in_separator = !self.at_line_start;
                    let next = (self.lines, Ok(Vec::new()));
                    match self.current.replace(next) {
                        Some(done) => return Ok(Some(finish(done))),
                        None => continue,
                    }
                }
            }
            if self.in_separator {
                continue;
            }
            let Some((_, message)) = self.current.as_mut() else {
                // Text before the first separator is not a message.
                self.preamble += read as u64;
                if self.preamble > MAX_PREAMBLE {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "not an mbox file: no line starts with `From ` in its first 64 KiB",
                    ));
                }
                continue;
            };
            let line = match starts_line && quoted_from(&piece) {
                true => piece.get(1..).unwrap_or_default(),
                false => &piece[..],
            };
            *message = match std::mem::replace(message, Err(0)) {
                Ok(mut bytes) if bytes.len() + line.len() <= self.max_message => {
                    bytes.extend_from_slice(line);
                    Ok(bytes)
                }
                Ok(bytes) => Err(bytes.len() + line.len()),
                Err(size) => Err(size + line.len()),
            };
        }
    }
}

/// Whether `line` is a `From ` line quoted with one or more `>` (mboxrd).
fn quoted_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    quotes > 0
        && line
            .get(quotes..)
            .is_some_and(|rest| rest.starts_with(b"From "))
}

/// A message read whole, less the blank line before the next separator,
/// which belongs to the mbox, not the mail.
fn finish((line, message): (usize, Result<Vec<u8>, usize>)) -> MboxMessage {
    let message = message.map(|mut message| {
        for blank in [&b"\r\n"[..], b"\n"] {
            let body = message.len().saturating_sub(blank.len());
            let after_line = body == 0 || message.get(body - 1) == Some(&b'\n');
            if message.ends_with(blank) && after_line {
                message.truncate(body);
                break;
            }
        }
        message
    });
    (line, message)
}

#[cfg(test)]
mod tests {
    use super::{MboxMessage, MboxReader, PIECE, split_mbox, split_mbox_numbered};
    use proptest::prelude::*;

    /// Writes messages as mboxrd does: a separator line, `From ` lines
    /// (however many `>` precede them) quoted with one more `>`, a blank line.
    fn write_mbox(messages: &[Vec<u8>]) -> Vec<u8> {
        let mut mbox = Vec::new();
        for message in messages {
            mbox.extend_from_slice(b"From sender@example.org Sun Nov 29 00:00:00 2026\n");
            for line in message.split_inclusive(|&b| b == b'\n') {
                let quotes = line.iter().take_while(|&&b| b == b'>').count();
                if line[quotes..].starts_with(b"From ") {
                    mbox.push(b'>');
                }
                mbox.extend_from_slice(line);
            }
            mbox.push(b'\n');
        }
        mbox
    }

    #[test]
    fn mbox_splits_at_from_lines_and_unquotes() {
        let mbox = b"From a@x Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n>>From there\nbody\n\nFrom b@x Tue Jan  2 00:00:00 2024\nSubject: two\n\nhi\n";
        let messages = split_mbox(mbox);
        assert_eq!(
            messages,
            vec![
                b"Subject: one\n\nFrom here\n>From there\nbody\n".to_vec(),
                b"Subject: two\n\nhi\n".to_vec()
            ]
        );
        assert!(split_mbox(b"no separator\n").is_empty());
        let lines: Vec<usize> = split_mbox_numbered(mbox).iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 8]);
    }

    /// Every message of `mbox` read with messages bounded by `max`.
    fn read_all(mbox: &[u8], max: usize) -> Vec<MboxMessage> {
        let mut reader = MboxReader::new(mbox, max);
        std::iter::from_fn(|| reader.next_message().expect("read")).collect()
    }

    #[test]
    fn a_message_over_the_bound_is_read_past_and_sized() {
        let big = format!("Subject: big\n\n{}\n", "x".repeat(200_000));
        let mbox =
            format!("From a\nSubject: one\n\nhi\n\nFrom b\n{big}\nFrom c\nSubject: three\n\nho\n");
        let read = read_all(mbox.as_bytes(), 100_000);
        assert_eq!(read.len(), 3);
        assert_eq!(read[0], (1, Ok(b"Subject: one\n\nhi\n".to_vec())));
        assert_eq!(read[1], (6, Err(big.len() + 1)));
        assert_eq!(read[2].1, Ok(b"Subject: three\n\nho\n".to_vec()));
        // Lines longer than a piece, a separator's included, read whole.
        let long = "y".repeat(3 * PIECE as usize);
        let mbox = format!("From {long}\nSubject: {long}\n\n>From {long}\n");
        let read = read_all(mbox.as_bytes(), usize::MAX);
        let expected = format!("Subject: {long}\n\nFrom {long}\n");
        assert_eq!(read, [(1, Ok(expected.into_bytes()))]);
    }

    #[test]
    fn an_endless_input_without_separators_is_not_an_mbox() {
        let endless = std::io::BufReader::new(std::io::repeat(0));
        let mut reader = MboxReader::new(endless, 1 << 20);
        let err = reader.next_message().expect_err("not an mbox");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(!reader.separated());
    }

    proptest! {
        #[test]
        fn mbox_round_trips(
            messages in proptest::collection::vec(
                proptest::collection::vec(
                    prop_oneof![
                        Just(b"From x\n".to_vec()),
                        Just(b">>From y\n".to_vec()),
                        Just(b"\n".to_vec()),
                        Just(b"\r\n".to_vec()),
                        "[ -~]{0,20}\n".prop_map(String::into_bytes),
                    ],
                    0..8,
                ).prop_map(|lines| lines.concat()),
                0..6,
            )
        ) {
            prop_assert_eq!(split_mbox(&write_mbox(&messages)), messages);
        }
    }
}
