// A Node client syncs with the reference server over WebSocket: enrollment
// with the server's activation payload, the initial sync (the chief's inbox,
// own calendar and the mayor's delegated one), a mail delivered while
// connected arrives live, an operation is answered, and a restart resumes
// without a resync.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { WebSocket } from "ws";
import { shipped } from "../support.js";
import { available, freshMail, startServer } from "./reference.js";

const pkg = await shipped();
let server;

before(async () => {
  if (available) server = await startServer("websocket");
});
after(async () => server?.stop());

/** Runs a client over WebSocket, recording events; `until` waits on them. */
function run(client, url) {
  const events = [];
  const connection = pkg.connect(client, url, { WebSocket, onEvent: (e) => events.push(e) });
  const until = async (predicate, what, ms = 20_000) => {
    for (const start = Date.now(); !predicate(events); ) {
      if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { connection, events, until };
}

test("sync with the reference server over WebSocket", { skip: !available && "no reference server" }, async () => {
  const activation = pkg.parseActivation(server.info.activations["chief@town.example"]);
  assert.equal(activation.ws, server.info.ws);
  const keys = pkg.Keypair.generate();
  const fresh = new pkg.ClientState(keys, activation.serverKey);
  const client = pkg.Client.enroll(fresh, activation.code, "node test", performance.now());
  keys.free();
  fresh.free();

  const { connection, events, until } = run(client, activation.ws);
  await until((e) => e.some((x) => x.type === "enrolled"), "enrollment");
  const calendars = () => client.collections().filter((c) => c.kind === pkg.CollectionKind.Calendar);
  const inbox = () => client.collections().find((c) => c.kind === pkg.CollectionKind.Mail && c.ownerId === client.principalId);
  await until(() => (inbox()?.itemCount ?? 0) > 0 && calendars().length >= 2, "the initial sync");
  const delegated = calendars().filter((c) => c.ownerId !== client.principalId);
  assert.ok(delegated.some((c) => c.ownerName.length > 0), "the mayor's calendar, by delegation");
  assert.ok(calendars().some((c) => c.ownerId === client.principalId), "the chief's own calendar");

  // A mail delivered now is pushed live.
  const { subject, message } = freshMail("chief@town.example");
  server.deliver("chief@town.example", message);
  const folder = inbox().id;
  const find = () => client.items(folder).find((m) => m.kind === "mail" && m.headers.subject === subject);
  await until(() => find() !== undefined, "the pushed mail");

  // Flag it; the answer comes back and the flag is in the replica.
  const opId = client.setFlags(performance.now(), { collectionId: folder, itemIds: [find().id], set: pkg.MailFlag.Flagged });
  connection.flush();
  await until((e) => e.some((x) => x.type === "operationResult" && x.opId === opId), "the flag's answer");
  assert.equal(events.find((x) => x.opId === opId).outcome.kind, "done");
  await until(() => (find().flags & pkg.MailFlag.Flagged) !== 0, "the flag in the replica");

  // Restart: save, close, restore, resume. No resync; the mail is there.
  const saved = client.save();
  connection.close();
  await connection.closed;
  client.free();
  const state = pkg.ClientState.restore(saved);
  const again = pkg.Client.resume(state, performance.now());
  again.confirmStateSaved();
  state.free();
  const second = run(again, activation.ws);
  await second.until((e) => e.some((x) => x.type === "connected"), "the resume");
  assert.equal(second.events.filter((x) => x.type === "resync").length, 0);
  assert.ok(again.items(folder).some((m) => m.kind === "mail" && m.headers.subject === subject));
  second.connection.close();
  await second.connection.closed;
  again.free();
});
