//! Mail body parts and attachments of an item: what a range fetch names.

use crate::handle::{Out, borrow};
use crate::panic::{guard, guard_value};
use crate::replica::tidings_item;
use crate::result::{Fail, tidings_result};
use tidings::ErrorKind;
use tidings::proto::item::Kind;

/// Mail: how many body parts (`attachment` false) or attachments
/// (`attachment` true) the item has (0 for events and NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_part_count(item: *const tidings_item, attachment: bool) -> usize {
    guard_value(0, || match borrow(item).as_deref().map(|i| &i.item.kind) {
        Ok(Some(Kind::Mail(m))) if attachment => m.attachments.len(),
        Ok(Some(Kind::Mail(m))) => m.body_parts.len(),
        _ => 0,
    })
}

/// Mail: the part id (for `tidings_client_fetch_range`) and whole size in
/// bytes of body part or attachment `index` (below the count).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_item_part(
    item: *const tidings_item,
    attachment: bool,
    index: usize,
    out_part_id: *mut u32,
    out_size: *mut u64,
) -> tidings_result {
    guard(|| {
        let (part_id, size) = (Out::new(out_part_id)?, Out::new(out_size)?);
        let item = borrow(item)?;
        let Some(Kind::Mail(mail)) = &item.item.kind else {
            return Err(ErrorKind::InvalidArgument.into());
        };
        let found = if attachment {
            mail.attachments.get(index).map(|a| (a.part_id, a.size))
        } else {
            mail.body_parts.get(index).map(|b| (b.part_id, b.size))
        };
        let (id, bytes) = found.ok_or(Fail::from(ErrorKind::InvalidArgument))?;
        part_id.set(id);
        size.set(bytes);
        Ok(())
    })
}
