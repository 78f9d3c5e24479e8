//! RFC 5322 / MIME messages into [`MailItem`]s, and the decoded bytes of one
//! part for range fetches.
//!
//! ```
//! use tidings::sync::mail::{MailItemOptions, mail_item_from_message, part_bytes};
//!
//! let raw = b"From: =?utf-8?q?J=C3=B6rg?= <joerg@town.example>\r\n\
//!             To: mayor@town.example\r\n\
//!             Subject: Budget\r\n\
//!             Date: Mon, 30 Nov 2026 09:00:00 +0100\r\n\r\n\
//!             The   second reading is on Thursday.\r\n";
//! let options = MailItemOptions { id: 7, folder_id: 1, ..MailItemOptions::default() };
//! let item = mail_item_from_message(raw, &options)?;
//! let headers = item.headers.as_ref().unwrap();
//! assert_eq!(headers.from[0].name, "Jörg");
//! assert_eq!(headers.date_offset_minutes, 60);
//! assert_eq!(item.preview, "The second reading is on Thursday.");
//! let text = part_bytes(raw, item.body_parts[0].part_id)?;
//! assert_eq!(text.len() as u64, item.body_parts[0].size);
//! # Ok::<(), tidings::Error>(())
//! ```
//!
//! Parsing is done by `mail-parser` (Stalwart), which resolves encoded words
//! and charsets, multipart structure, transfer encodings, nested messages and
//! HTML-to-text, never panics on malformed mail and is fuzzed upstream. It is
//! pinned to 0.11, the newest line that builds with this crate's Rust.
//!
//! A part id is the part's position in a depth-first, pre-order walk of the
//! MIME tree, the root being 0, so it depends only on the message bytes and
//! stays valid for range fetches. Every leaf is either a body part (a text or
//! HTML part shown as the message's text or HTML view) or an attachment
//! (everything else, inline images and named text parts after the first
//! included); an attached message is one attachment whose own parts are not
//! numbered. A multipart without a boundary is read as one text part,
//! served as it was before it was one (its bytes as sent: when they are not
//! UTF-8 it stays an attachment). A multipart never closed ends its last part
//! where the multipart around it goes on, or where the mail ends. A file uuencoded inside plain text (any
//! text leaf, body or not) is an attachment too, numbered after the last
//! MIME part, and left out of the preview.

mod base64_end;
mod charset;
mod date_zones;
mod flowed;
mod guard;
mod headers;
mod html;
mod labels;
mod name_words;
mod outgoing;
mod param_folds;
mod parsed;
mod parts;
mod phrase;
mod preview;
mod reply;
mod unclosed;
mod uuencode;
mod words;

pub use guard::{
    BOUNDARY_SEEKS_PER_BYTE, MAX_ATTACHED_MESSAGES, MAX_BOUNDARY_BYTES, MAX_EXTRA_BOUNDARY_SEEK,
    MAX_EXTRA_STRUCTURE, MAX_HEADER_WORK, MAX_MULTIPART_FIELD, STRUCTURE_PER_BYTE,
};
pub use headers::MAX_LISTED_PER_FIELD;
pub use outgoing::{
    MAX_ADDRESS_BYTES, check_address, check_media_type, check_outgoing, header_text,
    media_type_charset, media_type_method,
};
pub use parsed::ParsedMail;
pub use parts::MAX_PASTED_FILES;
pub use reply::reply_recipients;

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::ControlFlow;

use mail_parser::{Message, MessageParser, PartType};

use crate::error::{Error, ErrorKind, Result};
use crate::proto::MailItem;

/// Preview length a new mail arrives with unless configured otherwise.
pub const DEFAULT_PREVIEW_BYTES: usize = 2048;

/// How [`mail_item_from_message`] fills in what the message does not say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailItemOptions {
    /// The item id the server assigned.
    pub id: u64,
    /// The folder (collection) holding the item.
    pub folder_id: u64,
    /// Most bytes of text in the preview (default [`DEFAULT_PREVIEW_BYTES`]).
    pub preview_bytes: usize,
}

impl Default for MailItemOptions {
    fn default() -> Self {
        MailItemOptions {
            id: 0,
            folder_id: 0,
            preview_bytes: DEFAULT_PREVIEW_BYTES,
        }
    }
}

/// Converts a raw RFC 5322 message into a [`MailItem`]: decoded headers, a
/// text preview (derived from HTML for HTML-only mail), body parts and
/// attachment metadata with stable part ids, and `size` = `raw.len()`.
///
/// `flags` are left at 0 for the server to set; `headers.thread_id` names
/// the message's conversation by its thread's first message id.
///
/// # Errors
///
/// [`ErrorKind::InvalidData`] when `raw` holds no message at all (mail-parser
/// finds no header). Malformed but readable mail is converted as far as it
/// can be read, as a mail client would show it.
pub fn mail_item_from_message(raw: &[u8], options: &MailItemOptions) -> Result<MailItem> {
    let lines = readable(raw)?;
    let message = parse(&lines)?;
    Ok(item_of(&message, raw.len(), options))
}

/// The item of a parsed message of `size` bytes.
fn item_of(message: &Message<'_>, size: usize, options: &MailItemOptions) -> MailItem {
    let body_ids = parts::body_part_ids(message);
    let (preview, preview_truncated) = preview_of(message, options.preview_bytes);
    MailItem {
        id: options.id,
        folder_id: options.folder_id,
        headers: Some(headers::headers(message)),
        preview,
        preview_truncated,
        body_parts: parts::body_parts(message, &body_ids),
        attachments: parts::attachments(message, &body_ids),
        flags: 0,
        size: u64::try_from(size).unwrap_or(u64::MAX),
        abridged: None,
    }
}

/// The decoded bytes of the body part or attachment `part_id` of `raw`, as
/// listed by [`mail_item_from_message`]; their length is the listed `size`.
///
/// Body parts (text and HTML shown as the message) are UTF-8, converted
/// from their charset; attachments, text files included, are the bytes as
/// sent, decoded from their transfer encoding only; an attached message is
/// its own RFC 5322 bytes.
///
/// # Errors
///
/// [`ErrorKind::InvalidData`] as for [`mail_item_from_message`], and
/// [`ErrorKind::NotFound`] when no body part or attachment has `part_id`.
pub fn part_bytes(raw: &[u8], part_id: u32) -> Result<Vec<u8>> {
    let lines = readable(raw)?;
    let message = parse(&lines)?;
    let bytes = parts::decoded_bytes(&message, part_id).map(Cow::into_owned);
    bytes.ok_or(Error::new(
        ErrorKind::NotFound,
        "no body part or attachment has this part id",
    ))
}

/// Calls `each(part_id, bytes)` with the decoded bytes of every body part
/// and attachment [`mail_item_from_message`] lists (body parts first, then
/// attachments, then files pasted into text as uuencode), parsing
/// `raw` once: how a store keeps parts apart at delivery, so that range
/// fetches need not parse the message again.
///
/// # Errors
///
/// [`ErrorKind::InvalidData`] as for [`mail_item_from_message`], and any
/// error `each` returns (which stops the walk).
pub fn for_each_part(raw: &[u8], each: impl FnMut(u32, &[u8]) -> Result<()>) -> Result<()> {
    let lines = readable(raw)?;
    let message = parse(&lines)?;
    each_part_of(&message, each)
}

/// [`for_each_part`] of a parsed message.
fn each_part_of(
    message: &Message<'_>,
    mut each: impl FnMut(u32, &[u8]) -> Result<()>,
) -> Result<()> {
    let body_ids = parts::body_part_ids(message);
    let ids = parts::body_parts(message, &body_ids)
        .into_iter()
        .map(|p| p.part_id)
        .chain(
            parts::attachments(message, &body_ids)
                .into_iter()
                .map(|a| a.part_id),
        );
    // MIME parts by id; pasted files, numbered after them, decoded once
    // and one at a time.
    for id in ids.filter(|&id| parts::part(message, id).is_some()) {
        let role = match body_ids.binary_search(&id) {
            Ok(_) => parts::Role::Body,
            Err(_) => parts::Role::File,
        };
        if let Some(bytes) = parts::decoded_bytes_as(message, id, role) {
            each(id, &bytes)?;
        }
    }
    let failed = parts::each_pasted_file(message, |id, block| {
        let bytes = uuencode::decode(block.as_bytes()).map(|d| d.bytes);
        match each(id, bytes.as_deref().unwrap_or_default()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(error) => ControlFlow::Break(error),
        }
    });
    failed.map_or(Ok(()), Err)
}

/// `raw` as mail-parser can read it: [`line_ends`], then
/// [`param_folds::joined`], [`labels::named`] and [`date_zones::padded`], checked by
/// [`guard::check`], its unclosed multiparts [`unclosed::closed`]. Each
/// step copies only when it changes something, which is rare.
///
/// # Errors
///
/// [`ErrorKind::InvalidData`] when it is not mail or the guard refuses it.
fn readable(raw: &[u8]) -> Result<Cow<'_, [u8]>> {
    let lines = line_ends(raw);
    let joined = then(lines, param_folds::joined);
    let named = then(joined, labels::named);
    let text = then(named, date_zones::padded);
    if !starts_as_mail(&text) {
        return Err(Error::new(
            ErrorKind::InvalidData,
            "not a mail message: it does not start with a header field",
        ));
    }
    let closes = guard::check(&text)?;
    Ok(unclosed::closed(text, &closes))
}

/// `cow` after `step`, borrowing still when `step` changed nothing.
fn then<'a>(cow: Cow<'a, [u8]>, step: fn(&[u8]) -> Cow<'_, [u8]>) -> Cow<'a, [u8]> {
    match step(&cow) {
        Cow::Borrowed(_) => cow,
        Cow::Owned(changed) => Cow::Owned(changed),
    }
}

/// `raw` without a leading UTF-8 byte-order mark (some Windows tools write
/// one before the first header field) and with old Mac line ends made
/// CRLF: when its first line ends in a CR not followed by LF, every such
/// lone CR ends a line (else mail-parser reads the whole header block as
/// one field). Mail with CRLF or LF line ends is returned as it is, lone
/// CRs in its bodies included.
fn line_ends(raw: &[u8]) -> Cow<'_, [u8]> {
    let raw = raw.strip_prefix(b"\xef\xbb\xbf").unwrap_or(raw);
    let first_end = raw.iter().position(|&b| b == b'\r' || b == b'\n');
    let old_mac =
        first_end.is_some_and(|at| raw.get(at) == Some(&b'\r') && raw.get(at + 1) != Some(&b'\n'));
    if !old_mac {
        return Cow::Borrowed(raw);
    }
    let lone = raw.iter().filter(|&&b| b == b'\r').count();
    let mut out = Vec::with_capacity(raw.len().saturating_add(lone));
    let mut bytes = raw.iter().peekable();
    while let Some(&b) = bytes.next() {
        out.push(b);
        if b == b'\r' && bytes.peek() != Some(&&b'\n') {
            out.push(b'\n');
        }
    }
    Cow::Owned(out)
}

/// Parses text made [`readable`].
fn parse(raw: &[u8]) -> Result<Message<'_>> {
    MessageParser::default().parse(raw).ok_or(Error::new(
        ErrorKind::InvalidData,
        "no RFC 5322 message header found",
    ))
}

/// Whether `raw` starts as RFC 5322 mail does: a header field (`Name:`
/// with a printable ASCII name and no NUL byte in the line), after at most
/// an mbox `From ` line. (A NUL in a later field's value is mail's own
/// damage, not a sign of a binary file.) mail-parser reads anything as a message, so a
/// picture, an Outlook `.msg` file or random bytes would otherwise become an
/// empty mail.
fn starts_as_mail(raw: &[u8]) -> bool {
    let mut lines = raw.split(|&b| b == b'\n').peekable();
    // `From  : …` is a field (below), not an mbox line.
    let mbox_line = |l: &&[u8]| l.starts_with(b"From ") && !is_field(l);
    if lines.peek().is_some_and(mbox_line) {
        lines.next();
    }
    lines.peek().is_some_and(|first| is_field(first))
}

/// Whether `line` is a header field: a printable ASCII name, then `:`,
/// with no NUL byte. White space may come before the colon (`From  :`):
/// RFC 5322 §4.5.3 obs-optional, which a receiver must accept (§4).
fn is_field(line: &[u8]) -> bool {
    let name = line
        .iter()
        .position(|&b| b == b':')
        .and_then(|end| line.get(..end))
        .map(|n| {
            let wsp = n.iter().rev().take_while(|&&b| b == b' ' || b == b'\t');
            n.get(..n.len() - wsp.count()).unwrap_or_default()
        });
    let named = name.is_some_and(|n| !n.is_empty() && n.iter().all(|&b| (33..=126).contains(&b)));
    named && !line.contains(&0)
}

/// The preview from the text view of the message's body parts, in order;
/// from the HTML view when the text view has no text (an empty plain
/// alternative beside the HTML, as some mailers send: it is read as
/// HTML-only mail is).
fn preview_of(message: &Message<'_>, max: usize) -> (String, bool) {
    let from_text = preview_from(message, parts::text_view(message), max);
    if !from_text.0.is_empty() {
        return from_text;
    }
    preview_from(message, parts::html_view(message), max)
}

/// The preview from the parts `ids`, in order.
fn preview_from(message: &Message<'_>, ids: Vec<u32>, max: usize) -> (String, bool) {
    let mut preview = preview::Preview::new(max);
    let mut seen = HashSet::new();
    for id in ids {
        // Each part once, HTML as text, and inline images not at all.
        if !seen.insert(id) {
            continue;
        }
        let Some(part) = parts::part(message, id) else {
            continue;
        };
        // Plain text (a multipart read whole included) without the files
        // pasted into it, which are attachments.
        let pushed = match (parts::plain_text(part), &part.body) {
            // A text part as served: decoded again when mail-parser could
            // not (a truncated multipart), flowed text joined.
            (Some(_), PartType::Text(text)) => {
                let shown = parts::shown_text(message, part, text);
                preview.push_part(&parts::without_pasted_files(&shown))
            }
            (Some(text), _) => {
                let text = parts::without_pasted_files(&text);
                preview.push_part(&parts::as_read(part, text))
            }
            (None, PartType::Html(html)) => {
                let html = parts::shown_text(message, part, html);
                preview.push_part(&html::preview_text(&html))
            }
            (None, _) => continue,
        };
        if !pushed {
            break;
        }
    }
    preview.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain-text mail with `files` uuencoded files pasted into it.
    fn with_pasted(files: usize) -> Vec<u8> {
        let mut raw = String::from("From: a@ex.org\r\nSubject: files\r\n\r\nsee below\r\n");
        for n in 0..files {
            raw.push_str(&format!("begin 644 f{n}.txt\r\n#86)C\r\n`\r\nend\r\n"));
        }
        raw.into_bytes()
    }

    fn decodes(run: impl FnOnce()) -> usize {
        let before = uuencode::DECODES.with(std::cell::Cell::get);
        run();
        uuencode::DECODES.with(std::cell::Cell::get) - before
    }

    #[test]
    fn pasted_files_are_listed_undecoded_and_decoded_one_at_a_time() {
        let raw = with_pasted(3);
        let mut item = None;
        let listing =
            decodes(|| item = mail_item_from_message(&raw, &MailItemOptions::default()).ok());
        let item = item.expect("converts");
        let files: Vec<(u32, u64)> = item
            .attachments
            .iter()
            .map(|a| (a.part_id, a.size))
            .collect();
        assert_eq!(files, [(1, 3), (2, 3), (3, 3)]);
        assert_eq!(listing, 0, "the listing decodes no file");
        let mut bytes = Vec::new();
        assert_eq!(decodes(|| bytes = part_bytes(&raw, 2).expect("bytes")), 1);
        assert_eq!(bytes, b"abc");
        let mut seen = 0;
        let walk = decodes(|| {
            for_each_part(&raw, |_, _| {
                seen += 1;
                Ok(())
            })
            .expect("parts");
        });
        assert_eq!((seen, walk), (4, 3), "each file decoded once");
    }
}

#[cfg(all(test, feature = "full-charsets"))]
#[path = "charset_tests.rs"]
mod charset_tests;
