//! Files larger than one operation (sync.md §6): a device sends a file as
//! `UploadPart` operations, in order, then names the upload in a mail's
//! `OutgoingAttachment.upload_id`. Uploads are the device's own, bounded in
//! size and number, and discarded once a mail has taken them.

use super::ops::{MAX_SEND_STORED_BYTES, Original, stored_bytes};
use crate::error::{Error, ErrorKind, Result};
use crate::proto::{Conflict, OutgoingMail, UploadPart, operation_result::Outcome};
use crate::store::{Appended, Store, UploadId};

/// Most bytes of one `UploadPart`: with its envelope it fits one frame.
pub const MAX_UPLOAD_PART_BYTES: usize = 48 << 10;

/// Most bytes of one uploaded file, and of all the files one mail attaches:
/// what mail servers commonly accept in one message.
pub const MAX_UPLOAD_BYTES: u64 = 25 << 20;

/// Most uploads a device holds at once; starting one more discards its
/// oldest (a device that crashed mid-upload never wedges itself).
pub const MAX_UPLOADS_PER_DEVICE: usize = 4;

/// An upload neither started nor appended to for this long (24 hours) is
/// discarded: when its device starts a session or a new upload, and by
/// the server's housekeeping. A file abandoned mid-upload does not keep
/// its disk forever.
pub const UPLOAD_IDLE_MS: u64 = 24 * 60 * 60 * 1000;

/// Discards `device`'s uploads idle for [`UPLOAD_IDLE_MS`] at `now_ms`
/// (every device's with `None`); returns how many.
pub fn discard_idle_uploads<S: crate::store::DeviceRegistry>(
    store: &mut S,
    device: Option<u64>,
    now_ms: u64,
) -> Result<u64> {
    store.discard_stale_uploads(device, now_ms.saturating_sub(UPLOAD_IDLE_MS))
}

fn upload_id(bytes: &[u8]) -> Result<UploadId> {
    bytes
        .try_into()
        .map_err(|_| Error::new(ErrorKind::InvalidArgument, "upload_id must be 16 bytes"))
}

/// Checks a part against the limits before any work: its bytes and the
/// file's size.
pub(crate) fn check_part(part: &UploadPart) -> Result<UploadId> {
    let id = upload_id(&part.upload_id)?;
    if part.data.len() > MAX_UPLOAD_PART_BYTES || part.total_size > MAX_UPLOAD_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "upload part or file too large",
        ));
    }
    let end = part.offset.checked_add(part.data.len() as u64);
    if end.is_none_or(|end| end > part.total_size) {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            "the part ends past the file's size",
        ));
    }
    Ok(id)
}

/// Stores one part: `Done { version: bytes held }`, or `Conflict {
/// current_version: bytes held }` when the part is not where the upload
/// stands (0 when the server holds no such upload), so the device
/// continues from there.
pub(crate) fn upload_part<S: Store>(
    store: &mut S,
    device: u64,
    part: &UploadPart,
    now_ms: u64,
) -> Result<Outcome> {
    let id = check_part(part)?;
    if part.offset == 0 {
        discard_idle_uploads(store, Some(device), now_ms)?;
    }
    let uploads = store.uploads(device)?;
    let current = uploads
        .iter()
        .find(|(held, _)| *held == id)
        .map(|(_, s)| *s);
    match current {
        _ if part.offset == 0 => {
            // A new upload, or one started again: the oldest others make room.
            let others = uploads.iter().filter(|(held, _)| *held != id);
            let excess = others
                .clone()
                .count()
                .saturating_add(1)
                .saturating_sub(MAX_UPLOADS_PER_DEVICE);
            for (old, _) in others.take(excess) {
                store.remove_upload(device, old)?;
            }
            store.start_upload(device, &id, part.total_size, now_ms)?;
        }
        Some(state) if state.held == part.offset && state.total_size == part.total_size => {}
        Some(state) if state.total_size != part.total_size => {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "total_size differs from the upload's",
            ));
        }
        state => {
            return Ok(Outcome::Conflict(Conflict {
                current_version: state.map_or(0, |s| s.held),
                current: Vec::new(),
            }));
        }
    }
    if part.data.is_empty() {
        return Ok(super::ops::done(0, part.offset));
    }
    // Checked again where it is written: another session of the device
    // may have stored this part since the read above.
    match store.append_upload(device, &id, part.offset, &part.data, now_ms)? {
        Appended::Stored(held) => Ok(super::ops::done(0, held)),
        Appended::NotAt(held) => Ok(Outcome::Conflict(Conflict {
            current_version: held,
            current: Vec::new(),
        })),
    }
}

/// Bytes an attachment's `upload_id` takes in the encoded mail (tag,
/// length, 16 bytes), given up when the upload's bytes take its place.
const ENCODED_UPLOAD_ID: u64 = 18;

/// Puts the bytes of every upload `mail` names into its attachment, checked
/// whole first: each upload must be the device's and complete, the files
/// together within [`MAX_UPLOAD_BYTES`], and the send (with `original`)
/// within [`MAX_SEND_STORED_BYTES`] by the sizes held, before any upload
/// is read. Returns the uploads taken, for the caller to discard once the
/// mail is accepted, and their bytes.
pub(crate) fn attach_uploads<S: Store>(
    store: &S,
    device: u64,
    mail: &mut OutgoingMail,
    original: Option<&Original>,
) -> Result<(Vec<UploadId>, u64)> {
    let named = mail.attachments.iter().filter(|a| !a.upload_id.is_empty());
    if named.clone().next().is_none() {
        return Ok((Vec::new(), 0));
    }
    let uploads = store.uploads(device)?;
    let mut taken: Vec<UploadId> = Vec::new();
    let mut total = 0u64;
    for attachment in named {
        let id = upload_id(&attachment.upload_id)?;
        if !attachment.data.is_empty() || taken.contains(&id) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "an uploaded attachment carries no data and is named once",
            ));
        }
        let state = uploads
            .iter()
            .find(|(held, _)| *held == id)
            .map(|(_, s)| *s)
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such upload"))?;
        if state.held != state.total_size {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                "the upload is not complete",
            ));
        }
        total = total.saturating_add(state.total_size);
        taken.push(id);
    }
    let inline = mail
        .attachments
        .iter()
        .map(|a| a.data.len() as u64)
        .fold(0u64, u64::saturating_add);
    if total.saturating_add(inline) > MAX_UPLOAD_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "the mail's files are too large",
        ));
    }
    // The least the mail encodes to with its files in: reading 25 MiB back
    // under the write lock for a send refused anyway costs every device.
    let ids = ENCODED_UPLOAD_ID.saturating_mul(taken.len() as u64);
    let size = (prost::Message::encoded_len(&*mail) as u64)
        .saturating_add(total)
        .saturating_sub(ids);
    if stored_bytes(size, mail, original) > MAX_SEND_STORED_BYTES {
        return Err(Error::new(
            ErrorKind::LimitExceeded,
            "the mail and its copies are too large for one send",
        ));
    }
    for attachment in &mut mail.attachments {
        if attachment.upload_id.is_empty() {
            continue;
        }
        let id = upload_id(&attachment.upload_id)?;
        let bytes = store
            .upload_bytes(device, &id)?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, "no such upload"))?;
        if bytes.len() as u64 != uploads_size(&uploads, &id) {
            // The store must give what it said it holds.
            return Err(Error::new(ErrorKind::Storage, "upload size mismatch"));
        }
        attachment.data = bytes;
        attachment.upload_id.clear();
    }
    Ok((taken, total))
}

fn uploads_size(uploads: &[(UploadId, crate::store::UploadState)], id: &UploadId) -> u64 {
    uploads
        .iter()
        .find(|(held, _)| held == id)
        .map_or(0, |(_, s)| s.total_size)
}
