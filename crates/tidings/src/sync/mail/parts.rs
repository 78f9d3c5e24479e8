//! Body parts and attachments, and the decoded bytes of either.
//!
//! A part id is the part's position in a depth-first, pre-order walk of the
//! message's MIME tree, the root being 0 (mail-parser's part index). It
//! depends only on the message bytes, so it stays valid for range fetches.
//! Parts inside an attached message are not numbered here: the attached
//! message is one attachment, fetched whole.
//!
//! Every leaf part is either a body part or an attachment, never both: a
//! text or HTML part that mail-parser places in the text or HTML view of the
//! message is a body part; everything else (including inline images, which
//! the views also reference) is an attachment.
//!
//! Two corrections to mail-parser's views, both as RFC 8621 (JMAP) §4.1.4
//! sorts parts:
//! - A text or HTML part that carries a file name (Content-Disposition
//!   `filename` or Content-Type `name`) and is not the first part of its
//!   multipart is a file: an attachment under that name, `inline` as its
//!   disposition says. mail-parser judges by Content-Type `name` only, so
//!   `Content-Disposition: inline; filename="notes.txt"` lost its name.
//!   The first part stays the body (a body part has no name to keep).
//! - A multipart without a boundary parameter (or whose boundary is not in
//!   its body) cannot be split: its whole body is one `text/plain` body
//!   part, so its text is shown, rather than an attachment of type
//!   multipart that no client opens. It is served as it always was (the
//!   bytes as sent, or the text when the boundary is missing); when those
//!   bytes are not its UTF-8 text (another charset, invalid UTF-8) it stays
//!   an attachment, `application/octet-stream`, and its text is previewed.
//!
//! A body part's bytes are its text in UTF-8, converted from its charset,
//! as the device shows it. An attachment's bytes are the file as sent,
//! decoded from its transfer encoding only: a CSV file in Windows-1252
//! comes back byte for byte, and its listing names the charset its
//! Content-Type gives (`Attachment.charset`) for a device that shows it.
//!
//! A file uuencoded inside plain text (`begin 644 name` … `end`, as mailers
//! wrote before MIME) is also an attachment, under the name on its `begin`
//! line. Every leaf read as plain text is scanned, in part order, whether
//! it is a body part or a named file, and the files found are numbered
//! after the last MIME part, in order: their ids depend only on the MIME
//! structure and text, not on how parts are judged body or attachment. The
//! part still holds the block as sent; the preview leaves it out. Listing
//! such a file reads its size from its lines' count characters; only a
//! fetch decodes it, and only it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::ControlFlow;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{Encoding, Message, MessagePart, MimeHeaders, PartType};

use super::flowed;
use super::headers::headers;
use super::uuencode;

mod redecode;

use crate::proto::{Attachment, BodyPart};
use redecode::{file_bytes, repaired};

/// Part ids of the leaf text and HTML parts shown as the message's body.
pub(super) fn body_part_ids(message: &Message<'_>) -> Vec<u32> {
    let named = named_files(message);
    let mut ids: Vec<u32> = message
        .text_body
        .iter()
        .chain(&message.html_body)
        .copied()
        .filter(|id| !named.contains(id))
        .chain(unsplit_multiparts(message))
        .chain(undecoded_text(message, "plain"))
        .chain(undecoded_text(message, "html"))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|&id| {
        part(message, id).is_some_and(|p| {
            matches!(p.body, PartType::Text(_) | PartType::Html(_))
                || (is_unsplit_multipart(p) && served_as_text(p))
        })
    });
    ids
}

/// Part ids of the message's text view, in order: what the preview reads.
pub(super) fn text_view(message: &Message<'_>) -> Vec<u32> {
    let named = named_files(message);
    let mut ids: Vec<u32> = message
        .text_body
        .iter()
        .copied()
        .filter(|id| !named.contains(id))
        .collect();
    let unsplit = unsplit_multiparts(message);
    let undecoded = undecoded_text(message, "plain");
    if !unsplit.is_empty() || !undecoded.is_empty() {
        ids.extend(unsplit);
        ids.extend(undecoded);
        ids.sort_unstable();
        ids.dedup();
    }
    ids
}

/// Part ids of the message's HTML view, in order, without named files.
pub(super) fn html_view(message: &Message<'_>) -> Vec<u32> {
    let named = named_files(message);
    let html = message.html_body.iter().copied();
    let mut ids: Vec<u32> = html.filter(|id| !named.contains(id)).collect();
    let undecoded = undecoded_text(message, "html");
    if !undecoded.is_empty() {
        ids.extend(undecoded);
        ids.sort_unstable();
        ids.dedup();
    }
    ids
}

/// `text/<subtype>` parts mail-parser listed as attachments only because
/// its decoder gave up on them (base64 text with a mailing list's footer
/// after the data, a stray character), unnamed and not marked as
/// attachments, that are decoded again ([`file_bytes`]): a mail client
/// shows such an inline part as text, and so are they shown.
///
/// At most [`MAX_UNDECODED_SHOWN`] are looked at: each is decoded again
/// to see whether it can be, and a mail of many thousands of them would
/// pay for that on every reading.
fn undecoded_text(message: &Message<'_>, subtype: &str) -> Vec<u32> {
    let candidate = |p: &MessagePart<'_>| {
        p.is_encoding_problem
            && matches!(p.body, PartType::Text(_) | PartType::Html(_))
            && p.attachment_name().is_none_or(|n| n.trim().is_empty())
            && !p.content_disposition().is_some_and(|d| d.is_attachment())
            && p.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("text")
                    && ct
                        .subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case(subtype))
            })
    };
    let attachments = message.attachments.iter().copied();
    attachments
        .filter(|&id| part(message, id).is_some_and(candidate))
        .take(MAX_UNDECODED_SHOWN)
        .filter(|&id| part(message, id).is_some_and(|p| file_bytes(message, p).is_some()))
        .collect()
}

/// Most text parts of one subtype [`undecoded_text`] looks at: real mail
/// has one or two.
const MAX_UNDECODED_SHOWN: usize = 16;

/// Text and HTML parts of the views that are files by their name: named,
/// and neither the root nor the first part of their multipart.
fn named_files(message: &Message<'_>) -> HashSet<u32> {
    let firsts: HashSet<u32> = message
        .parts
        .iter()
        .filter_map(|p| match &p.body {
            PartType::Multipart(children) => children.first().copied(),
            _ => None,
        })
        .collect();
    let named = |id: &u32| {
        part(message, *id).is_some_and(|p| {
            matches!(p.body, PartType::Text(_) | PartType::Html(_))
                && p.attachment_name().is_some_and(|n| !n.trim().is_empty())
        })
    };
    message
        .text_body
        .iter()
        .chain(&message.html_body)
        .copied()
        .filter(|id| *id != 0 && !firsts.contains(id))
        .filter(named)
        .collect()
}

/// Parts declared multipart that mail-parser read as text because they
/// have no boundary to split them by.
fn unsplit_multiparts(message: &Message<'_>) -> Vec<u32> {
    let unsplit = |id: &u32| part(message, *id).is_some_and(is_unsplit_multipart);
    message
        .attachments
        .iter()
        .copied()
        .filter(unsplit)
        .collect()
}

/// Whether `part` is declared multipart but is a leaf: mail-parser found
/// no boundary parameter and kept its body whole.
pub(super) fn is_unsplit_multipart(part: &MessagePart<'_>) -> bool {
    !matches!(part.body, PartType::Multipart(_) | PartType::Message(_))
        && part
            .content_type()
            .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"))
}

/// Whether the bytes served for a multipart read whole are its text as
/// UTF-8, so that it can be a `text/plain` body part.
///
/// A part id must stand for the same bytes in every version (stores
/// re-parse the message on each fetch, against the `size` listed when the
/// item was stored), and such a part was served as mail-parser reads it
/// before it was a body part: as text when its boundary is missing from
/// its body, as the bytes sent when it has no boundary parameter. Those
/// bytes are still what is served; they are its text unless they are not
/// UTF-8 or its charset converts them. Then the part stays the attachment
/// it was (typed `application/octet-stream`, the bytes being in a charset
/// the listing cannot name) and its text is in the preview only.
fn served_as_text(part: &MessagePart<'_>) -> bool {
    match &part.body {
        PartType::Text(_) => true,
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            uudecoded(part).is_none() && unsplit_text(part).as_bytes() == bytes.as_ref()
        }
        PartType::Html(_) | PartType::Message(_) | PartType::Multipart(_) => false,
    }
}

/// The text of a multipart read whole: its decoded bytes in the charset
/// it names, else as UTF-8 (invalid sequences replaced), as mail-parser
/// reads a text part.
pub(super) fn unsplit_text<'a>(part: &'a MessagePart<'a>) -> Cow<'a, str> {
    match &part.body {
        PartType::Text(text) | PartType::Html(text) => Cow::Borrowed(text.as_ref()),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => in_charset(part, bytes),
        PartType::Message(_) | PartType::Multipart(_) => Cow::Borrowed(""),
    }
}

/// `bytes` read in the charset the part names, else as UTF-8 (invalid
/// sequences replaced), as mail-parser reads a text part.
fn in_charset<'a>(part: &MessagePart<'_>, bytes: &'a [u8]) -> Cow<'a, str> {
    let decoder = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|label| charset_decoder(label.as_bytes()));
    match decoder {
        Some(decode) => Cow::Owned(decode(bytes)),
        None => String::from_utf8_lossy(bytes),
    }
}

/// The body parts, in part order.
pub(super) fn body_parts(message: &Message<'_>, body_ids: &[u32]) -> Vec<BodyPart> {
    let with_part = body_ids
        .iter()
        .filter_map(|&id| Some((id, part(message, id)?)));
    with_part
        .map(|(part_id, p)| BodyPart {
            part_id,
            content_type: mime_type(p),
            size: decoded_len(message, p, Role::Body),
        })
        .collect()
}

/// The attachments, in part order: every listed leaf that is not a body
/// part, named text parts, then files pasted into the text (see the module
/// documentation).
pub(super) fn attachments(message: &Message<'_>, body_ids: &[u32]) -> Vec<Attachment> {
    let mut ids: Vec<u32> = message.attachments.clone();
    ids.extend(named_files(message));
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|id| body_ids.binary_search(id).is_err());
    let with_part = ids
        .into_iter()
        .filter_map(|id| Some((id, part(message, id)?)));
    with_part
        .filter(|(_, p)| !matches!(p.body, PartType::Multipart(_)))
        .map(|(part_id, p)| Attachment {
            part_id,
            filename: filename(p, message.raw_message()),
            content_type: mime_type(p),
            charset: charset(p),
            size: decoded_len(message, p, Role::File),
            content_id: p
                .content_id()
                .unwrap_or_default()
                .trim_matches(['<', '>'])
                .to_owned(),
            inline: p.content_disposition().is_some_and(|d| d.is_inline()),
            nested_headers: match &p.body {
                PartType::Message(nested) => Some(headers(nested)),
                _ => None,
            },
        })
        .chain(pasted_files(message))
        .collect()
}

/// The files uuencoded into plain text, listed from their `begin` lines and
/// their lines' lengths, not decoded.
fn pasted_files(message: &Message<'_>) -> Vec<Attachment> {
    let mut files = Vec::new();
    each_pasted_file(message, |part_id, block| {
        let (name, size) = uuencode::summary(block.as_bytes()).unwrap_or_default();
        files.push(Attachment {
            part_id,
            filename: readable_name(name.as_deref().unwrap_or_default()),
            content_type: "application/octet-stream".to_owned(),
            size: u64::try_from(size).unwrap_or(u64::MAX),
            content_id: String::new(),
            inline: false,
            nested_headers: None,
            charset: String::new(),
        });
        ControlFlow::<()>::Continue(())
    });
    files
}

/// The decoded bytes of a leaf part: a body part's text as UTF-8 (converted
/// from its charset), a file's bytes (text files included) decoded from its
/// transfer encoding only, an
/// attached message as its own RFC 5322 bytes, and a file pasted into the
/// text as its decoded bytes. `None` for a multipart container or an
/// unknown id.
pub(super) fn decoded_bytes<'a>(message: &'a Message<'a>, part_id: u32) -> Option<Cow<'a, [u8]>> {
    let role = match body_part_ids(message).binary_search(&part_id) {
        Ok(_) => Role::Body,
        Err(_) => Role::File,
    };
    decoded_bytes_as(message, part_id, role)
}

/// [`decoded_bytes`] for a part whose role the caller knows.
pub(super) fn decoded_bytes_as<'a>(
    message: &'a Message<'a>,
    part_id: u32,
    role: Role,
) -> Option<Cow<'a, [u8]>> {
    match part(message, part_id) {
        Some(part) => content(message, part, role),
        // Only the block asked for is decoded.
        None => each_pasted_file(message, |id, block| match id == part_id {
            true => ControlFlow::Break(uuencode::decode(block.as_bytes())),
            false => ControlFlow::Continue(()),
        })
        .flatten()
        .map(|file| Cow::Owned(file.bytes)),
    }
}

/// Whether a part is shown as the message's body or kept as a file: a
/// text part's bytes differ between the two (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Role {
    /// A body part: text in UTF-8.
    Body,
    /// An attachment: the bytes as sent.
    File,
}

/// Most uuencoded files read out of one mail's text: each becomes an
/// attachment entry and a stored part, and a block can be a dozen bytes
/// (`begin`, one data line, `end`), so a text of them would otherwise cost
/// far more than its size. Blocks past it stay text.
pub const MAX_PASTED_FILES: u32 = 256;

/// Calls `each(part_id, block)` for every file uuencoded into plain text
/// (see the module documentation), in id order, until `each` breaks.
///
/// The ids are a promise kept across versions (stores re-parse the message
/// to serve a part id handed out long ago), so they depend only on the
/// MIME structure and text: every leaf read as plain text ([`plain_text`])
/// is scanned in part order, whether it is a body part or an attachment,
/// and the blocks are numbered from the number of MIME parts on, up to
/// [`MAX_PASTED_FILES`] (a block past it, which versions before the bound
/// listed, is text now and its old id is not served). Nothing is decoded
/// here.
pub(super) fn each_pasted_file<B>(
    message: &Message<'_>,
    mut each: impl FnMut(u32, &str) -> ControlFlow<B>,
) -> Option<B> {
    let first = u32::try_from(message.parts.len()).ok()?;
    let mut next = first;
    for part in &message.parts {
        let Some(text) = plain_text(part) else {
            continue;
        };
        for range in uuencode::blocks_in_text(&text) {
            if next - first >= MAX_PASTED_FILES {
                return None;
            }
            if let ControlFlow::Break(done) = each(next, text.get(range).unwrap_or_default()) {
                return Some(done);
            }
            next = next.checked_add(1)?;
        }
    }
    None
}

/// The text of a leaf read as plain text: a text part that is not HTML
/// (as mail-parser reads `text/plain`, other `text/` types and a multipart
/// whose boundary is not in its body) and a multipart read whole for want
/// of a boundary ([`unsplit_text`]); `None` for any other part.
pub(super) fn plain_text<'a>(part: &'a MessagePart<'a>) -> Option<Cow<'a, str>> {
    if is_unsplit_multipart(part) {
        return Some(unsplit_text(part));
    }
    match &part.body {
        PartType::Text(text) => Some(Cow::Borrowed(text.as_ref())),
        _ => None,
    }
}

/// `text`, a part's plain text, as a reader sees it: flowed text with its
/// soft breaks joined ([`flowed`]). Pasted files are found in the text as
/// written ([`each_pasted_file`]), so their ids do not depend on this.
pub(super) fn as_read<'a>(part: &MessagePart<'_>, text: Cow<'a, str>) -> Cow<'a, str> {
    match flowed::flowed(part) {
        Some(delsp) => Cow::Owned(flowed::unflowed(&text, delsp)),
        None => text,
    }
}

/// `text` without the uuencoded files pasted into it.
pub(super) fn without_pasted_files(text: &str) -> Cow<'_, str> {
    let blocks = uuencode::blocks_in_text(text);
    if blocks.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut kept = String::with_capacity(text.len());
    let mut from = 0;
    for block in blocks {
        kept.push_str(text.get(from..block.start).unwrap_or_default());
        from = block.end;
    }
    kept.push_str(text.get(from..).unwrap_or_default());
    Cow::Owned(kept)
}

/// What `part` is served as; a multipart read whole is served as
/// mail-parser reads it, as it always was (see [`served_as_text`]).
fn content<'a>(
    message: &'a Message<'a>,
    part: &'a MessagePart<'a>,
    role: Role,
) -> Option<Cow<'a, [u8]>> {
    match &part.body {
        PartType::Text(text) | PartType::Html(text) => match role {
            Role::Body => Some(match shown_text(message, part, text) {
                Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
                Cow::Owned(text) => Cow::Owned(text.into_bytes()),
            }),
            Role::File => Some(match repaired(message, part) {
                Some(bytes) => Cow::Owned(bytes),
                None => file_bytes(message, part).unwrap_or(Cow::Borrowed(text.as_bytes())),
            }),
        },
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => match uudecoded(part) {
            Some(decoded) => Some(Cow::Owned(decoded.bytes)),
            None => Some(repaired(message, part).map_or(Cow::Borrowed(bytes), Cow::Owned)),
        },
        // mail-parser reads an unencoded attached message in place and gives
        // it the whole outer message as `raw_message`; its own bytes are the
        // part's body range. An encoded one was decoded into `raw_message`.
        PartType::Message(nested) => match part.encoding {
            Encoding::None => {
                let range = usize::try_from(part.offset_body).ok()?
                    ..usize::try_from(part.offset_end).ok()?;
                Some(Cow::Borrowed(
                    message.raw_message.get(range).unwrap_or_default(),
                ))
            }
            _ => Some(Cow::Borrowed(&nested.raw_message)),
        },
        PartType::Multipart(_) => None,
    }
}

/// A body part's text as shown: `text` as mail-parser read it, unless its
/// bytes had to be decoded again ([`repaired`]) or it is HTML read in the
/// charset its `<meta>` declares ([`meta_charset`]); flowed text with its
/// soft breaks joined ([`flowed`]).
pub(super) fn shown_text<'a>(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    text: &'a str,
) -> Cow<'a, str> {
    if let Some(text) = in_meta_charset(message, part) {
        return Cow::Owned(text);
    }
    let text = match repaired(message, part) {
        Some(bytes) => Cow::Owned(in_charset(part, &bytes).into_owned()),
        None => Cow::Borrowed(text),
    };
    let text = match unlabelled_8bit(message, part, &text) {
        Some(guessed) => Cow::Owned(guessed),
        None => text,
    };
    as_read(part, text)
}

/// A text part's bytes in the charset that fits them, when they are not
/// UTF-8 although the part names no other charset (mail-parser read each
/// 8-bit byte as U+FFFD): see [`super::charset::guessed_text`]. `None`
/// when the text holds no U+FFFD, the part names another charset, or its
/// bytes are UTF-8 (the U+FFFD is the sender's).
fn unlabelled_8bit(message: &Message<'_>, part: &MessagePart<'_>, text: &str) -> Option<String> {
    if !text.contains('\u{FFFD}') {
        return None;
    }
    let label = part.content_type().and_then(|ct| ct.attribute("charset"));
    let names_another = label.is_some_and(|label| {
        let label = label.trim().to_ascii_lowercase();
        !matches!(label.as_str(), "utf-8" | "utf8" | "us-ascii" | "ascii")
    });
    if names_another {
        return None;
    }
    let bytes = file_bytes(message, part)?;
    if std::str::from_utf8(&bytes).is_ok() {
        return None;
    }
    Some(super::charset::guessed_text(&bytes))
}

/// An HTML part's text in the charset its `<meta>` declares, when its
/// Content-Type names none: mail-parser then reads it as UTF-8, and a page
/// in Windows-1252 came out as replacement characters. A browser applies
/// the same prescan. `None` for any other part, or when the HTML declares
/// no charset that can be read.
fn in_meta_charset(message: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let labelled = part
        .content_type()
        .is_some_and(|ct| ct.attribute("charset").is_some());
    if labelled || !matches!(part.body, PartType::Html(_)) {
        return None;
    }
    let bytes = match repaired(message, part) {
        Some(bytes) => Cow::Owned(bytes),
        None => file_bytes(message, part)?,
    };
    let decode = charset_decoder(meta_charset(&bytes)?.as_bytes())?;
    Some(decode(&bytes))
}

/// Bytes of HTML a browser looks through for a `<meta>` charset.
const META_PRESCAN_BYTES: usize = 1024;

/// The charset label a `<meta charset=…>` or `<meta http-equiv=…
/// content="…; charset=…">` tag in the first 1024 bytes of `html` names,
/// as the HTML encoding prescan finds it (simplified: the first `charset=`
/// inside a `<meta` tag). A UTF-16 label is read as UTF-8, as browsers do,
/// so it gives `None` (mail-parser's reading).
fn meta_charset(html: &[u8]) -> Option<String> {
    let head = html.get(..html.len().min(META_PRESCAN_BYTES))?;
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(lower.get(from..)?, b"<meta") {
        let start = from.checked_add(at)?.checked_add(5)?;
        let rest = lower.get(start..)?;
        let tag_len = rest.iter().position(|&b| b == b'>').unwrap_or(rest.len());
        let tag = rest.get(..tag_len)?;
        let opens = tag
            .first()
            .is_some_and(|&b| b.is_ascii_whitespace() || b == b'/');
        if let Some(label) = opens.then(|| charset_in(tag)).flatten() {
            return (!label.starts_with("utf-16")).then_some(label);
        }
        from = start.checked_add(tag_len)?;
    }
    None
}

/// The value after the first `charset` `=` in a (lower-case) tag.
fn charset_in(tag: &[u8]) -> Option<String> {
    let mut rest = tag;
    while let Some(at) = find(rest, b"charset") {
        rest = rest.get(at.checked_add(7)?..)?;
        let after = rest.trim_ascii_start();
        let Some(value) = after.strip_prefix(b"=") else {
            continue;
        };
        let value = value.trim_ascii_start();
        let value = value
            .strip_prefix(b"\"")
            .or_else(|| value.strip_prefix(b"'"))
            .unwrap_or(value);
        let end = value
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b"\"';/>".contains(&b))
            .unwrap_or(value.len());
        let label = value.get(..end)?;
        return (!label.is_empty()).then(|| String::from_utf8_lossy(label).into_owned());
    }
    None
}

/// Where `needle` first starts in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The charset a text attachment's Content-Type names, in lower case, when
/// it is a token of at most 64 bytes; `""` for any other part.
fn charset(part: &MessagePart<'_>) -> String {
    let label = part
        .content_type()
        .filter(|ct| ct.ctype().eq_ignore_ascii_case("text"))
        .and_then(|ct| ct.attribute("charset"))
        .unwrap_or_default()
        .trim();
    let token = label.len() <= 64
        && label
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b));
    if token {
        label.to_ascii_lowercase()
    } else {
        String::new()
    }
}

/// The decoded block of a part sent as x-uuencode; `None` for any other part
/// (and for one whose body holds no `begin` line: it is served as it is).
fn uudecoded(part: &MessagePart<'_>) -> Option<uuencode::Decoded> {
    let (PartType::Binary(bytes) | PartType::InlineBinary(bytes)) = &part.body else {
        return None;
    };
    uuencode::is_uuencode(part.content_transfer_encoding()?)
        .then(|| uuencode::decode(bytes))
        .flatten()
}

/// The attachment's file name as a person would read it: from its headers
/// (RFC 2231 resolved by mail-parser, encoded words by
/// [`name_words`](super::name_words)) or else the x-uuencode `begin` line;
/// fold whitespace and control characters, which mailers that fold inside
/// a quoted name leave behind, become one space. `raw` is the message.
fn filename(part: &MessagePart<'_>, raw: &[u8]) -> String {
    if let Some(name) = super::name_words::encoded_name(part, raw) {
        return readable_name(&name);
    }
    let name = match part.attachment_name() {
        Some(name) => Cow::Borrowed(name),
        None => Cow::Owned(uudecoded(part).and_then(|d| d.name).unwrap_or_default()),
    };
    readable_name(&name)
}

/// `name` with each run of whitespace and control characters made one
/// space, and none at either end.
fn readable_name(name: &str) -> String {
    let mut clean = String::with_capacity(name.len());
    let mut pending_space = false;
    for c in name.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
            continue;
        }
        if pending_space && !clean.is_empty() {
            clean.push(' ');
        }
        pending_space = false;
        clean.push(c);
    }
    clean
}

/// The part numbered `id`, if there is one.
pub(super) fn part<'a>(message: &'a Message<'a>, id: u32) -> Option<&'a MessagePart<'a>> {
    message.parts.get(usize::try_from(id).ok()?)
}

/// The length of [`decoded_bytes`] for the same part.
fn decoded_len(message: &Message<'_>, part: &MessagePart<'_>, role: Role) -> u64 {
    let len = content(message, part, role).map_or(0, |bytes| bytes.len());
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// "type/subtype" in lower case, from Content-Type or, when it is absent,
/// from what mail-parser made of the part (RFC 2045 defaults).
fn mime_type(part: &MessagePart<'_>) -> String {
    if is_unsplit_multipart(part) {
        return match served_as_text(part) {
            true => "text/plain",
            false => "application/octet-stream",
        }
        .to_owned();
    }
    if let Some(ct) = part.content_type() {
        let full = match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_owned(),
        };
        return full.to_ascii_lowercase();
    }
    match part.body {
        PartType::Text(_) => "text/plain",
        PartType::Html(_) => "text/html",
        PartType::Message(_) => "message/rfc822",
        _ => "application/octet-stream",
    }
    .to_owned()
}
