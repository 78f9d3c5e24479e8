//! Mail and calendar items as plain JS objects (the `Item` types in
//! `types.rs`), and calendar items and outgoing mail read back from them.

use crate::error::Thrown;
use crate::js::{Fields, Obj, list};
use tidings::proto::{
    Abridged, Address, Alarm, Attachment, Attendee, BodyPart, CalendarEvent, CalendarItem,
    CalendarTime, Item, MailHeaders, MailItem, OutgoingAttachment, OutgoingMail, RawProperty,
    TimeZone, item,
};
use wasm_bindgen::JsValue;

// ---- out: protobuf to JS ----

/// An item; `flags` are the replica's current flags for a mail (the packed
/// item carries 0).
pub(crate) fn item(item: &Item, flags: u32) -> JsValue {
    match &item.kind {
        Some(item::Kind::Mail(mail)) => mail_item(mail, flags),
        Some(item::Kind::Calendar(event)) => calendar_item(event),
        None => Obj::new().text("kind", "unknown").done(),
    }
}

fn address(a: &Address) -> JsValue {
    Obj::new()
        .text("name", &a.name)
        .text("email", &a.email)
        .done()
}

fn texts(values: &[String]) -> js_sys::Array {
    list(values, |s| JsValue::from_str(s))
}

fn headers(h: &MailHeaders) -> JsValue {
    Obj::new()
        .list("from", &h.from, address)
        .list("to", &h.to, address)
        .list("cc", &h.cc, address)
        .list("bcc", &h.bcc, address)
        .list("replyTo", &h.reply_to, address)
        .text("subject", &h.subject)
        .num("date", h.date)
        .num("dateOffsetMinutes", h.date_offset_minutes)
        .text("messageId", &h.message_id)
        .set("inReplyTo", texts(&h.in_reply_to))
        .set("references", texts(&h.references))
        .big("threadId", h.thread_id)
        .done()
}

fn body_part(b: &BodyPart) -> JsValue {
    Obj::new()
        .num("partId", b.part_id)
        .text("contentType", &b.content_type)
        .num("size", b.size)
        .done()
}

fn attachment(a: &Attachment) -> JsValue {
    Obj::new()
        .num("partId", a.part_id)
        .text("filename", &a.filename)
        .text("contentType", &a.content_type)
        .num("size", a.size)
        .text("contentId", &a.content_id)
        .flag("inline", a.inline)
        .maybe("nestedHeaders", a.nested_headers.as_ref().map(headers))
        .text("charset", &a.charset)
        .done()
}

/// What an abridged item or placeholder leaves out (`MailItem.abridged`,
/// `CalendarItem.abridged`).
fn abridged(a: &Abridged) -> JsValue {
    Obj::new()
        .num("reason", a.reason)
        .num("packedSize", a.packed_size)
        .num("cutTexts", a.cut_texts)
        .num("omittedEntries", a.omitted_entries)
        .num("droppedWhole", a.dropped_whole)
        .done()
}

fn mail_item(m: &MailItem, flags: u32) -> JsValue {
    Obj::new()
        .text("kind", "mail")
        .big("id", m.id)
        .big("folderId", m.folder_id)
        .set("headers", headers(&m.headers.clone().unwrap_or_default()))
        .text("preview", &m.preview)
        .flag("previewTruncated", m.preview_truncated)
        .list("bodyParts", &m.body_parts, body_part)
        .list("attachments", &m.attachments, attachment)
        .num("flags", flags)
        .num("size", m.size)
        .maybe("abridged", m.abridged.as_ref().map(abridged))
        .done()
}

fn time(t: &CalendarTime) -> JsValue {
    Obj::new()
        .text("value", &t.value)
        .text("tzid", &t.tzid)
        .text("params", &t.params)
        .done()
}

fn raw(p: &RawProperty) -> JsValue {
    Obj::new()
        .text("name", &p.name)
        .text("params", &p.params)
        .text("value", &p.value)
        .done()
}

fn attendee(a: &Attendee) -> JsValue {
    Obj::new()
        .maybe("address", a.address.as_ref().map(address))
        .num("status", a.status)
        .num("role", a.role)
        .flag("rsvp", a.rsvp)
        .text("otherParams", &a.other_params)
        .text("uri", &a.uri)
        .done()
}

fn alarm(a: &Alarm) -> JsValue {
    Obj::new()
        .text("action", &a.action)
        .text("trigger", &a.trigger)
        .text("triggerParams", &a.trigger_params)
        .text("description", &a.description)
        .list("other", &a.other, raw)
        .set("components", texts(&a.components))
        .done()
}

fn event(e: &CalendarEvent) -> JsValue {
    Obj::new()
        .text("uid", &e.uid)
        .text("summary", &e.summary)
        .text("location", &e.location)
        .text("description", &e.description)
        .maybe("start", e.start.as_ref().map(time))
        .maybe("end", e.end.as_ref().map(time))
        .text("duration", &e.duration)
        .maybe("organizer", e.organizer.as_ref().map(address))
        .list("attendees", &e.attendees, attendee)
        .text("rrule", &e.rrule)
        .list("exdates", &e.exdates, time)
        .list("rdates", &e.rdates, time)
        .maybe("recurrenceId", e.recurrence_id.as_ref().map(time))
        .list("alarms", &e.alarms, alarm)
        .num("transparency", e.transparency)
        .num("sequence", e.sequence)
        .text("status", &e.status)
        .text("dtstamp", &e.dtstamp)
        .list("other", &e.other, raw)
        .text("summaryParams", &e.summary_params)
        .text("locationParams", &e.location_params)
        .text("descriptionParams", &e.description_params)
        .text("organizerParams", &e.organizer_params)
        .set("components", texts(&e.components))
        .text("organizerUri", &e.organizer_uri)
        .text("rruleParams", &e.rrule_params)
        .done()
}

fn timezone(t: &TimeZone) -> JsValue {
    Obj::new()
        .text("tzid", &t.tzid)
        .text("vtimezone", &t.vtimezone)
        .done()
}

fn calendar_item(c: &CalendarItem) -> JsValue {
    Obj::new()
        .text("kind", "calendar")
        .big("id", c.id)
        .big("calendarId", c.calendar_id)
        .big("version", c.version)
        .maybe("master", c.master.as_ref().map(event))
        .list("overrides", &c.overrides, event)
        .list("timezones", &c.timezones, timezone)
        .maybe("abridged", c.abridged.as_ref().map(abridged))
        .text("floatingTzid", &c.floating_tzid)
        .done()
}

// ---- in: JS to protobuf ----

fn read_address(value: &JsValue) -> Result<Address, Thrown> {
    let f = Fields::of(value, "an address")?;
    Ok(Address {
        name: f.text("name")?,
        email: f.text("email")?,
    })
}

fn read_optional<T>(
    value: Option<JsValue>,
    read: impl Fn(&JsValue) -> Result<T, Thrown>,
) -> Result<Option<T>, Thrown> {
    value.map(|v| read(&v)).transpose()
}

fn read_time(value: &JsValue) -> Result<CalendarTime, Thrown> {
    let f = Fields::of(value, "a CalendarTime")?;
    Ok(CalendarTime {
        value: f.text("value")?,
        tzid: f.text("tzid")?,
        params: f.text("params")?,
    })
}

/// An optional `CalendarTime` field of `fields`.
pub(crate) fn read_time_field(f: &Fields<'_>, key: &str) -> Result<Option<CalendarTime>, Thrown> {
    read_optional(f.object(key), read_time)
}

fn read_raw(value: &JsValue) -> Result<RawProperty, Thrown> {
    let f = Fields::of(value, "a RawProperty")?;
    Ok(RawProperty {
        name: f.text("name")?,
        params: f.text("params")?,
        value: f.text("value")?,
    })
}

fn read_attendee(value: &JsValue) -> Result<Attendee, Thrown> {
    let f = Fields::of(value, "an Attendee")?;
    Ok(Attendee {
        address: read_optional(f.object("address"), read_address)?,
        status: f.i32("status")?,
        role: f.i32("role")?,
        rsvp: f.flag("rsvp")?,
        other_params: f.text("otherParams")?,
        uri: f.text("uri")?,
    })
}

fn read_alarm(value: &JsValue) -> Result<Alarm, Thrown> {
    let f = Fields::of(value, "an Alarm")?;
    Ok(Alarm {
        action: f.text("action")?,
        trigger: f.text("trigger")?,
        trigger_params: f.text("triggerParams")?,
        description: f.text("description")?,
        other: f.list("other", read_raw)?,
        components: f.texts("components")?,
    })
}

fn read_event(value: &JsValue) -> Result<CalendarEvent, Thrown> {
    let f = Fields::of(value, "a CalendarEvent")?;
    Ok(CalendarEvent {
        uid: f.text("uid")?,
        summary: f.text("summary")?,
        location: f.text("location")?,
        description: f.text("description")?,
        start: read_time_field(&f, "start")?,
        end: read_time_field(&f, "end")?,
        duration: f.text("duration")?,
        organizer: read_optional(f.object("organizer"), read_address)?,
        attendees: f.list("attendees", read_attendee)?,
        rrule: f.text("rrule")?,
        exdates: f.list("exdates", read_time)?,
        rdates: f.list("rdates", read_time)?,
        recurrence_id: read_time_field(&f, "recurrenceId")?,
        alarms: f.list("alarms", read_alarm)?,
        transparency: f.i32("transparency")?,
        sequence: f.u32("sequence")?,
        status: f.text("status")?,
        dtstamp: f.text("dtstamp")?,
        other: f.list("other", read_raw)?,
        summary_params: f.text("summaryParams")?,
        location_params: f.text("locationParams")?,
        description_params: f.text("descriptionParams")?,
        organizer_params: f.text("organizerParams")?,
        components: f.texts("components")?,
        organizer_uri: f.text("organizerUri")?,
        rrule_params: f.text("rruleParams")?,
    })
}

fn read_timezone(value: &JsValue) -> Result<TimeZone, Thrown> {
    let f = Fields::of(value, "a TimeZone")?;
    Ok(TimeZone {
        tzid: f.text("tzid")?,
        vtimezone: f.text("vtimezone")?,
    })
}

fn read_abridged(value: &JsValue) -> Result<Abridged, Thrown> {
    let f = Fields::of(value, "abridged")?;
    Ok(Abridged {
        reason: f.i32("reason")?,
        packed_size: f.size("packedSize")?,
        cut_texts: f.u32("cutTexts")?,
        omitted_entries: f.u32("omittedEntries")?,
        dropped_whole: f.u32("droppedWhole")?,
    })
}

/// A `CalendarItemInput`. Every field is read (no `..Default::default()`,
/// so a field added to the schema does not compile until it is): an item
/// the app got and passes back loses nothing, and one that is `abridged`
/// says so, for the server to refuse (ItemAbridged, 515) rather than
/// overwrite what the device was never shown.
pub(crate) fn read_calendar_item(value: &JsValue) -> Result<CalendarItem, Thrown> {
    let f = Fields::of(value, "item")?;
    Ok(CalendarItem {
        id: f.id_or_zero("id")?,
        calendar_id: f.id_or_zero("calendarId")?,
        version: f.id_or_zero("version")?,
        master: read_optional(f.object("master"), read_event)?,
        overrides: f.list("overrides", read_event)?,
        timezones: f.list("timezones", read_timezone)?,
        abridged: read_optional(f.object("abridged"), read_abridged)?,
        floating_tzid: f.text("floatingTzid")?,
    })
}

fn read_attachment(value: &JsValue) -> Result<OutgoingAttachment, Thrown> {
    let f = Fields::of(value, "an OutgoingAttachment")?;
    let upload = f.text("uploadId")?;
    let upload_id = match upload.as_str() {
        "" => Vec::new(),
        hex => crate::js::unhex::<16>(hex)
            .ok_or_else(|| Thrown::invalid("uploadId must be 32 hex digits"))?
            .to_vec(),
    };
    Ok(OutgoingAttachment {
        filename: f.text("filename")?,
        content_type: f.text("contentType")?,
        data: f.bytes("data")?,
        upload_id,
    })
}

/// An `OutgoingMail`.
pub(crate) fn read_outgoing(value: Option<JsValue>) -> Result<OutgoingMail, Thrown> {
    let value = value.ok_or_else(|| Thrown::invalid("mail is required"))?;
    let f = Fields::of(&value, "mail")?;
    Ok(OutgoingMail {
        to: f.list("to", read_address)?,
        cc: f.list("cc", read_address)?,
        bcc: f.list("bcc", read_address)?,
        subject: f.text("subject")?,
        text: f.text("text")?,
        attachments: f.list("attachments", read_attachment)?,
    })
}

// ---- test support: mail read back, for the round-trip test ----
//
// The package never takes a mail item from JS; the test package reads one
// back so `testItemFromJs(testItemToJs(x))` can be checked equal to `x` for
// both kinds. Exhaustive like the readers above.

#[cfg(feature = "loopback-server")]
fn read_headers(value: &JsValue) -> Result<MailHeaders, Thrown> {
    let f = Fields::of(value, "MailHeaders")?;
    Ok(MailHeaders {
        from: f.list("from", read_address)?,
        to: f.list("to", read_address)?,
        cc: f.list("cc", read_address)?,
        bcc: f.list("bcc", read_address)?,
        reply_to: f.list("replyTo", read_address)?,
        subject: f.text("subject")?,
        date: f.i64("date")?,
        date_offset_minutes: f.i32("dateOffsetMinutes")?,
        message_id: f.text("messageId")?,
        in_reply_to: f.texts("inReplyTo")?,
        references: f.texts("references")?,
        thread_id: f.id_or_zero("threadId")?,
    })
}

#[cfg(feature = "loopback-server")]
fn read_body_part(value: &JsValue) -> Result<BodyPart, Thrown> {
    let f = Fields::of(value, "a BodyPart")?;
    Ok(BodyPart {
        part_id: f.u32("partId")?,
        content_type: f.text("contentType")?,
        size: f.size("size")?,
    })
}

#[cfg(feature = "loopback-server")]
fn read_mail_attachment(value: &JsValue) -> Result<Attachment, Thrown> {
    let f = Fields::of(value, "an Attachment")?;
    Ok(Attachment {
        part_id: f.u32("partId")?,
        filename: f.text("filename")?,
        content_type: f.text("contentType")?,
        size: f.size("size")?,
        content_id: f.text("contentId")?,
        inline: f.flag("inline")?,
        nested_headers: read_optional(f.object("nestedHeaders"), read_headers)?,
        charset: f.text("charset")?,
    })
}

#[cfg(feature = "loopback-server")]
fn read_mail_item(value: &JsValue) -> Result<MailItem, Thrown> {
    let f = Fields::of(value, "a MailItem")?;
    Ok(MailItem {
        id: f.id_or_zero("id")?,
        folder_id: f.id_or_zero("folderId")?,
        headers: read_optional(f.object("headers"), read_headers)?,
        preview: f.text("preview")?,
        preview_truncated: f.flag("previewTruncated")?,
        body_parts: f.list("bodyParts", read_body_part)?,
        attachments: f.list("attachments", read_mail_attachment)?,
        flags: f.u32("flags")?,
        size: f.size("size")?,
        abridged: read_optional(f.object("abridged"), read_abridged)?,
    })
}

/// TEST SUPPORT: an `Item` object read back (mail or calendar, by `kind`).
#[cfg(feature = "loopback-server")]
pub(crate) fn read_item(value: &JsValue) -> Result<Item, Thrown> {
    let f = Fields::of(value, "item")?;
    let kind = match f.text("kind")?.as_str() {
        "mail" => Some(item::Kind::Mail(read_mail_item(value)?)),
        "calendar" => Some(item::Kind::Calendar(read_calendar_item(value)?)),
        _ => None,
    };
    Ok(Item { kind })
}
