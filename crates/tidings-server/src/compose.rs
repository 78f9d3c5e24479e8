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
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as MailAddress;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, Address, CollectionKind, Item, item};
use tidings::session::{Outgoing, Relation};
use tidings::store::Principal;
use tidings::sync::mail::{DEFAULT_PREVIEW_BYTES, check_address, check_media_type, header_text};
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
fn mailbox(name: &str, email: &str) -> Result<MailAddress<'static>> {
    check_address(email)?;
    let name = header_text(name);
    Ok(MailAddress::new_address(
        (!name.is_empty()).then_some(name),
        email.to_owned(),
    ))
}

fn addresses(list: &[Address]) -> Result<Option<MailAddress<'static>>> {
    let mailboxes = list
        .iter()
        .map(|a| mailbox(&a.name, &a.email))
        .collect::<Result<Vec<_>>>()?;
    Ok((!mailboxes.is_empty()).then(|| MailAddress::new_list(mailboxes)))
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
    let mut builder = MessageBuilder::new()
        .from(mailbox(&sender.name, &sender.email)?)
        .subject(header_text(&mail.subject))
        .date(now_ms() / 1000)
        .message_id(message_id);
    if let Some(to) = addresses(&mail.to)? {
        builder = builder.to(to);
    }
    if let Some(cc) = addresses(&mail.cc)? {
        builder = builder.cc(cc);
    }
    // Bcc is never written, but a bad one is refused like any recipient.
    addresses(&mail.bcc)?;
    if let Some(original) = &outgoing.original {
        let packed = unpack(&original.packed, &InflateLimits::default())?;
        let item: Item = proto::decode(&packed)?;
        let Some(item::Kind::Mail(old)) = item.kind else {
            return Err(Error::new(ErrorKind::InvalidData, "original is not a mail"));
        };
        let headers = old.headers.clone().unwrap_or_default();
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
                let who = headers
                    .from
                    .first()
                    .map_or(String::new(), |a| a.email.clone());
                text.push_str(&format!("\n\n{who} wrote:\n"));
                for line in old.preview.lines() {
                    text.push_str("> ");
                    text.push_str(line);
                    text.push('\n');
                }
            }
            Relation::Forward => {
                if let Some(raw) = store.raw_message(original.item_id)? {
                    builder = builder.attachment("message/rfc822", "forwarded.eml", raw.to_vec());
                } else {
                    text.push_str("\n\n---------- Forwarded message ----------\n");
                    text.push_str(&old.preview);
                }
            }
        }
    }
    builder = builder.text_body(text);
    for attachment in &mail.attachments {
        builder = builder.attachment(
            match attachment.content_type.as_str() {
                "" => "application/octet-stream".to_owned(),
                given => check_media_type(given)?,
            },
            header_text(&attachment.filename),
            attachment.data.clone(),
        );
    }
    builder
        .write_to_vec()
        .map_err(|_| Error::new(ErrorKind::InvalidData, "mail could not be composed"))
}

/// Composes and delivers `outgoing`. Runs inside the caller's transaction.
pub fn deliver(store: &mut impl ServerStore, outgoing: &Outgoing) -> Result<Delivery> {
    let sender = store.principal(outgoing.principal_id)?;
    let raw = compose(store, &sender, outgoing)?;
    let mut delivery = Delivery::default();
    let mail = &outgoing.mail;
    for recipient in mail.to.iter().chain(&mail.cc).chain(&mail.bcc) {
        let inbox = match store.principal_by_email(&recipient.email)? {
            Some(p) => mail_folder(store, p.id, "Inbox")?,
            None => None,
        };
        match inbox {
            Some(inbox) => {
                store.add_message(inbox, &raw, DEFAULT_PREVIEW_BYTES)?;
                delivery.local += 1;
            }
            None => delivery.external += 1,
        }
    }
    if let Some(sent) = mail_folder(store, sender.id, "Sent")? {
        store.add_message(sent, &raw, DEFAULT_PREVIEW_BYTES)?;
        delivery.local += 1;
    }
    Ok(delivery)
}

pub mod outbox;

#[cfg(test)]
mod tests;
