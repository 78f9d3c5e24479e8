//! Sending, replying and forwarding from C without protobuf: a mail is
//! composed on a `tidings_outgoing` handle, then submitted as an operation.
//! For a reply or a forward the server includes the original itself (the
//! device never uploads it again).

use crate::client::tidings_client;
use crate::fields::{
    TIDINGS_ADDRESSES_BCC, TIDINGS_ADDRESSES_CC, TIDINGS_ADDRESSES_TO, tidings_addresses,
};
use crate::handle::{
    Castable, Out, borrow, borrow_mut, free, input, input_array, input_str, into_ptr,
};
use crate::ops::submit;
use crate::panic::{guard, guard_value};
use crate::result::tidings_result;
use tidings::ErrorKind;
use tidings::proto::{
    Address, ForwardMail, OutgoingAttachment, OutgoingMail, ReplyMail, SendMail, operation::Kind,
};

/// A mail being composed: recipients, subject, text, attachments. Not
/// thread-safe: one thread at a time.
pub struct tidings_outgoing {
    _private: [u8; 0],
}

impl Castable for tidings_outgoing {
    type Rust = OutgoingMail;
}

/// An empty mail to compose. Free with `tidings_outgoing_free` (after
/// submitting it: the operation takes a copy).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_outgoing_new(out: *mut *mut tidings_outgoing) -> tidings_result {
    guard(|| {
        let out = Out::new(out)?;
        out.set(into_ptr(OutgoingMail::default()));
        Ok(())
    })
}

/// Adds a recipient to list `list` (`TIDINGS_ADDRESSES_TO`, `_CC` or `_BCC`;
/// any other is `TIDINGS_INVALID_ARGUMENT`): a display name (UTF-8, may be
/// empty) and an address (UTF-8, not empty).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_outgoing_add_recipient(
    mail: *mut tidings_outgoing,
    list: tidings_addresses,
    name: *const u8,
    name_len: usize,
    email: *const u8,
    email_len: usize,
) -> tidings_result {
    guard(|| {
        let name = input_str(name, name_len)?.to_owned();
        let email = input_str(email, email_len)?.to_owned();
        if email.is_empty() {
            return Err(ErrorKind::InvalidArgument.into());
        }
        let mut mail = borrow_mut(mail)?;
        let recipients = match list {
            TIDINGS_ADDRESSES_TO => &mut mail.to,
            TIDINGS_ADDRESSES_CC => &mut mail.cc,
            TIDINGS_ADDRESSES_BCC => &mut mail.bcc,
            _ => return Err(ErrorKind::InvalidArgument.into()),
        };
        recipients.push(Address { name, email });
        Ok(())
    })
}

/// Sets the subject (UTF-8), replacing any earlier one.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_outgoing_set_subject(
    mail: *mut tidings_outgoing,
    subject: *const u8,
    subject_len: usize,
) -> tidings_result {
    guard(|| {
        let subject = input_str(subject, subject_len)?.to_owned();
        borrow_mut(mail)?.subject = subject;
        Ok(())
    })
}

/// Sets the plain-text body (UTF-8), replacing any earlier one.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_outgoing_set_text(
    mail: *mut tidings_outgoing,
    text: *const u8,
    text_len: usize,
) -> tidings_result {
    guard(|| {
        let text = input_str(text, text_len)?.to_owned();
        borrow_mut(mail)?.text = text;
        Ok(())
    })
}

/// Attaches a file: its name and MIME type (UTF-8) and its bytes (copied).
#[unsafe(no_mangle)]
pub extern "C" fn tidings_outgoing_add_attachment(
    mail: *mut tidings_outgoing,
    filename: *const u8,
    filename_len: usize,
    content_type: *const u8,
    content_type_len: usize,
    data: *const u8,
    data_len: usize,
) -> tidings_result {
    guard(|| {
        let attachment = OutgoingAttachment {
            filename: input_str(filename, filename_len)?.to_owned(),
            content_type: input_str(content_type, content_type_len)?.to_owned(),
            data: input(data, data_len)?.to_vec(),
            upload_id: Vec::new(),
        };
        borrow_mut(mail)?.attachments.push(attachment);
        Ok(())
    })
}

/// Attaches a file this device uploaded with `tidings_client_upload_part`
/// (a file larger than about 60 KiB, which does not fit in one operation):
/// its name and MIME type (UTF-8) and the 16-byte upload id. When the mail
/// is accepted, the server attaches the uploaded bytes and discards the
/// upload.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_outgoing_add_uploaded_attachment(
    mail: *mut tidings_outgoing,
    filename: *const u8,
    filename_len: usize,
    content_type: *const u8,
    content_type_len: usize,
    upload_id: *const u8,
    upload_id_len: usize,
) -> tidings_result {
    guard(|| {
        let attachment = OutgoingAttachment {
            filename: input_str(filename, filename_len)?.to_owned(),
            content_type: input_str(content_type, content_type_len)?.to_owned(),
            data: Vec::new(),
            upload_id: input_array::<16>(upload_id, upload_id_len)?.to_vec(),
        };
        borrow_mut(mail)?.attachments.push(attachment);
        Ok(())
    })
}

/// Frees a composed mail; NULL is a no-op.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_outgoing_free(mail: *mut tidings_outgoing) {
    guard_value((), || free(mail))
}

/// Sends a new mail (it needs at least one recipient). The answer is an
/// OPERATION_RESULT with this op id.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_send(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    mail: *const tidings_outgoing,
) -> tidings_result {
    guard(|| {
        let mail = borrow(mail)?.clone();
        if mail.to.is_empty() && mail.cc.is_empty() && mail.bcc.is_empty() {
            return Err(ErrorKind::InvalidArgument.into());
        }
        let kind = Kind::SendMail(SendMail { mail: Some(mail) });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Replies to mail `item_id` of folder `collection_id` (to all its
/// recipients when `reply_all`); the server quotes the original and sets
/// the threading headers. Recipients may be left empty to answer the
/// original's sender.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_reply(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    collection_id: u64,
    item_id: u64,
    reply_all: bool,
    mail: *const tidings_outgoing,
) -> tidings_result {
    guard(|| {
        let mail = Some(borrow(mail)?.clone());
        let kind = Kind::ReplyMail(ReplyMail {
            collection_id,
            item_id,
            reply_all,
            mail,
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}

/// Forwards mail `item_id` of folder `collection_id` to the composed mail's
/// recipients; the server includes the original.
#[unsafe(no_mangle)]
pub extern "C" fn tidings_client_forward(
    client: *mut tidings_client,
    now_ms: u64,
    op_id: *const u8,
    op_id_len: usize,
    collection_id: u64,
    item_id: u64,
    mail: *const tidings_outgoing,
) -> tidings_result {
    guard(|| {
        let mail = borrow(mail)?.clone();
        if mail.to.is_empty() && mail.cc.is_empty() && mail.bcc.is_empty() {
            return Err(ErrorKind::InvalidArgument.into());
        }
        let kind = Kind::ForwardMail(ForwardMail {
            collection_id,
            item_id,
            mail: Some(mail),
        });
        submit(client, now_ms, op_id, op_id_len, kind)
    })
}
