//! Client events as plain JS objects (the `ClientEvent` type in `types.rs`).

use crate::error::{error_for_code, error_value};
use crate::items::item;
use crate::js::{Obj, hex, list};
use tidings::compress::{InflateLimits, unpack};
use tidings::proto::{
    self, CollectionInfo, Item, OperationResult, Policy, operation_result::Outcome,
};
use tidings::session::ClientEvent;
use wasm_bindgen::JsValue;

pub(crate) fn event(event: &ClientEvent, limits: &InflateLimits) -> JsValue {
    let typed = |name: &str| Obj::new().text("type", name);
    match event {
        ClientEvent::Enrolled { device_id } => typed("enrolled").big("deviceId", *device_id),
        ClientEvent::Connected { collections } => {
            typed("connected").list("collections", collections, collection_info)
        }
        ClientEvent::Changed {
            collection_id,
            modseq,
        } => typed("changed")
            .big("collectionId", *collection_id)
            .big("modseq", *modseq),
        ClientEvent::CaughtUp {
            collection_id,
            modseq,
        } => typed("caughtUp")
            .big("collectionId", *collection_id)
            .big("modseq", *modseq),
        ClientEvent::CollectionsChanged { collections } => {
            typed("collectionsChanged").list("collections", collections, collection_info)
        }
        ClientEvent::Resync { collection_id } => {
            typed("resync").big("collectionId", *collection_id)
        }
        ClientEvent::OperationResult(result) => typed("operationResult")
            .text("opId", &hex(&result.op_id))
            .set("outcome", outcome(result, limits)),
        ClientEvent::Policy(p) => typed("policy").set("policy", policy(p)),
        ClientEvent::WipeRequested { wipe_id } => typed("wipeRequested").big("wipeId", *wipe_id),
        ClientEvent::Revoked => typed("revoked"),
        ClientEvent::Closed { error } => typed("closed").maybe(
            "error",
            error
                .as_ref()
                .map(|e| error_value(e.code(), &e.to_string())),
        ),
        // An event newer than this package: nothing to convert.
        _ => typed("unknown"),
    }
    .done()
}

/// A `CollectionInfo` object.
pub(crate) fn collection_info_object(info: &CollectionInfo) -> Obj {
    Obj::new()
        .big("id", info.id)
        .num("kind", info.kind)
        .text("name", &info.name)
        .big("ownerId", info.owner_id)
        .text("ownerName", &info.owner_name)
        .num("rights", info.rights)
        .big("epoch", info.epoch)
}

fn collection_info(info: &CollectionInfo) -> JsValue {
    collection_info_object(info).done()
}

pub(crate) fn policy(p: &Policy) -> JsValue {
    Obj::new()
        .big("version", p.version)
        .flag("requirePasscode", p.require_passcode)
        .num("maxInactivitySeconds", p.max_inactivity_seconds)
        .flag("allowAttachments", p.allow_attachments)
        .num("maxPreviewBytes", p.max_preview_bytes)
        .num("keepaliveSeconds", p.keepalive_seconds)
        .done()
}

fn outcome(result: &OperationResult, limits: &InflateLimits) -> JsValue {
    let kind = |name: &str| Obj::new().text("kind", name);
    match &result.outcome {
        Some(Outcome::Done(done)) => kind("done")
            .big("itemId", done.item_id)
            .big("version", done.version),
        Some(Outcome::Error(info)) => kind("error").set("error", error_for_code(info.code)),
        Some(Outcome::Conflict(conflict)) => {
            // The current item travels packed, like an upsert.
            let current = unpack(&conflict.current, limits)
                .ok()
                .filter(|_| !conflict.current.is_empty())
                .and_then(|bytes| proto::decode::<Item>(&bytes).ok())
                .map(|current| item(&current, 0));
            kind("conflict")
                .big("currentVersion", conflict.current_version)
                .maybe("current", current)
        }
        Some(Outcome::Range(range)) => kind("range")
            .num("offset", range.offset)
            .num("totalSize", range.total_size)
            .bytes("data", &range.data),
        Some(Outcome::Search(found)) => kind("search")
            .set(
                "hits",
                list(&found.hits, |hit| {
                    Obj::new()
                        .big("collectionId", hit.collection_id)
                        .big("itemId", hit.item_id)
                        .done()
                }),
            )
            .flag("truncated", found.truncated),
        Some(Outcome::FreeBusy(busy)) => kind("freeBusy")
            .list("periods", &busy.periods, |p| {
                Obj::new()
                    .num("start", p.start)
                    .num("end", p.end)
                    .flag("tentative", p.tentative)
                    .done()
            })
            .list("skipped", &busy.skipped, |s| {
                Obj::new()
                    .big("calendarId", s.calendar_id)
                    .big("itemId", s.item_id)
                    .text("uid", &s.uid)
                    .num("code", s.code)
                    .done()
            })
            .num("skippedCount", busy.skipped_count),
        None => kind("unknown"),
    }
    .done()
}
