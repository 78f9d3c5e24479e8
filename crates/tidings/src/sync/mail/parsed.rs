//! A mail read once for storing, before any store lock is taken.

use super::{MailItemOptions, each_part_of, item_of, parse, readable};
use crate::Result;
use crate::proto::MailItem;

/// A mail read once for storing: the item its devices are sent and the
/// decoded bytes of each part, for range fetches.
///
/// A store delivers it in a transaction of its own; reading the mail first,
/// outside that transaction, means a costly mail (tens of megabytes, or
/// shapes the guard weighs as costly but allows) delays its own delivery
/// only, not the writes of every device waiting for the store's lock.
///
/// ```
/// use tidings::sync::mail::ParsedMail;
///
/// let raw = b"From: clerk@town.example\r\nSubject: Agenda\r\n\r\nItem one.\r\n";
/// let mail = ParsedMail::parse(raw, 256)?;
/// assert_eq!(mail.item.preview, "Item one.");
/// assert_eq!(mail.parts, vec![(0, b"Item one.\r\n".to_vec())]);
/// # Ok::<(), tidings::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedMail {
    /// The item, as [`mail_item_from_message`](super::mail_item_from_message)
    /// builds it; `id` and `folder_id` are 0 for the store to set.
    pub item: MailItem,
    /// Each listed part's decoded bytes, by part id, in the order
    /// [`for_each_part`](super::for_each_part) gives them.
    pub parts: Vec<(u32, Vec<u8>)>,
}

impl ParsedMail {
    /// Reads `raw` once, with a preview of at most `preview_bytes`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidData`](crate::ErrorKind::InvalidData) as for
    /// [`mail_item_from_message`](super::mail_item_from_message).
    pub fn parse(raw: &[u8], preview_bytes: usize) -> Result<ParsedMail> {
        let lines = readable(raw)?;
        let message = parse(&lines)?;
        let options = MailItemOptions {
            preview_bytes,
            ..MailItemOptions::default()
        };
        let item = item_of(&message, raw.len(), &options);
        let mut parts = Vec::new();
        each_part_of(&message, |id, bytes| {
            parts.push((id, bytes.to_vec()));
            Ok(())
        })?;
        Ok(ParsedMail { item, parts })
    }
}
