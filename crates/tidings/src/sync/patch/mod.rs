//! Item patches (sync.md §3.1): a changed item sent as the edits that turn
//! the version a device holds into the new one, rather than whole. An
//! attendee's answer or a moved meeting then costs the fields that changed,
//! not the event with its time zones.
//!
//! A [`MessagePatch`] edits one message value, at the level of its fields:
//! edits inside values of message fields (`fields`, by field number and the
//! value's position), then whole fields dropped (`clear`), then new values
//! merged in (`set`). The server computes a patch when it stores a new
//! version ([`item_patch`]); a device applies it to its copy
//! ([`apply_item_patch`]) and, when that copy is not the version the patch
//! starts from, refuses it and fetches the item again.

mod shape;
mod wire;

use super::abridge::{MAX_PACKED_ITEM, abridged};
use crate::compress::{InflateLimits, PackOptions, pack, unpack};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{self, FieldPatch, Item, MessagePatch, item};
use bytes::Bytes;
use prost::Message;
use shape::Shape;
use std::collections::{BTreeMap, BTreeSet};
use wire::{Field, fields, put_len_delimited};

/// Deepest nesting of [`FieldPatch`]es a device applies. The deepest edit
/// the server makes is 3 levels (inside a calendar item's event, its
/// attendee, the attendee's address); deeper patches are refused.
pub const MAX_PATCH_DEPTH: usize = 8;

fn refused(why: &'static str) -> Error {
    Error::new(ErrorKind::InvalidData, why)
}

/// The packed patch that turns the item packed as `old` into the item packed
/// as `new`, when it is smaller than `new` itself; `None` when it is not,
/// or when either is not a whole item both sides can hold (unreadable,
/// abridged, larger than one page, or another item).
pub fn item_patch(old: &[u8], new: &[u8]) -> Option<Bytes> {
    if old.len() > MAX_PACKED_ITEM || new.len() > MAX_PACKED_ITEM {
        return None;
    }
    let limits = InflateLimits::default();
    let read = |packed: &[u8]| -> Option<Item> {
        let item: Item = proto::decode(&unpack(packed, &limits).ok()?).ok()?;
        abridged(&item).is_none().then_some(item)
    };
    let (old_item, new_item) = (read(old)?, read(new)?);
    if !same_item(&old_item, &new_item) {
        return None;
    }
    // Both sides work on the canonical encoding of the item's own message:
    // what the device gets when it encodes the item it decoded. (The `Item`
    // around it never changes: a patch cannot change an item's kind.)
    let (shape, old_bytes) = own_message(&old_item)?;
    let (_, new_bytes) = own_message(&new_item)?;
    let patch = diff(shape, &old_bytes, &new_bytes).ok()?;
    let packed = pack(&proto::encode(&patch), &PackOptions::default());
    (packed.len() < new.len()).then(|| packed.into())
}

/// `held` with the packed patch applied: the new version of the item. The
/// patch edits the item's own message (its `CalendarItem` or `MailItem`).
/// It is unpacked within `limits`, and so is the result. Refused
/// ([`ErrorKind::InvalidData`], or the unpacking's error) when `held` is
/// abridged, the patch does not fit it, or the result is not a whole
/// version of the same item: the device then fetches the item again.
pub fn apply_item_patch(held: &Item, packed: &[u8], limits: &InflateLimits) -> Result<Item> {
    if abridged(held).is_some() {
        return Err(refused("the held item is abridged"));
    }
    let (_, base) = own_message(held).ok_or_else(|| refused("the held item is a placeholder"))?;
    let patch: MessagePatch = proto::decode(&unpack(packed, limits)?)?;
    let bytes = apply(&patch, &base)?;
    if bytes.len() > limits.max_output {
        return Err(Error::new(
            ErrorKind::InflateLimit,
            "patched item exceeds the limit",
        ));
    }
    let kind = match held.kind {
        Some(item::Kind::Mail(_)) => item::Kind::Mail(proto::decode(&bytes)?),
        _ => item::Kind::Calendar(proto::decode(&bytes)?),
    };
    let item = Item { kind: Some(kind) };
    if !same_item(held, &item) || abridged(&item).is_some() {
        return Err(refused("the patch makes another item"));
    }
    Ok(item)
}

/// The encoding of the message an item holds, and its shape; `None` for
/// an item without a kind.
fn own_message(item: &Item) -> Option<(Shape, Vec<u8>)> {
    match item.kind.as_ref()? {
        item::Kind::Mail(mail) => Some((Shape::Mail, proto::encode(mail))),
        item::Kind::Calendar(event) => Some((Shape::Calendar, proto::encode(event))),
    }
}

/// Whether two items are versions of one: same kind, same id.
fn same_item(a: &Item, b: &Item) -> bool {
    match (&a.kind, &b.kind) {
        (Some(item::Kind::Mail(a)), Some(item::Kind::Mail(b))) => a.id == b.id,
        (Some(item::Kind::Calendar(a)), Some(item::Kind::Calendar(b))) => a.id == b.id,
        _ => false,
    }
}

/// `base`, an encoded message, with `patch` applied: values edited inside,
/// cleared fields dropped, `set` appended (which protobuf decoding merges:
/// a scalar's last value wins, a list's values add to it).
pub fn apply(patch: &MessagePatch, base: &[u8]) -> Result<Vec<u8>> {
    apply_at(patch, base, 0)
}

fn apply_at(patch: &MessagePatch, base: &[u8], depth: usize) -> Result<Vec<u8>> {
    if depth >= MAX_PATCH_DEPTH {
        return Err(refused("patch nests too deep"));
    }
    let clear: BTreeSet<u32> = patch.clear.iter().copied().collect();
    let empty = MessagePatch::default();
    let mut edits = BTreeMap::new();
    for edit in &patch.fields {
        if edit.number == 0 || clear.contains(&edit.number) {
            return Err(refused("patch edits a field it also clears"));
        }
        let inner = edit.patch.as_ref().unwrap_or(&empty);
        if edits.insert((edit.number, edit.index), inner).is_some() {
            return Err(refused("patch edits one value twice"));
        }
    }
    // Checked before any work: `set` must be fields.
    fields(&patch.set)?;
    let mut out = Vec::with_capacity(base.len().saturating_add(patch.set.len()));
    let mut seen: BTreeMap<u32, u32> = BTreeMap::new();
    let mut edited = 0;
    for field in fields(base)? {
        let count = seen.entry(field.number).or_insert(0);
        let index = *count;
        *count = count.saturating_add(1);
        if let Some(inner) = edits.get(&(field.number, index)) {
            let payload = field
                .payload
                .ok_or_else(|| refused("patch edits inside a value that is not a message"))?;
            put_len_delimited(
                &mut out,
                field.number,
                &apply_at(inner, payload, depth + 1)?,
            );
            edited += 1;
        } else if !clear.contains(&field.number) {
            out.extend_from_slice(field.record);
        }
    }
    if edited != edits.len() {
        return Err(refused("patch edits a value the item does not hold"));
    }
    out.extend_from_slice(&patch.set);
    Ok(out)
}

/// The fields of an encoding, by number, each number's values in order.
fn by_number<'a>(encoded: &'a [u8]) -> Result<BTreeMap<u32, Vec<Field<'a>>>> {
    let mut grouped: BTreeMap<u32, Vec<Field<'a>>> = BTreeMap::new();
    for field in fields(encoded)? {
        grouped.entry(field.number).or_default().push(field);
    }
    Ok(grouped)
}

fn same(a: &[Field<'_>], b: &[Field<'_>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.record == y.record)
}

fn records_len(values: &[Field<'_>]) -> usize {
    values.iter().map(|f| f.record.len()).sum()
}

/// The patch that turns `old` into `new`, both canonical encodings of a
/// message of `shape`. Field by field, the cheaper of: the new values
/// appended (a list that only grew at its end), edits inside each changed
/// value (a message field with as many values as before), or the field
/// cleared and all its new values set.
fn diff(shape: Shape, old: &[u8], new: &[u8]) -> Result<MessagePatch> {
    let (old, new) = (by_number(old)?, by_number(new)?);
    let numbers: BTreeSet<u32> = old.keys().chain(new.keys()).copied().collect();
    let mut patch = MessagePatch::default();
    for number in numbers {
        let before = old.get(&number).map_or(&[][..], Vec::as_slice);
        let after = new.get(&number).map_or(&[][..], Vec::as_slice);
        if same(before, after) {
            continue;
        }
        let field = shape.field(number);
        let appended = after
            .split_at_checked(before.len())
            .filter(|(kept, added)| !added.is_empty() && same(kept, before))
            .map(|(_, added)| added);
        if let Some(added) = appended.filter(|_| field.repeated) {
            for value in added {
                patch.set.extend_from_slice(value.record);
            }
            continue;
        }
        // One new value of a number or a string replaces the old one by
        // itself: the last value read wins.
        let wins = match after {
            [one] => !field.repeated && (field.text || !one.is_len()),
            _ => false,
        };
        let clear_cost = if before.is_empty() || wins {
            0
        } else {
            prost::length_delimiter_len(number as usize)
        };
        let replace_cost = records_len(after) + clear_cost;
        if let Some(child) = field.message.filter(|_| before.len() == after.len()) {
            if let Some(edits) = edit_inside(child, number, before, after) {
                let cost: usize = edits
                    .iter()
                    .map(|e| {
                        let len = e.encoded_len();
                        1 + prost::length_delimiter_len(len) + len
                    })
                    .sum();
                if cost < replace_cost {
                    patch.fields.extend(edits);
                    continue;
                }
            }
        }
        if !before.is_empty() && !wins {
            patch.clear.push(number);
        }
        for value in after {
            patch.set.extend_from_slice(value.record);
        }
    }
    Ok(patch)
}

/// Edits inside each changed value of message field `number`, or `None`
/// when a value is not a message after all.
fn edit_inside(
    child: Shape,
    number: u32,
    before: &[Field<'_>],
    after: &[Field<'_>],
) -> Option<Vec<FieldPatch>> {
    let mut edits = Vec::new();
    for (index, (old, new)) in before.iter().zip(after).enumerate() {
        if old.record == new.record {
            continue;
        }
        let patch = diff(child, old.payload?, new.payload?).ok()?;
        edits.push(FieldPatch {
            number,
            index: u32::try_from(index).ok()?,
            patch: Some(patch),
        });
    }
    Some(edits)
}

#[cfg(test)]
mod tests;
