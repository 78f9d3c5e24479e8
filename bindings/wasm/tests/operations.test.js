// Operations from JS against the loopback server: flags, a retried op id,
// an invitation answered by the mayor and seen by the delegate, conflicts
// carrying the current item, ranges, search, refusals, events created and
// deleted, any operation as protobuf, ops queued before enrollment. Ports
// crates/tidings/tests/session*.rs and bindings/c/tests/c/ops.c.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AGENDA, answer, bytes, drain, enroll, pump, tidings, town, unhex } from "./support.js";

const { Client, ClientState, Keypair, MailFlag, ParticipationStatus } = tidings;

test("flag a message; a retried op id is answered again but applied once", () => {
  const { server, t } = town();
  const mail = server.addMail(t.chiefInbox, bytes(AGENDA));
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);

  const opId = chief.setFlags(2000, { collectionId: t.chiefInbox, itemIds: [mail], set: MailFlag.Flagged | MailFlag.Seen });
  assert.match(opId, /^[0-9a-f]{32}$/);
  assert.deepEqual(answer(server, conn, chief, 2000, opId).kind, "done");
  server.push(2000);
  pump(server, conn, chief, 2000);
  assert.equal(chief.item(t.chiefInbox, mail).flags, MailFlag.Flagged | MailFlag.Seen);

  // The same op id again, now clearing: answered, not applied.
  const again = chief.setFlags(3000, { collectionId: t.chiefInbox, itemIds: [mail], clear: MailFlag.Flagged, opId });
  assert.equal(again, opId);
  assert.equal(answer(server, conn, chief, 3000, opId).kind, "done");
  assert.equal(server.storedFlags(t.chiefInbox, mail), MailFlag.Flagged | MailFlag.Seen);
  chief.free();
  server.free();
});

test("the mayor accepts; the chief's device (a delegate) sees it; the later writer conflicts", () => {
  const { server, t } = town();
  const meeting = server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  const { client: chief, conn: chiefConn } = enroll(server, t.chief);
  const { client: mayor, conn: mayorConn } = enroll(server, t.mayor);

  let op = mayor.respond(3000, { calendarId: t.mayorCalendar, itemId: meeting, status: ParticipationStatus.Accepted, comment: "" });
  let outcome = answer(server, mayorConn, mayor, 3000, op);
  assert.equal(outcome.kind, "done");
  assert.equal(outcome.version, 2n);
  server.push(3000);
  pump(server, chiefConn, chief, 3000);
  const seen = chief.item(t.mayorCalendar, meeting);
  assert.equal(seen.version, 2n);
  assert.equal(seen.master.attendees[0].status, ParticipationStatus.Accepted);

  // The mayor edits version 2; the chief's edit of version 2 then conflicts,
  // and the conflict carries the current item.
  const moved = structuredClone(seen);
  moved.master.location = "Harbour office";
  op = mayor.updateEvent(4000, { calendarId: t.mayorCalendar, item: moved, expectedVersion: 2n });
  assert.equal(answer(server, mayorConn, mayor, 4000, op).kind, "done");
  const mine = structuredClone(seen);
  mine.master.location = "Town hall";
  op = chief.updateEvent(4001, { calendarId: t.mayorCalendar, item: mine, expectedVersion: 2n });
  outcome = answer(server, chiefConn, chief, 4001, op);
  assert.equal(outcome.kind, "conflict");
  assert.equal(outcome.currentVersion, 3n);
  assert.equal(outcome.current.kind, "calendar");
  assert.equal(outcome.current.master.location, "Harbour office");
  chief.free();
  mayor.free();
  server.free();
});

test("a body range, resumable from any offset; search; a refused move; delete", () => {
  const { server, t } = town();
  const mail = server.addMail(t.chiefInbox, bytes(AGENDA));
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);
  const item = chief.item(t.chiefInbox, mail);
  assert.equal(item.bodyParts.length, 1);
  assert.equal(item.attachments.length, 0);
  const part = item.bodyParts[0];

  let op = chief.fetchBody(5000, { collectionId: t.chiefInbox, itemId: mail, partId: part.partId, offset: 5, length: 10 });
  let outcome = answer(server, conn, chief, 5000, op);
  assert.equal(outcome.kind, "range");
  assert.equal(outcome.offset, 5);
  assert.equal(outcome.totalSize, part.size);
  assert.ok(outcome.data instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(outcome.data), "one: the h");

  op = chief.search(6000, { query: "agenda", limit: 10 });
  outcome = answer(server, conn, chief, 6000, op);
  assert.equal(outcome.kind, "search");
  assert.deepEqual(outcome.hits, [{ collectionId: t.chiefInbox, itemId: mail }]);
  assert.equal(outcome.truncated, false);

  // Into the mayor's inbox, which the chief may not even see: refused.
  op = chief.moveItems(6500, { collectionId: t.chiefInbox, itemIds: [mail], toCollectionId: t.mayorInbox });
  outcome = answer(server, conn, chief, 6500, op);
  assert.equal(outcome.kind, "error");
  assert.ok(outcome.error instanceof tidings.TidingsError);
  assert.equal(tidings.errorDescription(outcome.error.code), outcome.error.message);

  op = chief.deleteItems(7000, { collectionId: t.chiefInbox, itemIds: [mail] });
  assert.equal(answer(server, conn, chief, 7000, op).kind, "done");
  server.push(7000);
  pump(server, conn, chief, 7000);
  assert.deepEqual(chief.itemIds(t.chiefInbox), []);
  chief.free();
  server.free();
});

test("create an event, then delete it: a stale version conflicts, the right one is done", () => {
  const { server, t } = town();
  const meeting = server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);

  const copy = chief.item(t.mayorCalendar, meeting);
  let op = chief.createEvent(8000, { calendarId: t.chiefCalendar, item: { master: { ...copy.master, summary: "Prep for the harbour board" } } });
  let outcome = answer(server, conn, chief, 8000, op);
  assert.equal(outcome.kind, "done");
  const created = outcome.itemId;
  const version = outcome.version;
  assert.ok(created !== 0n && created !== meeting && version !== 0n);
  server.push(8000);
  pump(server, conn, chief, 8000);
  assert.equal(chief.item(t.chiefCalendar, created).master.summary, "Prep for the harbour board");

  op = chief.deleteEvent(8001, { calendarId: t.chiefCalendar, itemId: created, expectedVersion: version + 5n });
  outcome = answer(server, conn, chief, 8001, op);
  assert.equal(outcome.kind, "conflict");
  assert.equal(outcome.currentVersion, version);
  op = chief.deleteEvent(8002, { calendarId: t.chiefCalendar, itemId: created, expectedVersion: version });
  assert.equal(answer(server, conn, chief, 8002, op).kind, "done");
  chief.free();
  server.free();
});

test("mail sending, replying and forwarding reach the server; free/busy is answered", () => {
  const { server, t } = town();
  const mail = server.addMail(t.chiefInbox, bytes(AGENDA));
  server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);
  const to = [{ name: "Town Clerk", email: "clerk@town.example" }];
  const sent = [
    chief.sendMail(9000, { mail: { to, subject: "Hello", text: "See you Thursday.", attachments: [{ filename: "a.txt", contentType: "text/plain", data: bytes("hi") }] } }),
    chief.reply(9000, { collectionId: t.chiefInbox, itemId: mail, mail: { text: "Thanks." } }),
    chief.forward(9000, { collectionId: t.chiefInbox, itemId: mail, mail: { to, text: "FYI" } }),
  ];
  pump(server, conn, chief, 9000);
  const results = drain(chief).filter((e) => e.type === "operationResult");
  assert.deepEqual(results.map((e) => [e.opId, e.outcome.kind]), sent.map((op) => [op, "done"]));

  // 3 December 2026 in seconds: the meeting is 09:00-10:00 London (UTC).
  const day = Date.UTC(2026, 11, 3) / 1000;
  const op = chief.freeBusy(9500, { principalId: t.mayor, start: day, end: day + 86400 });
  const outcome = answer(server, conn, chief, 9500, op);
  assert.equal(outcome.kind, "freeBusy");
  assert.deepEqual(outcome.periods, [{ start: day + 9 * 3600, end: day + 10 * 3600, tentative: false }]);
  chief.free();
  server.free();
});

test("a file larger than one operation is uploaded in parts, then attached", () => {
  const { server, t } = town();
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);
  const file = new Uint8Array(100 * 1024).map((_, i) => (i * 7919) % 251);
  const uploadId = Client.newUploadId();
  assert.match(uploadId, /^[0-9a-f]{32}$/);
  const part = 48 * 1024;
  // A part past what the server holds is told where to go on from.
  let op = chief.uploadPart(9000, { uploadId, offset: part, data: file.subarray(part, 2 * part), totalSize: file.length });
  let outcome = answer(server, conn, chief, 9000, op);
  assert.equal(outcome.kind, "conflict");
  assert.equal(outcome.currentVersion, 0n);
  for (let offset = 0; offset < file.length; offset += part) {
    const data = file.subarray(offset, offset + part);
    op = chief.uploadPart(9001, { uploadId, offset, data, totalSize: file.length });
    outcome = answer(server, conn, chief, 9001, op);
    assert.equal(outcome.kind, "done");
    assert.equal(outcome.version, BigInt(offset + data.length));
  }
  const to = [{ email: "clerk@town.example" }];
  const attachments = [{ filename: "survey.pdf", contentType: "application/pdf", uploadId }];
  op = chief.sendMail(9002, { mail: { to, subject: "Survey", attachments } });
  assert.equal(answer(server, conn, chief, 9002, op).kind, "done");
  // Taken by that mail, the upload is gone.
  op = chief.sendMail(9003, { mail: { to, subject: "Again", attachments } });
  const again = answer(server, conn, chief, 9003, op);
  assert.equal(again.kind, "error");
  assert.equal(again.error.code, 502);
  assert.throws(() => chief.uploadPart(9004, { uploadId: "xyz", data: file, totalSize: 1 }), { code: 801 });
  assert.throws(() => chief.sendMail(9004, { mail: { to, attachments: [{ filename: "a", contentType: "", uploadId: "12" }] } }), { code: 801 });
  chief.free();
  server.free();
});

test("any operation as protobuf bytes", () => {
  const { server, t } = town();
  const mail = server.addMail(t.chiefInbox, bytes(AGENDA));
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);
  assert.ok(t.chiefInbox < 128n && mail < 128n);
  // Operation{op_id: 16 x 0x0c, delete_items{collection_id, item_ids: [mail]}}
  const wire = new Uint8Array([0x0a, 16, ...new Array(16).fill(12), 0x22, 5, 0x08, Number(t.chiefInbox), 0x12, 1, Number(mail)]);
  const op = chief.submitEncoded(10000, wire);
  assert.equal(op, "0c".repeat(16));
  assert.equal(answer(server, conn, chief, 10000, op).kind, "done");
  assert.throws(() => chief.submitEncoded(10000, unhex("ffff")), { code: 400 });
  assert.throws(() => chief.submitEncoded(10000, unhex("0a0101")), { code: 801 });
  chief.free();
  server.free();
});

test("operations queued before enrollment completes are sent after it", () => {
  const { server, t } = town();
  const meeting = server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  const keys = Keypair.generate();
  const state = new ClientState(keys, server.publicKey);
  const chief = Client.enroll(state, server.activation(t.chief), "phone", 0);
  const op = chief.respond(0, { calendarId: t.mayorCalendar, itemId: meeting, status: ParticipationStatus.Tentative });
  assert.equal(chief.pendingOperations, 1);
  const conn = server.accept(0);
  const outcome = answer(server, conn, chief, 0, op);
  assert.equal(outcome.kind, "done");
  assert.equal(chief.pendingOperations, 0);
  for (const o of [keys, state, chief, server]) o.free();
});
