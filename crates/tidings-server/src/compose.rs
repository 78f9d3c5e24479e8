//! Mail a device sends: composed as RFC 5322 on the server (a reply quotes
//! the original and threads under it, a forward attaches it: the device
//! never uploads it again), then delivered.
//!
//! The reference server delivers locally: into the Inbox of every
//! recipient who is a principal here, and into the sender's Sent folder if
//! it has one. Other recipients are counted and logged. A principal
//! mirrored from an upstream with SMTP sends through the gateway's outbox
//! instead ([`outbox`]): submitted over SMTP, filed in the upstream's Sent.

use crate::clock::{now_ms, random};
use crate::stores::ServerStore;
use file_part::{Body, file_part};
use mail_builder::MessageBuilder;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};
use tidings::compress::unpack;
use tidings::proto::{self, Address, CollectionKind, Item, item};
use tidings::session::{Outgoing, Relation};
use tidings::store::Principal;
use tidings::sync::mail::{
    DEFAULT_PREVIEW_BYTES, MailItemOptions, ParsedMail, check_address, check_media_type,
    header_text, mail_item_from_message, media_type_charset, media_type_method, part_bytes,
};
use tidings::{Error, ErrorKind, Result};

/// Where a sent mail went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Copies delivered to mailboxes on this server (recipients and Sent).
    pub local: usize,
    /// Recipients elsewhere, for the integrator's mail transport.
    pub external: usize,
}

/// A mailbox for a header: the address checked, the display name made safe.
fn mailbox(name: &str, email: &str) -> Result<String> {
    check_address(email)?;
    Ok(addresses::mailbox(&header_text(name), email))
}

/// An address header's value, `None` for an empty list.
fn address_list(list: &[Address]) -> Result<Option<Raw<'static>>> {
    let mailboxes = list
        .iter()
        .map(|a| mailbox(&a.name, &a.email))
        .collect::<Result<Vec<_>>>()?;
    Ok((!mailboxes.is_empty()).then(|| Raw::new(addresses::list(&mailboxes))))
}

/// A message id from a stored mail, fit to be written between `<` and `>`:
/// printable ASCII without brackets or spaces. Others are left out of the
/// threading headers rather than written.
fn safe_id(id: &str) -> Option<String> {
    let fits = !id.is_empty()
        && id.len() <= 998
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'<' && b != b'>');
    fits.then(|| id.to_owned())
}

/// The principal's mail folder called `name` (case-insensitive), if any.
pub fn mail_folder(store: &impl ServerStore, principal: u64, name: &str) -> Result<Option<u64>> {
    Ok(store
        .owned_collections(principal)?
        .into_iter()
        .find(|c| c.kind == CollectionKind::Mail && c.name.eq_ignore_ascii_case(name))
        .map(|c| c.id))
}

/// Composes `outgoing` as an RFC 5322 message from `sender`.
///
/// Every value a device chose is checked before it reaches the header:
/// addresses must be plain mailboxes, attachment media types bare
/// `type/subtype`; the subject, display names and file names have their
/// control characters and line breaks turned into spaces. So no value can
/// start a header line of its own.
///
/// # Errors
///
/// [`ErrorKind::InvalidAddress`] for a recipient (to, cc or bcc) or sender
/// that is not a plain mailbox; [`ErrorKind::InvalidMediaType`] for an
/// attachment's media type.
pub fn compose(
    store: &impl ServerStore,
    sender: &Principal,
    outgoing: &Outgoing,
) -> Result<Vec<u8>> {
    let mail = &outgoing.mail;
    let domain = sender
        .email
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let message_id = format!("{}@{domain}", hex::encode(random::<12>()));
    let mut text = mail.text.clone();
    let mut forwarded = None;
    let mut builder = MessageBuilder::new()
        .header("From", Raw::new(mailbox(&sender.name, &sender.email)?))
        .date(now_ms() / 1000)
        .message_id(message_id);
    if let Some(to) = address_list(&mail.to)? {
        builder = builder.header("To", to);
    }
    if let Some(cc) = address_list(&mail.cc)? {
        builder = builder.header("Cc", cc);
    }
    // Bcc is never written, but a bad one is refused like any recipient.
    address_list(&mail.bcc)?;
    let mut subject = mail.subject.clone();
    if let Some(original) = &outgoing.original {
        let packed = unpack(&original.packed, &tidings::sync::STORED_ITEM_LIMITS)?;
        let item: Item = proto::decode(&packed)?;
        let Some(item::Kind::Mail(old)) = item.kind else {
            return Err(Error::new(ErrorKind::InvalidData, "original is not a mail"));
        };
        let headers = old.headers.clone().unwrap_or_default();
        if subject.trim().is_empty() {
            subject = answer_subject(original.relation, &headers.subject);
        }
        match original.relation {
            Relation::Reply { .. } => {
                if let Some(id) = safe_id(&headers.message_id) {
                    let mut references: Vec<String> = headers
                        .references
                        .iter()
                        .filter_map(|r| safe_id(r))
                        .collect();
                    references.push(id.clone());
                    builder = builder.in_reply_to(id).references(references);
                }
                let who = headers.from.first().map_or(String::new(), |a| {
                    match header_text(&a.name).as_str() {
                        "" => a.email.clone(),
                        name => format!("{name} <{}>", a.email),
                    }
                });
                text.push_str(&format!("\n\n{who} wrote:\n"));
                let raw = store.raw_message(original.item_id)?;
                let quoted = raw.as_deref().and_then(body_text);
                for line in quoted.as_deref().unwrap_or(&old.preview).lines() {
                    text.push_str("> ");
                    text.push_str(line);
                    text.push('\n');
                }
            }
            Relation::Forward => {
                if let Some(raw) = store.raw_message(original.item_id)? {
                    forwarded = Some(forwarded_part(&raw, forwarded_name(&headers.subject)));
                } else {
                    text.push_str("\n\n---------- Forwarded message ----------\n");
                    text.push_str(&old.preview);
                }
            }
        }
    }
    builder = builder.subject(header_text(&subject));
    let text = BodyPart::Text(crlf_lines(&text).into());
    let mut parts = vec![MimePart::new("text/plain", text)];
    parts.extend(forwarded);
    for attachment in &mail.attachments {
        let (media_type, charset) = attachment_type(&attachment.content_type, &attachment.data)?;
        let method = media_type_method(&attachment.content_type);
        let params: Vec<(&str, &str)> = [
            ("charset", charset.as_deref()),
            ("method", method.as_deref()),
        ]
        .into_iter()
        .filter_map(|(param, value)| Some((param, value?)))
        .collect();
        parts.push(file_part(
            &media_type,
            &params,
            &header_text(&attachment.filename),
            &attachment.data,
            Body::Encoded,
        ));
    }
    let body = match parts.len() {
        1 => parts.remove(0),
        _ => MimePart::new("multipart/mixed", parts),
    };
    builder
        .body(body)
        .write_to_vec()
        .map_err(|_| Error::new(ErrorKind::InvalidData, "mail could not be composed"))
}

/// The subject of a reply or forward the device gave none: the original's,
/// marked `Re:` or `Fwd:` unless it already is (`Fw:` too, as Outlook
/// writes it), so a thread does not grow `Re: Re: `.
fn answer_subject(relation: Relation, original: &str) -> String {
    let original = original.trim();
    let (mark, already): (&str, &[&str]) = match relation {
        Relation::Reply { .. } => ("Re:", &["re:"]),
        Relation::Forward => ("Fwd:", &["fwd:", "fw:"]),
    };
    let marked = already.iter().any(|m| {
        original
            .get(..m.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(m))
    });
    match (marked, original.is_empty()) {
        (true, _) => original.to_owned(),
        (false, true) => mark.to_owned(),
        (false, false) => format!("{mark} {original}"),
    }
}

/// Most of an original's text a reply quotes.
const MAX_QUOTED_BYTES: usize = 64 << 10;

/// The text a reply quotes: the original's first plain-text body part as
/// written (its lines kept, unlike the preview), at most
/// [`MAX_QUOTED_BYTES`], cut on a character boundary with a mark; `None`
/// when it has none or it is blank (an empty plain alternative beside the
/// HTML): the caller then quotes the preview, which is the HTML's text, as
/// for HTML-only mail.
fn body_text(raw: &[u8]) -> Option<String> {
    let item = mail_item_from_message(raw, &MailItemOptions::default()).ok()?;
    let part = item
        .body_parts
        .iter()
        .find(|p| p.content_type == "text/plain")?;
    let bytes = part_bytes(raw, part.part_id).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    if text.trim().is_empty() {
        return None;
    }
    if text.len() <= MAX_QUOTED_BYTES {
        return Some(text.into_owned());
    }
    let mut end = MAX_QUOTED_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Some(format!("{}\n[…]", text.get(..end).unwrap_or_default()))
}

/// `text` with every line break (LF, CRLF or a lone CR) written CRLF, as
/// RFC 2046 §4.1.1 requires of text: mail-builder encodes a text body in
/// base64 as it is given (its quoted-printable and 7bit encoders write
/// CRLF themselves), and a device's text and the quoting of a reply break
/// lines with LF.
fn crlf_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len().saturating_add(text.len() / 32));
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// An attachment's bare media type from the type the device gave (`""`: a
/// file of unknown type), with its charset: the one given, or UTF-8 for a
/// text file that is UTF-8 and not plain ASCII, so a reader need not guess.
fn attachment_type(given: &str, data: &[u8]) -> Result<(String, Option<String>)> {
    if given.is_empty() {
        return Ok(("application/octet-stream".to_owned(), None));
    }
    let bare = check_media_type(given)?;
    let charset = media_type_charset(given).or_else(|| {
        let utf8 =
            bare.starts_with("text/") && !data.is_ascii() && std::str::from_utf8(data).is_ok();
        utf8.then(|| "utf-8".to_owned())
    });
    Ok((bare, charset))
}

/// The attachment's name for a forwarded mail: its subject, made a file
/// name, else `forwarded.eml`.
fn forwarded_name(subject: &str) -> String {
    let name: String = header_text(subject)
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':' | '"') {
                '_'
            } else {
                c
            }
        })
        .take(100)
        .collect();
    match name.trim() {
        "" => "forwarded.eml".to_owned(),
        name => format!("{name}.eml"),
    }
}

/// A forwarded mail as an attachment. As `message/rfc822` its body must be
/// 7bit or 8bit (RFC 2046 §5.2.1: a client that reads the structure shows
/// an encoded one as an empty message), so it is attached as it is, with
/// bare LFs made CRLF. A message no 8bit part can carry (a NUL, or a line
/// over 998 bytes) goes as an `.eml` file in base64 instead.
fn forwarded_part(raw: &[u8], name: String) -> MimePart<'static> {
    let mut crlf = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut previous = 0u8;
    for &byte in raw {
        if byte == b'\n' && previous != b'\r' {
            crlf.push(b'\r');
        }
        crlf.push(byte);
        previous = byte;
    }
    let carried = !crlf.contains(&0) && crlf.split(|&b| b == b'\n').all(|line| line.len() <= 999);
    if !carried {
        return file_part("application/octet-stream", &[], &name, &crlf, Body::Encoded);
    }
    let encoding = if crlf.is_ascii() { "7bit" } else { "8bit" };
    file_part("message/rfc822", &[], &name, &crlf, Body::AsIs(encoding))
}

/// Composes and delivers `outgoing`. Runs inside the caller's transaction.
pub fn deliver(store: &mut impl ServerStore, outgoing: &Outgoing) -> Result<Delivery> {
    let sender = store.principal(outgoing.principal_id)?;
    let raw = compose(store, &sender, outgoing)?;
    let mail = ParsedMail::parse(&raw, DEFAULT_PREVIEW_BYTES);
    deliver_composed(store, outgoing, &raw, mail)
}

/// Delivers `outgoing`, composed beforehand as `raw` and read as `mail`
/// (so that a costly mail is read before the transaction, not in it).
/// Runs inside the caller's transaction.
///
/// # Errors
///
/// `mail`'s, when it could not be read (the mail guard): nothing is
/// delivered.
pub fn deliver_composed(
    store: &mut impl ServerStore,
    outgoing: &Outgoing,
    raw: &[u8],
    mail: Result<ParsedMail>,
) -> Result<Delivery> {
    let read = mail?;
    let sender = store.principal(outgoing.principal_id)?;
    let mut delivery = Delivery::default();
    let mail = &outgoing.mail;
    // Every local copy is of the one composed message, read once.
    let mut folders = Vec::new();
    for recipient in mail.to.iter().chain(&mail.cc).chain(&mail.bcc) {
        let inbox = match store.principal_by_email(&recipient.email)? {
            Some(p) => mail_folder(store, p.id, "Inbox")?,
            None => None,
        };
        match inbox {
            Some(inbox) => folders.push(inbox),
            None => delivery.external += 1,
        }
    }
    folders.extend(mail_folder(store, sender.id, "Sent")?);
    delivery.local = store.add_parsed_message_copies(&folders, raw, &read)?.len();
    Ok(delivery)
}

mod addresses;
mod file_part;
pub mod outbox;

#[cfg(test)]
mod tests;
