//! Property tests of the mail converter: no input makes it panic, every
//! part it lists can be fetched with exactly the listed size, and a mail
//! read once for storing (`ParsedMail`) is what the two reads give.

use proptest::prelude::*;
use tidings::ErrorKind;
use tidings::sync::mail::{
    MailItemOptions, ParsedMail, for_each_part, mail_item_from_message, part_bytes,
};

/// Converts `raw` and checks what must hold for any message.
fn check(raw: &[u8], preview_bytes: usize) -> Result<(), TestCaseError> {
    let options = MailItemOptions {
        preview_bytes,
        ..MailItemOptions::default()
    };
    let read = ParsedMail::parse(raw, preview_bytes);
    let item = match mail_item_from_message(raw, &options) {
        Ok(item) => item,
        Err(e) => {
            prop_assert_eq!(e.kind(), ErrorKind::InvalidData);
            prop_assert_eq!(read.map_err(|e| e.kind()), Err(ErrorKind::InvalidData));
            return Ok(());
        }
    };
    let mut parts = Vec::new();
    let walked = for_each_part(raw, |id, bytes| {
        parts.push((id, bytes.to_vec()));
        Ok(())
    });
    prop_assert!(walked.is_ok());
    let expected = ParsedMail {
        item: item.clone(),
        parts,
    };
    prop_assert_eq!(read.ok(), Some(expected));
    prop_assert!(item.preview.len() <= preview_bytes);
    prop_assert_eq!(item.size, raw.len() as u64);
    let bodies = item.body_parts.iter().map(|p| (p.part_id, p.size));
    let listed: Vec<(u32, u64)> = bodies
        .chain(item.attachments.iter().map(|a| (a.part_id, a.size)))
        .collect();
    for &(id, size) in &listed {
        prop_assert_eq!(part_bytes(raw, id).map(|b| b.len() as u64), Ok(size));
    }
    // No part is both a body part and an attachment.
    let mut ids: Vec<u32> = listed.iter().map(|&(id, _)| id).collect();
    ids.sort_unstable();
    ids.dedup();
    prop_assert_eq!(ids.len(), listed.len());
    Ok(())
}

/// One MIME entity: a leaf of some type and encoding, or a multipart or an
/// attached message of further entities (`depth` levels at most).
fn entity(depth: u32) -> BoxedStrategy<String> {
    let body = "[ -~éü\\r\\n=<>]{0,60}";
    let leaf = (
        prop_oneof![
            Just("text/plain; charset=iso-8859-1"),
            Just("text/html"),
            Just("image/png"),
            Just("application/pdf; name=\"a b.pdf\"")
        ],
        prop_oneof![
            Just(""),
            Just("base64"),
            Just("quoted-printable"),
            Just("8bit")
        ],
        prop_oneof![
            Just(""),
            Just("inline"),
            Just("attachment; filename*=utf-8''%C3%A4.txt")
        ],
        body,
    )
        .prop_map(|(ct, cte, cd, body)| {
            let mut head = format!("Content-Type: {ct}\r\n");
            if !cte.is_empty() {
                head += &format!("Content-Transfer-Encoding: {cte}\r\n");
            }
            if !cd.is_empty() {
                head += &format!("Content-Disposition: {cd}\r\nContent-ID: <x@y>\r\n");
            }
            format!("{head}\r\n{body}")
        });
    if depth == 0 {
        return leaf.boxed();
    }
    let multipart = (
        prop_oneof![
            Just("mixed"),
            Just("alternative"),
            Just("related"),
            Just("digest")
        ],
        proptest::collection::vec(entity(depth - 1), 0..4),
        any::<bool>(),
    )
        .prop_map(move |(kind, parts, closed)| {
            let boundary = format!("b{depth}");
            let mut out = format!(
                "Content-Type: multipart/{kind}; boundary=\"{boundary}\"\r\n\r\npreamble\r\n"
            );
            for part in parts {
                out += &format!("--{boundary}\r\n{part}\r\n");
            }
            if closed {
                out += &format!("--{boundary}--\r\n");
            }
            out
        });
    let message =
        (entity(depth - 1), prop_oneof![Just(""), Just("base64")]).prop_map(|(inner, cte)| {
            let inner = format!("Subject: inner\r\nFrom: a@b\r\n{inner}");
            match cte {
                "" => format!("Content-Type: message/rfc822\r\n\r\n{inner}"),
                _ => format!(
                    "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
                    base64(inner.as_bytes())
                ),
            }
        });
    prop_oneof![2 => leaf, 2 => multipart, 1 => message].boxed()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            let c = if i <= chunk.len() {
                ALPHABET[(n >> (18 - 6 * i) & 63) as usize]
            } else {
                b'='
            };
            out.push(char::from(c));
        }
    }
    out
}

/// Whole messages, sometimes cut short anywhere.
fn message() -> impl Strategy<Value = Vec<u8>> {
    (entity(3), any::<prop::sample::Index>(), any::<bool>()).prop_map(|(body, cut, truncate)| {
        let raw = format!("From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\r\nSubject: s\r\nMIME-Version: 1.0\r\n{body}");
        let mut raw = raw.into_bytes();
        if truncate {
            raw.truncate(cut.index(raw.len() + 1));
        }
        raw
    })
}

proptest! {
    #[test]
    fn any_bytes_make_a_mail_item_or_a_typed_error(raw in proptest::collection::vec(any::<u8>(), 0..2048), preview in 0usize..300) {
        check(&raw, preview)?;
    }

    #[test]
    fn any_mime_structure_makes_a_consistent_mail_item(raw in message(), preview in 0usize..300) {
        check(&raw, preview)?;
    }
}
