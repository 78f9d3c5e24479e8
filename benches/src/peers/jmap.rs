//! JMAP (RFC 8620 core, RFC 8621 mail): the requests and responses a JMAP
//! client exchanges for the same changes Tidings pushes, built from the same
//! items, with the property names of the RFCs. Calendar events are in
//! [`jscalendar`](super::jscalendar).
//!
//! The flow after a change (RFC 8620 section 7.3, push over EventSource):
//! the server sends a `StateChange` event on the open event stream; the
//! client answers with one request, `Foo/changes` since its state and two
//! `Foo/get` calls that take the created and the updated ids by
//! back-reference; the server returns all three results. A client does not
//! know in advance what changed, so it always asks for both.
//!
//! Ids are as short as the shortest server makes them (a letter and a
//! number), and the client asks only for the properties Tidings carries, so
//! JMAP is measured at its leanest.

use super::time::{utc, with_offset};
use serde_json::{Map, Value, json};
use tidings::proto::{Address, MailItem};

/// The account id.
pub const ACCOUNT: &str = "a1";
/// The mailbox holding every mail.
pub const MAILBOX: &str = "m1";
/// The calendar holding every event.
pub const CALENDAR: &str = "c1";
/// The text preview a client asks for, as Tidings sends it.
pub const PREVIEW_BYTES: usize = 2048;

const USING_MAIL: [&str; 2] = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"];
const USING_CALENDARS: [&str; 2] = [
    "urn:ietf:params:jmap:core",
    "urn:ietf:params:jmap:calendars",
];

/// Email properties (RFC 8621 section 4.1) matching what a Tidings mail item
/// holds: headers, flags (keywords), size, the text parts and attachments,
/// and the first 2 KB of text as a body value.
pub const EMAIL_PROPERTIES: [&str; 21] = [
    "id",
    "blobId",
    "threadId",
    "mailboxIds",
    "keywords",
    "size",
    "receivedAt",
    "messageId",
    "inReplyTo",
    "references",
    "from",
    "to",
    "cc",
    "bcc",
    "replyTo",
    "subject",
    "sentAt",
    "hasAttachment",
    "textBody",
    "attachments",
    "bodyValues",
];

/// EmailBodyPart properties (RFC 8621 section 4.1.4) the client asks for.
pub const BODY_PROPERTIES: [&str; 7] = [
    "partId",
    "blobId",
    "size",
    "name",
    "type",
    "cid",
    "disposition",
];

/// An Email id.
pub fn email_id(id: u64) -> String {
    format!("e{id}")
}

/// A state string.
pub fn state(modseq: u64) -> String {
    format!("s{modseq}")
}

fn addresses(list: &[Address]) -> Value {
    if list.is_empty() {
        return Value::Null;
    }
    list.iter()
        .map(|a| {
            json!({
                "name": if a.name.is_empty() { Value::Null } else { a.name.clone().into() },
                "email": a.email,
            })
        })
        .collect()
}

fn message_ids(list: &[String]) -> Value {
    if list.is_empty() {
        Value::Null
    } else {
        list.iter().cloned().collect()
    }
}

/// RFC 8621 keywords for Tidings' MailFlag bits.
pub fn keywords(flags: u32) -> Value {
    let names = [
        (1, "$seen"),
        (2, "$flagged"),
        (4, "$answered"),
        (8, "$draft"),
        (16, "$forwarded"),
    ];
    let mut map = Map::new();
    for (bit, name) in names {
        if flags & bit != 0 {
            map.insert(name.into(), true.into());
        }
    }
    Value::Object(map)
}

/// One Email object with [`EMAIL_PROPERTIES`].
pub fn email(mail: &MailItem, flags: u32) -> Value {
    let id = email_id(mail.id);
    let h = mail.headers.clone().unwrap_or_default();
    // textBody: the text/plain parts, or the HTML ones when there are none
    // (RFC 8621 section 4.1.4).
    let plain: Vec<_> = mail
        .body_parts
        .iter()
        .filter(|p| p.content_type.eq_ignore_ascii_case("text/plain"))
        .collect();
    let text_parts = if plain.is_empty() {
        mail.body_parts.iter().collect()
    } else {
        plain
    };
    let part = |part_id: u32, size: u64, name: &str, kind: &str, cid: &str, disposition: &str| {
        let opt = |s: &str| -> Value { if s.is_empty() { Value::Null } else { s.into() } };
        json!({
            "partId": part_id.to_string(),
            "blobId": format!("b{}.{part_id}", mail.id),
            "size": size,
            "name": opt(name),
            "type": kind,
            "cid": opt(cid),
            "disposition": opt(disposition),
        })
    };
    let text_body: Vec<Value> = text_parts
        .iter()
        .map(|p| part(p.part_id, p.size, "", &p.content_type, "", ""))
        .collect();
    let attachments: Vec<Value> = mail
        .attachments
        .iter()
        .map(|a| {
            let disposition = if a.inline { "inline" } else { "attachment" };
            part(
                a.part_id,
                a.size,
                &a.filename,
                &a.content_type,
                &a.content_id,
                disposition,
            )
        })
        .collect();
    let mut body_values = Map::new();
    if let Some(first) = text_parts.first() {
        body_values.insert(
            first.part_id.to_string(),
            json!({
                "value": mail.preview,
                "isEncodingProblem": false,
                "isTruncated": mail.preview_truncated,
            }),
        );
    }
    json!({
        "id": id,
        "blobId": format!("b{}", mail.id),
        "threadId": format!("t{}", if h.thread_id == 0 { mail.id } else { h.thread_id }),
        "mailboxIds": { MAILBOX: true },
        "keywords": keywords(flags),
        "size": mail.size,
        "receivedAt": utc(h.date),
        "messageId": if h.message_id.is_empty() { Value::Null } else { json!([h.message_id]) },
        "inReplyTo": message_ids(&h.in_reply_to),
        "references": message_ids(&h.references),
        "from": addresses(&h.from),
        "to": addresses(&h.to),
        "cc": addresses(&h.cc),
        "bcc": addresses(&h.bcc),
        "replyTo": addresses(&h.reply_to),
        "subject": h.subject,
        "sentAt": with_offset(h.date, h.date_offset_minutes),
        "hasAttachment": !mail.attachments.is_empty(),
        "textBody": text_body,
        "attachments": attachments,
        "bodyValues": body_values,
    })
}

fn back_reference(name: &str, path: &str) -> Value {
    json!({ "resultOf": "0", "name": name, "path": path })
}

fn body(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON values serialize")
}

/// The request a mail client sends after an `Email` StateChange.
pub fn mail_push_request(since: u64) -> Vec<u8> {
    body(&json!({
        "using": USING_MAIL,
        "methodCalls": [
            ["Email/changes", { "accountId": ACCOUNT, "sinceState": state(since) }, "0"],
            ["Email/get", {
                "accountId": ACCOUNT,
                "#ids": back_reference("Email/changes", "/created"),
                "properties": EMAIL_PROPERTIES,
                "bodyProperties": BODY_PROPERTIES,
                "fetchTextBodyValues": true,
                "maxBodyValueBytes": PREVIEW_BYTES,
            }, "1"],
            ["Email/get", {
                "accountId": ACCOUNT,
                "#ids": back_reference("Email/changes", "/updated"),
                "properties": ["keywords", "mailboxIds"],
            }, "2"],
        ],
    }))
}

/// The server's answer to [`mail_push_request`]: `created` mails in full,
/// `updated` ones (id, flags) with their keywords and mailboxes.
pub fn mail_push_response(
    from: u64,
    to: u64,
    created: &[(&MailItem, u32)],
    updated: &[(u64, u32)],
) -> Vec<u8> {
    let created_ids: Vec<String> = created.iter().map(|(m, _)| email_id(m.id)).collect();
    let updated_ids: Vec<String> = updated.iter().map(|(id, _)| email_id(*id)).collect();
    body(&json!({
        "methodResponses": [
            ["Email/changes", {
                "accountId": ACCOUNT,
                "oldState": state(from),
                "newState": state(to),
                "hasMoreChanges": false,
                "created": created_ids,
                "updated": updated_ids,
                "destroyed": [],
            }, "0"],
            ["Email/get", {
                "accountId": ACCOUNT,
                "state": state(to),
                "list": created.iter().map(|(m, f)| email(m, *f)).collect::<Vec<_>>(),
                "notFound": [],
            }, "1"],
            ["Email/get", {
                "accountId": ACCOUNT,
                "state": state(to),
                "list": updated.iter().map(|(id, f)| json!({
                    "id": email_id(*id),
                    "keywords": keywords(*f),
                    "mailboxIds": { MAILBOX: true },
                })).collect::<Vec<_>>(),
                "notFound": [],
            }, "2"],
        ],
        "sessionState": "c1",
    }))
}

/// The request a calendar client sends after a `CalendarEvent` StateChange.
pub fn calendar_push_request(since: u64) -> Vec<u8> {
    body(&json!({
        "using": USING_CALENDARS,
        "methodCalls": [
            ["CalendarEvent/changes", { "accountId": ACCOUNT, "sinceState": state(since) }, "0"],
            ["CalendarEvent/get", {
                "accountId": ACCOUNT,
                "#ids": back_reference("CalendarEvent/changes", "/created"),
            }, "1"],
            ["CalendarEvent/get", {
                "accountId": ACCOUNT,
                "#ids": back_reference("CalendarEvent/changes", "/updated"),
            }, "2"],
        ],
    }))
}

/// The server's answer to [`calendar_push_request`], with events already in
/// JSCalendar form (see [`jscalendar::event`](super::jscalendar::event)).
pub fn calendar_push_response(from: u64, to: u64, created: &[Value], updated: &[Value]) -> Vec<u8> {
    let ids = |events: &[Value]| -> Vec<Value> { events.iter().map(|e| e["id"].clone()).collect() };
    body(&json!({
        "methodResponses": [
            ["CalendarEvent/changes", {
                "accountId": ACCOUNT,
                "oldState": state(from),
                "newState": state(to),
                "hasMoreChanges": false,
                "created": ids(created),
                "updated": ids(updated),
                "destroyed": [],
            }, "0"],
            ["CalendarEvent/get", {
                "accountId": ACCOUNT, "state": state(to), "list": created, "notFound": [],
            }, "1"],
            ["CalendarEvent/get", {
                "accountId": ACCOUNT, "state": state(to), "list": updated, "notFound": [],
            }, "2"],
        ],
        "sessionState": "c1",
    }))
}

/// The event-stream message announcing a new state of `kind` (RFC 8620
/// section 7.3: event type `state`, a StateChange object as data).
pub fn state_change(kind: &str, to: u64) -> String {
    let change = json!({
        "@type": "StateChange",
        "changed": { ACCOUNT: { kind: state(to) } },
    });
    format!("event: state\ndata: {change}\n\n")
}

/// The event-stream keepalive (RFC 8620 section 7.3: event type `ping`).
pub fn ping(interval_seconds: u64) -> String {
    format!(
        "event: ping\ndata: {}\n\n",
        json!({ "interval": interval_seconds })
    )
}

/// First request of an initial sync: the ids of the newest `limit` mails.
pub fn query_request(limit: usize) -> Vec<u8> {
    body(&json!({
        "using": USING_MAIL,
        "methodCalls": [["Email/query", {
            "accountId": ACCOUNT,
            "filter": { "inMailbox": MAILBOX },
            "sort": [{ "property": "receivedAt", "isAscending": false }],
            "limit": limit,
        }, "0"]],
    }))
}

/// Its answer.
pub fn query_response(ids: &[u64], to: u64) -> Vec<u8> {
    body(&json!({
        "methodResponses": [["Email/query", {
            "accountId": ACCOUNT,
            "queryState": state(to),
            "canCalculateChanges": true,
            "position": 0,
            "ids": ids.iter().map(|id| email_id(*id)).collect::<Vec<_>>(),
        }, "0"]],
        "sessionState": "c1",
    }))
}

/// A request for some mails by id, as an initial sync sends in batches.
pub fn get_request(ids: &[u64]) -> Vec<u8> {
    body(&json!({
        "using": USING_MAIL,
        "methodCalls": [["Email/get", {
            "accountId": ACCOUNT,
            "ids": ids.iter().map(|id| email_id(*id)).collect::<Vec<_>>(),
            "properties": EMAIL_PROPERTIES,
            "bodyProperties": BODY_PROPERTIES,
            "fetchTextBodyValues": true,
            "maxBodyValueBytes": PREVIEW_BYTES,
        }, "0"]],
    }))
}

/// Its answer.
pub fn get_response(mails: &[(&MailItem, u32)], to: u64) -> Vec<u8> {
    body(&json!({
        "methodResponses": [["Email/get", {
            "accountId": ACCOUNT,
            "state": state(to),
            "list": mails.iter().map(|(m, f)| email(m, *f)).collect::<Vec<_>>(),
            "notFound": [],
        }, "0"]],
        "sessionState": "c1",
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidings::proto::{Attachment, BodyPart, MailHeaders};

    fn sample() -> MailItem {
        MailItem {
            id: 7,
            folder_id: 1,
            headers: Some(MailHeaders {
                from: vec![Address {
                    name: "Joe Bloggs".into(),
                    email: "joe@example.com".into(),
                }],
                to: vec![Address {
                    name: String::new(),
                    email: "jane@example.com".into(),
                }],
                subject: "Budget".into(),
                date: 1_796_025_600,
                date_offset_minutes: 60,
                message_id: "abc@example.com".into(),
                ..Default::default()
            }),
            preview: "The second reading".into(),
            preview_truncated: true,
            body_parts: vec![
                BodyPart {
                    part_id: 1,
                    content_type: "text/plain".into(),
                    size: 3000,
                },
                BodyPart {
                    part_id: 2,
                    content_type: "text/html".into(),
                    size: 5000,
                },
            ],
            attachments: vec![Attachment {
                part_id: 3,
                filename: "minutes.pdf".into(),
                content_type: "application/pdf".into(),
                size: 12_345,
                ..Default::default()
            }],
            flags: 0,
            size: 25_000,
            abridged: None,
        }
    }

    /// The shape of RFC 8621 section 4.1's Email object: property names,
    /// EmailAddress objects, keywords, body parts and body values.
    #[test]
    fn an_email_has_the_rfc_8621_properties() {
        let e = email(&sample(), 1 | 2);
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = EMAIL_PROPERTIES.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(
            e["from"],
            json!([{"name": "Joe Bloggs", "email": "joe@example.com"}])
        );
        assert_eq!(e["to"][0]["name"], Value::Null);
        assert_eq!(e["cc"], Value::Null);
        assert_eq!(e["keywords"], json!({"$seen": true, "$flagged": true}));
        assert_eq!(e["messageId"], json!(["abc@example.com"]));
        assert_eq!(e["sentAt"], "2026-11-30T09:00:00+01:00");
        assert_eq!(e["receivedAt"], "2026-11-30T08:00:00Z");
        // Only the text/plain part is in textBody; the preview is its value.
        assert_eq!(e["textBody"].as_array().unwrap().len(), 1);
        assert_eq!(e["textBody"][0]["partId"], "1");
        assert_eq!(e["textBody"][0]["type"], "text/plain");
        assert_eq!(e["bodyValues"]["1"]["value"], "The second reading");
        assert_eq!(e["bodyValues"]["1"]["isTruncated"], true);
        assert_eq!(e["attachments"][0]["name"], "minutes.pdf");
        assert_eq!(e["attachments"][0]["disposition"], "attachment");
        assert_eq!(e["hasAttachment"], true);
    }

    /// RFC 8620 section 3.3 and 3.4: `using`, `methodCalls` of
    /// [name, arguments, call id], back-references with `#`.
    #[test]
    fn a_push_request_uses_back_references() {
        let r: Value = serde_json::from_slice(&mail_push_request(41)).unwrap();
        assert_eq!(r["using"][1], "urn:ietf:params:jmap:mail");
        let calls = r["methodCalls"].as_array().unwrap();
        assert_eq!(
            calls[0],
            json!(["Email/changes", {"accountId": "a1", "sinceState": "s41"}, "0"])
        );
        assert_eq!(calls[1][0], "Email/get");
        assert_eq!(
            calls[1][1]["#ids"],
            json!({"resultOf": "0", "name": "Email/changes", "path": "/created"})
        );
        assert_eq!(calls[2][1]["#ids"]["path"], "/updated");
    }

    #[test]
    fn a_push_response_has_changes_then_gets() {
        let m = sample();
        let r: Value =
            serde_json::from_slice(&mail_push_response(41, 43, &[(&m, 0)], &[(5, 1)])).unwrap();
        let responses = r["methodResponses"].as_array().unwrap();
        assert_eq!(responses[0][0], "Email/changes");
        assert_eq!(responses[0][1]["created"], json!(["e7"]));
        assert_eq!(responses[0][1]["updated"], json!(["e5"]));
        assert_eq!(responses[0][1]["newState"], "s43");
        assert_eq!(responses[1][1]["list"][0]["id"], "e7");
        assert_eq!(
            responses[2][1]["list"][0],
            json!({"id": "e5", "keywords": {"$seen": true}, "mailboxIds": {"m1": true}})
        );
    }

    #[test]
    fn event_stream_messages() {
        assert_eq!(
            state_change("Email", 42),
            "event: state\ndata: {\"@type\":\"StateChange\",\"changed\":{\"a1\":{\"Email\":\"s42\"}}}\n\n"
        );
        assert_eq!(ping(240), "event: ping\ndata: {\"interval\":240}\n\n");
    }
}
