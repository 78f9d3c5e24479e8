//! Shared helpers of the benchmarks: real input that the project did not write.

use std::path::PathBuf;
use std::process::Command;

/// The directory of CPython's email test messages (`test/test_email/data`),
/// found through the machine's `python3`.
pub fn cpython_email_dir() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, test.test_email as t; print(os.path.join(os.path.dirname(t.__file__), 'data'))",
        ])
        .output()
        .ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.is_dir().then_some(dir)
}

/// Every `msg_*.txt` message in CPython's email test data, sorted by name.
pub fn cpython_messages() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = cpython_email_dir() else {
        return Vec::new();
    };
    let mut messages: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            (name.starts_with("msg_") && name.ends_with(".txt"))
                .then(|| Some((name, std::fs::read(entry.path()).ok()?)))?
        })
        .collect();
    messages.sort();
    messages
}

/// Bytes of text a new mail carries as its preview (DESIGN §5: ~2 KB).
pub const PREVIEW_BYTES: usize = 2048;

/// A mail item as a device first receives it (headers and a 2 KB preview),
/// from a real RFC 5322 message. Measurement only: not the core's converter.
pub fn mail_item(id: u64, raw: &[u8]) -> Option<tidings::proto::MailItem> {
    use mail_parser::{Address, MessageParser};
    use tidings::proto;
    let message = MessageParser::default().parse(raw)?;
    let addresses = |a: Option<&Address<'_>>| -> Vec<proto::Address> {
        a.into_iter()
            .flat_map(|a| a.iter())
            .map(|a| proto::Address {
                name: a.name().unwrap_or_default().to_string(),
                email: a.address().unwrap_or_default().to_string(),
            })
            .collect()
    };
    let text = message
        .body_text(0)
        .or_else(|| message.body_html(0))
        .unwrap_or_default();
    let mut cut = text.len().min(PREVIEW_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Some(proto::MailItem {
        id,
        folder_id: 1,
        headers: Some(proto::MailHeaders {
            from: addresses(message.from()),
            to: addresses(message.to()),
            cc: addresses(message.cc()),
            subject: message.subject().unwrap_or_default().to_string(),
            date: message.date().map_or(0, |d| d.to_timestamp()),
            message_id: message.message_id().unwrap_or_default().to_string(),
            ..Default::default()
        }),
        preview: text[..cut].to_string(),
        preview_truncated: cut < text.len(),
        size: raw.len() as u64,
        ..Default::default()
    })
}

/// Every CPython test message that parses, as encoded `Item` protobufs.
pub fn real_items() -> Vec<Vec<u8>> {
    use tidings::proto::{self, Item, item};
    cpython_messages()
        .iter()
        .enumerate()
        .filter_map(|(i, (_, raw))| mail_item(i as u64 + 1, raw))
        .map(|mail| {
            proto::encode(&Item {
                kind: Some(item::Kind::Mail(mail)),
            })
        })
        .collect()
}
