//! Splitting an mbox file into its messages.

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
    // The blank line before each separator belongs to the mbox, not the mail.
    fn end(mut message: Vec<u8>) -> Vec<u8> {
        for blank in [&b"\r\n"[..], b"\n"] {
            let body = message.len().saturating_sub(blank.len());
            let after_line = body == 0 || message.get(body - 1) == Some(&b'\n');
            if message.ends_with(blank) && after_line {
                message.truncate(body);
                break;
            }
        }
        message
    }
    let mut messages: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut current: Option<(usize, Vec<u8>)> = None;
    for (index, line) in mbox.split_inclusive(|&b| b == b'\n').enumerate() {
        if line.starts_with(b"From ") {
            messages.extend(current.take().map(|(at, m)| (at, end(m))));
            current = Some((index + 1, Vec::new()));
            continue;
        }
        let Some((_, message)) = current.as_mut() else {
            continue; // text before the first separator is not a message
        };
        let quoted = line.iter().take_while(|&&b| b == b'>').count();
        if quoted > 0
            && line
                .get(quoted..)
                .is_some_and(|rest| rest.starts_with(b"From "))
        {
            message.extend_from_slice(line.get(1..).unwrap_or_default());
        } else {
            message.extend_from_slice(line);
        }
    }
    messages.extend(current.map(|(at, m)| (at, end(m))));
    messages
}

#[cfg(test)]
mod tests {
    use super::{split_mbox, split_mbox_numbered};
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
