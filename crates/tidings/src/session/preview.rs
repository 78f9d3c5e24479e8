//! Per-device preview sizes. Items are packed once, with the server's preview
//! (about 2 KB of text); a device that asked for less in its Hello gets mail
//! upserts with the preview cut to its size, repacked for it alone. The rest
//! of the text is a range fetch away.

use crate::compress::{InflateLimits, PackOptions, pack, unpack};
use crate::error::Result;
use crate::proto::{self, DeltaPage, Item, item};

/// Cuts the preview of every mail upsert in `page` to at most `limit` bytes
/// (on a character boundary), marking it truncated.
pub(crate) fn trim(page: &mut DeltaPage, limit: usize) -> Result<()> {
    for upsert in &mut page.upserts {
        let mut item: Item = proto::decode(&unpack(&upsert.packed, &InflateLimits::default())?)?;
        let Some(item::Kind::Mail(mail)) = &mut item.kind else {
            continue;
        };
        if mail.preview.len() <= limit {
            continue;
        }
        let mut cut = limit;
        while !mail.preview.is_char_boundary(cut) {
            cut -= 1;
        }
        mail.preview.truncate(cut);
        mail.preview_truncated = true;
        upsert.packed = pack(&proto::encode(&item), &PackOptions::default());
    }
    Ok(())
}
