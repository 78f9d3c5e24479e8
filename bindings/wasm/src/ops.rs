//! Operations. Each returns its op id (32 hex digits): 16 random bytes from
//! the platform, or the `opId` passed in to retry one by hand. The operation
//! is sent now if the session is open and kept in the outbox (and the saved
//! state) until answered; the answer is an `operationResult` event with that
//! op id. The server applies an op id once.

use crate::client::Client;
use crate::error::Thrown;
use crate::items::{read_calendar_item, read_outgoing, read_time_field};
use crate::js::{Fields, hex, millis, unhex};
use crate::random::random;
use crate::types::{
    CreateEventRequest, DeleteEventRequest, DeleteItemsRequest, FetchItemRequest,
    FetchRangeRequest, ForwardRequest, FreeBusyRequest, MoveItemsRequest, ReplyRequest,
    RespondRequest, SearchRequest, SendMailRequest, SetFlagsRequest, UpdateEventRequest,
    UploadPartRequest,
};
use js_sys::Uint8Array;
use tidings::proto::{
    self, CreateEvent, DeleteEvent, DeleteItems, FetchRange, ForwardMail, FreeBusyQuery, MoveItems,
    Operation, ReplyMail, RespondToInvitation, Search, SendMail, SetFlags, UpdateEvent, UploadPart,
    operation::Kind,
};
use wasm_bindgen::prelude::*;

impl Client {
    /// Submits `kind` under the request's `opId` or a fresh one.
    fn submit(&mut self, now_ms: f64, request: &Fields<'_>, kind: Kind) -> Result<String, Thrown> {
        let now = millis(now_ms)?;
        let given = request.text("opId")?;
        let op_id = if given.is_empty() {
            *random::<16>()?
        } else {
            unhex::<16>(&given).ok_or_else(|| Thrown::invalid("opId must be 32 hex digits"))?
        };
        self.session.submit(now, op_id, kind)?;
        Ok(hex(&op_id))
    }
}

fn fetch_range(request: &Fields<'_>) -> Result<FetchRange, Thrown> {
    Ok(FetchRange {
        collection_id: request.id("collectionId")?,
        item_id: request.id("itemId")?,
        part_id: request.u32("partId")?,
        offset: request.size("offset")?,
        length: request.u32("length")?,
        packed_item: false,
    })
}

/// A `FetchItemRequest`: ranges of the item's whole packed form.
fn fetch_item(request: &Fields<'_>) -> Result<FetchRange, Thrown> {
    Ok(FetchRange {
        collection_id: request.id("collectionId")?,
        item_id: request.id("itemId")?,
        part_id: 0,
        offset: request.size("offset")?,
        length: request.u32("length")?,
        packed_item: true,
    })
}

#[wasm_bindgen]
impl Client {
    /// Sets and clears `MailFlag` bits on items of one folder.
    #[wasm_bindgen(js_name = setFlags)]
    pub fn set_flags(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &SetFlagsRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::SetFlags(SetFlags {
            collection_id: r.id("collectionId")?,
            item_ids: r.ids("itemIds")?,
            set: r.u32("set")?,
            clear: r.u32("clear")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Moves mail to another folder.
    #[wasm_bindgen(js_name = moveItems)]
    pub fn move_items(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &MoveItemsRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::MoveItems(MoveItems {
            collection_id: r.id("collectionId")?,
            item_ids: r.ids("itemIds")?,
            to_collection_id: r.id("toCollectionId")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Deletes items of one collection.
    #[wasm_bindgen(js_name = deleteItems)]
    pub fn delete_items(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &DeleteItemsRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::DeleteItems(DeleteItems {
            collection_id: r.id("collectionId")?,
            item_ids: r.ids("itemIds")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Sends a new mail.
    #[wasm_bindgen(js_name = sendMail)]
    pub fn send_mail(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &SendMailRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::SendMail(SendMail {
            mail: Some(read_outgoing(r.object("mail"))?),
        });
        self.submit(now_ms, &r, kind)
    }

    /// Replies to a mail; the server quotes the original (the device never
    /// uploads it) and sets the threading headers.
    pub fn reply(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &ReplyRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::ReplyMail(ReplyMail {
            collection_id: r.id("collectionId")?,
            item_id: r.id("itemId")?,
            reply_all: r.flag("replyAll")?,
            mail: Some(read_outgoing(r.object("mail"))?),
        });
        self.submit(now_ms, &r, kind)
    }

    /// Forwards a mail; the server includes the original.
    pub fn forward(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &ForwardRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::ForwardMail(ForwardMail {
            collection_id: r.id("collectionId")?,
            item_id: r.id("itemId")?,
            mail: Some(read_outgoing(r.object("mail"))?),
        });
        self.submit(now_ms, &r, kind)
    }

    /// Fetches up to `length` bytes of a body part from `offset` (resume a
    /// broken download from the bytes held). The answer is a `range` outcome.
    #[wasm_bindgen(js_name = fetchBody)]
    pub fn fetch_body(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &FetchRangeRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::FetchBody(fetch_range(&r)?);
        self.submit(now_ms, &r, kind)
    }

    /// Fetches up to `length` bytes of an attachment from `offset`. The
    /// answer is a `range` outcome.
    #[wasm_bindgen(js_name = fetchAttachment)]
    pub fn fetch_attachment(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &FetchRangeRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::FetchAttachment(fetch_range(&r)?);
        self.submit(now_ms, &r, kind)
    }

    /// Fetches up to `length` bytes, from `offset`, of an item's whole
    /// packed form: how an `abridged` item (reason `TooLarge`) is completed.
    /// Join the `range` outcomes' `data` until `totalSize` bytes are held,
    /// then pass them to `completeItem`.
    #[wasm_bindgen(js_name = fetchItem)]
    pub fn fetch_item(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &FetchItemRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::FetchBody(fetch_item(&r)?);
        self.submit(now_ms, &r, kind)
    }

    /// Sends part of a file a later mail attaches (`OutgoingAttachment.uploadId`):
    /// how a file larger than about 60 KiB is sent. Send it in order from
    /// offset 0, at most 48 KiB a part, the next once the last is `done`
    /// (its `version` is the bytes the server holds); a `conflict`
    /// outcome's `currentVersion` says where to go on from.
    #[wasm_bindgen(js_name = uploadPart)]
    pub fn upload_part(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &UploadPartRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let upload_id = unhex::<16>(&r.text("uploadId")?)
            .ok_or_else(|| Thrown::invalid("uploadId must be 32 hex digits"))?;
        let kind = Kind::UploadPart(UploadPart {
            upload_id: upload_id.to_vec(),
            offset: r.size("offset")?,
            data: r.bytes("data")?,
            total_size: r.size("totalSize")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// A fresh upload id (32 hex digits, from the platform's random source)
    /// for `uploadPart`.
    #[wasm_bindgen(js_name = newUploadId)]
    pub fn new_upload_id() -> Result<String, Thrown> {
        Ok(hex(&*random::<16>()?))
    }

    /// Creates an event; the `done` outcome carries its id and version.
    #[wasm_bindgen(js_name = createEvent)]
    pub fn create_event(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &CreateEventRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let item = r
            .object("item")
            .ok_or_else(|| Thrown::invalid("item is required"))?;
        let kind = Kind::CreateEvent(CreateEvent {
            calendar_id: r.id("calendarId")?,
            item: Some(read_calendar_item(&item)?),
        });
        self.submit(now_ms, &r, kind)
    }

    /// Replaces an event the device saw at `expectedVersion`; a stale version
    /// is answered with a `conflict` outcome carrying the current item. An
    /// item that carries `abridged` is refused (an `error` outcome, 515
    /// ItemAbridged) and nothing changes: complete it first (`fetchItem`,
    /// `completeItem`) and edit the whole item.
    #[wasm_bindgen(js_name = updateEvent)]
    pub fn update_event(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &UpdateEventRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let item = r
            .object("item")
            .ok_or_else(|| Thrown::invalid("item is required"))?;
        let kind = Kind::UpdateEvent(UpdateEvent {
            calendar_id: r.id("calendarId")?,
            item: Some(read_calendar_item(&item)?),
            expected_version: r.id("expectedVersion")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Deletes an event the device saw at `expectedVersion`.
    #[wasm_bindgen(js_name = deleteEvent)]
    pub fn delete_event(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &DeleteEventRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::DeleteEvent(DeleteEvent {
            calendar_id: r.id("calendarId")?,
            item_id: r.id("itemId")?,
            expected_version: r.id("expectedVersion")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Answers an invitation as the calendar's owner or their delegate.
    pub fn respond(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &RespondRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::Respond(RespondToInvitation {
            calendar_id: r.id("calendarId")?,
            item_id: r.id("itemId")?,
            status: r.i32("status")?,
            recurrence_id: read_time_field(&r, "recurrenceId")?,
            comment: r.text("comment")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Searches mail on the server. The answer is a `search` outcome.
    pub fn search(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &SearchRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::Search(Search {
            query: r.text("query")?,
            collection_ids: r.ids("collectionIds")?,
            limit: r.u32("limit")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Asks when a principal is busy. The answer is a `freeBusy` outcome.
    #[wasm_bindgen(js_name = freeBusy)]
    pub fn free_busy(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        request: &FreeBusyRequest,
    ) -> Result<String, Thrown> {
        let r = Fields::of(request, "request")?;
        let kind = Kind::FreeBusy(FreeBusyQuery {
            principal_id: r.id("principalId")?,
            start: r.i64("start")?,
            end: r.i64("end")?,
        });
        self.submit(now_ms, &r, kind)
    }

    /// Submits any operation as a protobuf `Operation` (schema in
    /// `crates/tidings/proto/`), for operations newer than these methods;
    /// its `op_id` must hold 16 bytes. Returns the op id.
    #[wasm_bindgen(js_name = submitEncoded)]
    pub fn submit_encoded(
        &mut self,
        #[wasm_bindgen(js_name = nowMs)] now_ms: f64,
        operation: &Uint8Array,
    ) -> Result<String, Thrown> {
        let now = millis(now_ms)?;
        let op: Operation = proto::decode(&operation.to_vec())?;
        let kind = op
            .kind
            .ok_or_else(|| Thrown::invalid("the operation has no kind"))?;
        let op_id: [u8; 16] = op
            .op_id
            .as_slice()
            .try_into()
            .map_err(|_| Thrown::invalid("op_id must be 16 bytes"))?;
        self.session.submit(now, op_id, kind)?;
        Ok(hex(&op_id))
    }
}
