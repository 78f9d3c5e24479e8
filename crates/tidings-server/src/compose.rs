//! Mail a device sends: composed as RFC 5322 on the server (a reply quotes
//! the original and threads under it, a forward attaches it: the device
//! never uploads it again), then delivered.
//!
//! The reference server delivers locally only: into the Inbox of every
//! recipient who is a principal here, and into the sender's Sent folder if
//! it has one. Other recipients are counted and logged: handing mail to an
//! SMTP relay is the integrator's transport, outside this crate.

use crate::clock::{now_ms, random};
use crate::store::SqliteStore;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address as MailAddress;
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{self, Address, CollectionKind, Item, item};
use tidings::session::{Outgoing, Relation};
use tidings::store::{Directory, Principal};
use tidings::sync::mail::DEFAULT_PREVIEW_BYTES;
use tidings::{Error, ErrorKind, Result};

/// Where a sent mail went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Copies delivered to mailboxes on this server (recipients and Sent).
    pub local: usize,
    /// Recipients elsewhere, for the integrator's mail transport.
    pub external: usize,
}

fn addresses(list: &[Address]) -> Option<MailAddress<'static>> {
    (!list.is_empty()).then(|| {
        MailAddress::new_list(
            list.iter()
                .map(|a| {
                    let name = (!a.name.is_empty()).then(|| a.name.clone());
                    MailAddress::new_address(name, a.email.clone())
                })
                .collect(),
        )
    })
}

/// The principal's mail folder called `name` (case-insensitive), if any.
pub fn mail_folder(store: &SqliteStore, principal: u64, name: &str) -> Result<Option<u64>> {
    Ok(store
        .owned_collections(principal)?
        .into_iter()
        .find(|c| c.kind == CollectionKind::Mail && c.name.eq_ignore_ascii_case(name))
        .map(|c| c.id))
}

/// Composes `outgoing` as an RFC 5322 message from `sender`.
pub fn compose(store: &SqliteStore, sender: &Principal, outgoing: &Outgoing) -> Result<Vec<u8>> {
    let mail = &outgoing.mail;
    let domain = sender
        .email
        .rsplit_once('@')
        .map_or("localhost", |(_, d)| d);
    let message_id = format!("{}@{domain}", hex::encode(random::<12>()));
    let mut text = mail.text.clone();
    let mut builder = MessageBuilder::new()
        .from((sender.name.clone(), sender.email.clone()))
        .subject(mail.subject.clone())
        .date(now_ms() / 1000)
        .message_id(message_id);
    if let Some(to) = addresses(&mail.to) {
        builder = builder.to(to);
    }
    if let Some(cc) = addresses(&mail.cc) {
        builder = builder.cc(cc);
    }
    if let Some(original) = &outgoing.original {
        let packed = unpack(&original.packed, &InflateLimits::default())?;
        let item: Item = proto::decode(&packed)?;
        let Some(item::Kind::Mail(old)) = item.kind else {
            return Err(Error::new(ErrorKind::InvalidData, "original is not a mail"));
        };
        let headers = old.headers.clone().unwrap_or_default();
        match original.relation {
            Relation::Reply { .. } => {
                if !headers.message_id.is_empty() {
                    let mut references = headers.references.clone();
                    references.push(headers.message_id.clone());
                    builder = builder
                        .in_reply_to(headers.message_id.clone())
                        .references(references);
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
            attachment.content_type.clone(),
            attachment.filename.clone(),
            attachment.data.clone(),
        );
    }
    builder
        .write_to_vec()
        .map_err(|_| Error::new(ErrorKind::InvalidData, "mail could not be composed"))
}

/// Composes and delivers `outgoing`. Runs inside the caller's transaction.
pub fn deliver(store: &mut SqliteStore, outgoing: &Outgoing) -> Result<Delivery> {
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
