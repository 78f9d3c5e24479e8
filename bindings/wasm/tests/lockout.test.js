// No lockout from JS: a lost handshake answer, a crash before the state was
// saved, and a restored old state all end with the device connected again,
// never refused for good as a replay (issue 14; handshake.md, IK timestamp).
// Ports bindings/c/tests/c/lockout.c.
import assert from "node:assert/strict";
import { test } from "node:test";
import { drain, enroll, pump, tidings, town } from "./support.js";

const { Client, ClientState } = tidings;
// docs/spec/errors.md: a replayed handshake.
const REPLAY = 205;

/** Restores `saved`, resumes at `now`, stores the advanced counter and
 * confirms it, as a page must before its hello may go out. */
function resumeFrom(saved, now) {
  const state = ClientState.restore(saved);
  const client = Client.resume(state, now);
  state.free();
  const stored = client.save();
  client.confirmStateSaved();
  return { client, stored };
}

test("a lost handshake answer, then a retry in the same millisecond, connects", () => {
  const { server, t } = town();
  let { client } = enroll(server, t.mayor, 1000);
  const enrolled = client.save();
  client.free();

  const first = resumeFrom(enrolled, 2000);
  const conn = server.accept(2000);
  for (let out = first.client.pollTransmit(); out !== undefined; out = first.client.pollTransmit()) {
    server.handleBytes(conn, 2000, out);
  }
  // A proxy drops the server's answer.
  while (server.pollTransmit(conn) !== undefined);
  first.client.free();

  ({ client } = resumeFrom(first.stored, 2000));
  const again = server.accept(2000);
  pump(server, again, client, 2000);
  assert.ok(client.established);
  assert.equal(drain(client).filter((e) => e.type === "connected").length, 1);
  client.free();
  server.free();
});

test("an old state after a crash is refused once, with the floor it then uses", () => {
  const { server, t } = town();
  let { client } = enroll(server, t.mayor, 1000);
  const enrolled = client.save();
  client.free();
  // A session at 2000 the saved state never heard of (killed before saving).
  ({ client } = resumeFrom(enrolled, 2000));
  pump(server, server.accept(2000), client, 2000);
  assert.ok(client.established);
  client.free();

  // The clock went back too: the old state's hello is a replay.
  ({ client } = resumeFrom(enrolled, 1500));
  pump(server, server.accept(1500), client, 1500);
  const closed = drain(client).find((e) => e.type === "closed");
  assert.equal(closed?.error?.code, REPLAY);
  const floored = client.save();
  client.free();

  ({ client } = resumeFrom(floored, 1500));
  pump(server, server.accept(1500), client, 1500);
  assert.ok(client.established);
  assert.ok(!client.closed);
  assert.equal(drain(client).filter((e) => e.type === "connected").length, 1);
  client.free();
  server.free();
});
