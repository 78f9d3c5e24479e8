// Sessions from JS, end to end against the loopback server: enrollment, the
// initial sync with a delegated calendar, live push, save and restore, and
// a clean close. Ports crates/tidings/tests/session.rs and
// bindings/c/tests/c/sync.c.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AGENDA, MAIL, bytes, drain, enroll, pump, tidings, town } from "./support.js";

const { Client, ClientState, CollectionKind, Right } = tidings;

test("enrollment and the initial sync: the chief holds the mayor's calendar but not the mayor's mail", () => {
  const { server, t } = town();
  const meeting = server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  const agenda = server.addMail(t.chiefInbox, bytes(AGENDA));
  const { client } = enroll(server, t.chief);

  const events = drain(client);
  assert.equal(events[0].type, "enrolled");
  assert.equal(events[0].deviceId, client.deviceId);
  assert.ok(client.deviceId > 0n);
  const connected = events.find((e) => e.type === "connected");
  assert.deepEqual(
    connected.collections.map((c) => c.id),
    [t.mayorCalendar, t.chiefInbox, t.chiefCalendar],
  );
  assert.ok(events.some((e) => e.type === "changed" && e.collectionId === t.chiefInbox));
  // The server says when each collection is synced: no silence timer.
  assert.deepEqual(
    events.filter((e) => e.type === "caughtUp").map((e) => e.collectionId).sort(),
    [t.mayorCalendar, t.chiefInbox, t.chiefCalendar].sort(),
  );
  assert.ok(client.caughtUp);

  const collections = client.collections();
  assert.deepEqual(collections.map((c) => c.id), [t.mayorCalendar, t.chiefInbox, t.chiefCalendar]);
  const delegated = collections[0];
  assert.equal(delegated.kind, CollectionKind.Calendar);
  assert.equal(delegated.ownerId, t.mayor);
  assert.equal(delegated.ownerName, "Mayor");
  assert.equal(delegated.rights, Right.Read | Right.Write | Right.Respond);
  assert.equal(delegated.itemCount, 1);
  assert.equal(collections[1].kind, CollectionKind.Mail);
  assert.equal(collections[1].ownerId, t.chief);
  assert.equal(client.principalId, t.chief);

  const [mail] = client.items(t.chiefInbox);
  assert.equal(mail.kind, "mail");
  assert.equal(mail.id, agenda);
  assert.equal(mail.headers.subject, "Agenda for Thursday");
  assert.deepEqual(mail.headers.from, [{ name: "", email: "clerk@town.example" }]);
  assert.match(mail.preview, /^Item one: the harbour/);
  assert.equal(mail.bodyParts.length, 1);
  assert.equal(mail.bodyParts[0].contentType, "text/plain");
  assert.deepEqual(client.itemIds(t.chiefInbox), [agenda]);

  const event = client.item(t.mayorCalendar, meeting);
  assert.equal(event.kind, "calendar");
  assert.equal(event.version, 1n);
  assert.equal(event.master.summary, "Harbour board");
  assert.deepEqual(event.master.start, { value: "20261203T090000", tzid: "Europe/London", params: "" });
  assert.equal(event.master.organizer.email, "clerk@town.example");
  assert.equal(event.master.attendees[0].status, tidings.ParticipationStatus.NeedsAction);
  assert.equal(client.item(t.mayorInbox, 1n), undefined, "the mayor's mail is not the chief's");
  assert.throws(() => client.items(t.mayorInbox), { code: 502 });
  client.free();
  server.free();
});

test("new mail is pushed live, in chunks of any size", () => {
  const { server, t } = town();
  server.addMail(t.mayorInbox, bytes(MAIL));
  const { client, conn } = enroll(server, t.mayor);
  drain(client);
  assert.equal(client.itemIds(t.mayorInbox).length, 1);

  const second = server.addMail(t.mayorInbox, bytes(MAIL.replace("harbour", "bridge")));
  server.push(2000);
  pump(server, conn, client, 2000, 7);
  const changed = drain(client).filter((e) => e.type === "changed");
  assert.deepEqual(changed.map((e) => e.collectionId), [t.mayorInbox]);
  assert.ok(changed[0].modseq > 0n);
  assert.equal(client.item(t.mayorInbox, second).headers.subject, "Budget for the bridge");
  client.free();
  server.free();
});

test("save, restart, resume: no resync, the replica and the outbox survive", () => {
  const { server, t } = town();
  const mail = server.addMail(t.mayorInbox, bytes(MAIL));
  let { client } = enroll(server, t.mayor);
  drain(client);

  // Offline: a flag change is queued; then the page reloads.
  const opId = client.setFlags(1500, { collectionId: t.mayorInbox, itemIds: [mail], set: tidings.MailFlag.Flagged });
  assert.equal(client.pendingOperations, 1);
  const saved = client.save();
  client.free();

  server.addMail(t.mayorInbox, bytes(MAIL.replace("harbour", "while you were away")));
  const state = ClientState.restore(saved);
  assert.ok(state.enrolled);
  assert.equal(state.pendingOperations, 1);
  assert.deepEqual(Array.from(state.save()), Array.from(saved), "a restored state saves the same bytes");
  assert.equal(state.items(t.mayorInbox).length, 1, "readable before connecting");
  client = Client.resume(state, 5000);
  // Nothing goes out until the advanced hello counter is stored.
  assert.equal(client.pollTransmit(), undefined);
  const counterSaved = client.save();
  assert.ok(counterSaved.length > 0);
  client.confirmStateSaved();
  state.free();
  const conn = server.accept(5000);
  pump(server, conn, client, 5000);
  assert.ok(client.established);
  const events = drain(client);
  assert.equal(events.filter((e) => e.type === "resync").length, 0);
  assert.equal(events.filter((e) => e.type === "connected").length, 1);
  // One per collection: the inbox after its new mail, the calendar unchanged.
  assert.deepEqual(
    events.filter((e) => e.type === "caughtUp").map((e) => e.collectionId).sort(),
    client.collections().map((c) => c.id).sort(),
    "unchanged collections too",
  );
  assert.equal(client.collections().length, 2);
  assert.ok(client.caughtUp);
  const result = events.find((e) => e.type === "operationResult");
  assert.equal(result.opId, opId);
  assert.equal(result.outcome.kind, "done");
  assert.equal(client.pendingOperations, 0);
  assert.equal(client.itemIds(t.mayorInbox).length, 2);
  assert.equal(server.storedFlags(t.mayorInbox, mail), tidings.MailFlag.Flagged);

  // A copy of the state resumes as well.
  const copy = client.state();
  assert.equal(copy.deviceId, client.deviceId);
  copy.free();

  // A clean close: the session ends and nothing is scheduled.
  client.close(6000);
  pump(server, conn, client, 6000);
  assert.ok(client.closed);
  assert.equal(client.pollTimeout(), undefined);
  const closed = drain(client).find((e) => e.type === "closed");
  assert.equal(closed.error, undefined);
  client.free();
  server.free();
});

test("timeouts: a device sends no keepalive of its own (one way, sync.md §5.4) and closes once the server is silent", () => {
  const { server, t } = town();
  const { client, conn } = enroll(server, t.chief, 0);
  drain(client);
  const deadline = client.pollTimeout();
  assert.equal(typeof deadline, "number");
  // The server keeps the connection alive; the device only listens, and
  // calls the server silent after 2.5 keepalive intervals (10 min here).
  assert.equal(deadline, 600000);
  client.handleTimeout(deadline - 1);
  assert.equal(client.pollTransmit(), undefined, "no keepalive from the device");
  pump(server, conn, client, deadline - 1);
  // No word from the server for ten minutes: the session closes with 605
  // (handleTimeout throws it, and a closed event carries it).
  let thrown = 0;
  for (let now = client.pollTimeout(); !client.closed; now = client.pollTimeout()) {
    try {
      client.handleTimeout(now);
    } catch (e) {
      thrown = e.code;
    }
    while (client.pollTransmit() !== undefined);
  }
  assert.equal(thrown, 605);
  const closed = drain(client).find((e) => e.type === "closed");
  assert.equal(closed.error.code, 605);
  client.free();
  server.free();
});

test("the enrollment state's keys: generated, exported, imported", () => {
  const keys = tidings.Keypair.generate();
  const secret = keys.exportSecret();
  assert.equal(secret.length, 32);
  const again = tidings.Keypair.fromSecret(secret);
  assert.deepEqual(again.publicKey, keys.publicKey);
  assert.equal(keys.publicKey.length, 32);
  const other = tidings.Keypair.generate();
  assert.notDeepEqual(other.publicKey, keys.publicKey, "fresh randomness each time");
  for (const k of [keys, again, other]) k.free();
});
