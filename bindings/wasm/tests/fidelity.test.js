// Items cross into JS and back without loss: every field of the item
// schema reaches the app and comes back unchanged; an abridged event says
// so, an edit of it is refused (515) and loses nothing, and the whole item
// can be fetched and edited; a floating event keeps its calendar zone; and
// free/busy says which events it left out. See docs/spec/sync.md §3 rule 9.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { answer, drain, enroll, pump, tidings, town } from "./support.js";

const { AbridgedReason, testFullItems, testItemFromJs, testItemToJs } = tidings;

/** Paths of the leaves of `value` that hold a default ("", 0, 0n, false, []). */
function defaults(value, path = "item") {
  if (Array.isArray(value)) {
    return value.length === 0 ? [path] : value.flatMap((v, i) => defaults(v, `${path}[${i}]`));
  }
  if (value instanceof Uint8Array) return value.length === 0 ? [path] : [];
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => defaults(v, `${path}.${k}`));
  }
  return value === "" || value === 0 || value === 0n || value === false ? [path] : [];
}

test("every field of a mail and of an event series reaches JS and comes back unchanged", () => {
  const items = testFullItems();
  assert.equal(items.length, 2);
  for (const bytes of items) {
    const item = testItemToJs(bytes);
    // Every field the full item sets arrives with its value...
    assert.deepEqual(defaults(item), [], `${item.kind}: fields arrived empty`);
    // ...and the object read back is the item, byte for byte: a field
    // dropped either way would come back as its default.
    assert.deepEqual(testItemFromJs(item), bytes, `${item.kind}: lost on the way`);
    // As an app edits it: a structured clone reads back the same.
    assert.deepEqual(testItemFromJs(structuredClone(item)), bytes);
  }
  const [mail, calendar] = items.map(testItemToJs);
  assert.equal(mail.abridged.reason, AbridgedReason.TooLarge);
  assert.equal(calendar.abridged.packedSize, 120_345);
  assert.equal(calendar.floatingTzid, "America/New_York");
  assert.equal(calendar.id, (1n << 60n) + 5n, "ids past 2^53 stay exact");
});

/** `n` random printable ASCII characters: text deflate cannot shrink much. */
function noise(n) {
  return Array.from(randomBytes(n), (b) => String.fromCharCode(0x21 + (b % 94))).join("");
}

/**
 * An event too large for one page (packed, over 48 KiB: a long description
 * and an inline file) that still fits one operation once whole (encoded,
 * under the transport's 64 KiB).
 */
function bigEvent() {
  return {
    kind: "calendar",
    master: {
      uid: "budget-review@town.example",
      summary: "Budget review",
      location: "Council chamber",
      description: noise(30_000),
      start: { value: "20261203T140000Z", tzid: "", params: "" },
      end: { value: "20261203T150000Z", tzid: "", params: "" },
      other: [{ name: "ATTACH", params: "ENCODING=BASE64;VALUE=BINARY;FMTTYPE=image/png", value: noise(31_000) }],
    },
  };
}

/** Fetches an item's whole packed form by ranges, as `fetchItem` gives it. */
function fetchWhole(server, conn, client, now, collectionId, itemId) {
  const chunks = [];
  let held = 0;
  for (;;) {
    const op = client.fetchItem(now, { collectionId, itemId, offset: held, length: 48 * 1024 });
    const range = answer(server, conn, client, now, op);
    assert.equal(range.kind, "range");
    assert.equal(range.offset, held);
    chunks.push(range.data);
    held += range.data.length;
    if (held >= range.totalSize) break;
  }
  return new Uint8Array(Buffer.concat(chunks));
}

test("an abridged event: shown as such, an edit is refused and loses nothing; completed, it is edited whole", () => {
  const { server, t } = town();
  const big = bigEvent();
  const id = server.addItem(t.mayorCalendar, testItemFromJs(big));
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);

  const held = chief.item(t.mayorCalendar, id);
  assert.equal(held.abridged?.reason, AbridgedReason.TooLarge);
  assert.ok(held.abridged.packedSize > 48 * 1024);
  assert.ok(held.abridged.cutTexts >= 1);
  assert.ok(held.master.description.length < big.master.description.length, "the description was cut");
  assert.equal(held.master.other.length, 0, "the inline file was left out");

  // The app changes only the location: the server refuses, nothing changes.
  const edited = structuredClone(held);
  edited.master.location = "Harbour office";
  let op = chief.updateEvent(2000, { calendarId: t.mayorCalendar, item: edited, expectedVersion: held.version });
  let outcome = answer(server, conn, chief, 2000, op);
  assert.equal(outcome.kind, "error");
  assert.equal(outcome.error.code, 515);

  // Bytes that are not the item are refused; the abridged copy stays.
  assert.throws(() => chief.completeItem(t.mayorCalendar, id, new Uint8Array([1, 2, 3])), (e) => e instanceof tidings.TidingsError);
  assert.throws(() => chief.completeItem(t.mayorCalendar, id + 99n, new Uint8Array(0)), (e) => e.code === 502);
  assert.ok(chief.item(t.mayorCalendar, id).abridged);

  // Fetched whole and completed, the item is all there, and its edit goes through.
  chief.completeItem(t.mayorCalendar, id, fetchWhole(server, conn, chief, 3000, t.mayorCalendar, id));
  const whole = chief.item(t.mayorCalendar, id);
  assert.equal(whole.abridged, undefined);
  assert.equal(whole.master.description, big.master.description);
  assert.deepEqual(whole.master.other, big.master.other);
  const saved = tidings.ClientState.restore(chief.save());
  assert.equal(saved.item(t.mayorCalendar, id).abridged, undefined, "the whole item is saved");
  saved.free();

  const moved = structuredClone(whole);
  moved.master.location = "Harbour office";
  op = chief.updateEvent(4000, { calendarId: t.mayorCalendar, item: moved, expectedVersion: whole.version });
  outcome = answer(server, conn, chief, 4000, op);
  assert.equal(outcome.kind, "done");
  server.push(4000);
  pump(server, conn, chief, 4000);
  drain(chief);
  assert.equal(chief.item(t.mayorCalendar, id).version, outcome.version);

  // The server's copy: the new location, and nothing the device was not shown lost.
  chief.completeItem(t.mayorCalendar, id, fetchWhole(server, conn, chief, 5000, t.mayorCalendar, id));
  const stored = chief.item(t.mayorCalendar, id);
  assert.equal(stored.master.location, "Harbour office");
  assert.equal(stored.master.description, big.master.description);
  assert.deepEqual(stored.master.other, big.master.other);
  chief.free();
  server.free();
});

test("a floating event keeps its calendar's zone both ways, and free/busy reads it there", () => {
  const { server, t } = town();
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);
  const day = Date.UTC(2026, 11, 3) / 1000;
  // 09:00-10:00 floating, in New York (UTC-5 in December): 14:00-15:00 UTC.
  const ny = [{ start: day + 14 * 3600, end: day + 15 * 3600, tentative: false }];
  const item = {
    master: {
      uid: "floating@town.example",
      summary: "Standup",
      start: { value: "20261203T090000", tzid: "", params: "" },
      end: { value: "20261203T100000", tzid: "", params: "" },
    },
    floatingTzid: "America/New_York",
  };
  let op = chief.createEvent(2000, { calendarId: t.mayorCalendar, item });
  const created = answer(server, conn, chief, 2000, op);
  assert.equal(created.kind, "done");
  server.push(2000);
  pump(server, conn, chief, 2000);
  drain(chief);
  const held = chief.item(t.mayorCalendar, created.itemId);
  assert.equal(held.floatingTzid, "America/New_York");
  op = chief.freeBusy(2500, { principalId: t.mayor, start: day, end: day + 86400 });
  assert.deepEqual(answer(server, conn, chief, 2500, op).periods, ny);

  // An edit of something else keeps the zone: free/busy does not shift.
  const edited = structuredClone(held);
  edited.master.summary = "Standup (moved room)";
  op = chief.updateEvent(3000, { calendarId: t.mayorCalendar, item: edited, expectedVersion: held.version });
  assert.equal(answer(server, conn, chief, 3000, op).kind, "done");
  op = chief.freeBusy(3500, { principalId: t.mayor, start: day, end: day + 86400 });
  assert.deepEqual(answer(server, conn, chief, 3500, op).periods, ny);
  chief.free();
  server.free();
});

test("free/busy names the events it left out", () => {
  const { server, t } = town();
  server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  // Ends before it starts: free/busy cannot place it.
  const bad = testItemFromJs({
    kind: "calendar",
    master: {
      uid: "backwards@town.example",
      start: { value: "20261203T120000Z", tzid: "", params: "" },
      end: { value: "20261203T110000Z", tzid: "", params: "" },
    },
  });
  const badId = server.addItem(t.mayorCalendar, bad);
  const { client: chief, conn } = enroll(server, t.chief);
  drain(chief);
  const day = Date.UTC(2026, 11, 3) / 1000;
  const op = chief.freeBusy(2000, { principalId: t.mayor, start: day, end: day + 86400 });
  const outcome = answer(server, conn, chief, 2000, op);
  assert.equal(outcome.kind, "freeBusy");
  assert.deepEqual(outcome.periods, [{ start: day + 9 * 3600, end: day + 10 * 3600, tentative: false }]);
  assert.equal(outcome.skippedCount, 1);
  assert.deepEqual(outcome.skipped, [{ calendarId: t.mayorCalendar, itemId: badId, uid: "backwards@town.example", code: 505 }]);
  chief.free();
  server.free();
});
