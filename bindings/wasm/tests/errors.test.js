// Every error path from JS: bad arguments, wrong and reused activation
// codes, bad state bytes, an unenrolled resume, a pinned key that is not the
// server's, revocation, wipe, policy, freed objects. Ports
// bindings/c/tests/c/errors.c and crates/tidings/tests/session_devices.rs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { drain, enroll, pump, tidings, town } from "./support.js";

const { Client, ClientState, Keypair, TidingsError } = tidings;

/** The code of the TidingsError `f` throws. */
function code(f) {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof TidingsError, `a TidingsError, not ${e}`);
    assert.equal(typeof e.message, "string");
    return e.code;
  }
  assert.fail("expected a TidingsError");
}

test("bad arguments are refused with 801, never a crash", () => {
  assert.equal(code(() => Keypair.fromSecret(new Uint8Array(31))), 801);
  const keys = Keypair.generate();
  assert.equal(code(() => new ClientState(keys, new Uint8Array(33))), 801);
  const state = new ClientState(keys, new Uint8Array(32).fill(9));
  assert.equal(code(() => Client.enroll(state, "AAAA-BBBB-CCCC-DDDD", "phone", -1)), 801);
  assert.equal(code(() => Client.enroll(state, "AAAA-BBBB-CCCC-DDDD", "phone", NaN)), 801);
  const client = Client.enroll(state, "AAAA-BBBB-CCCC-DDDD", "phone", 0);
  const bad = [
    () => client.setFlags(0, { collectionId: 1n, itemIds: [1n], set: 1, opId: "abc" }),
    () => client.setFlags(0, { collectionId: -1n, itemIds: [1n] }),
    () => client.setFlags(0, { collectionId: 1n, itemIds: ["1"] }),
    () => client.setFlags(0, { collectionId: 1n, itemIds: 5 }),
    () => client.setFlags(0, { collectionId: 1n, itemIds: [1n], set: 1.5 }),
    () => client.setFlags(0, null),
    () => client.moveItems(0, { collectionId: 1n, itemIds: [1n] }),
    () => client.fetchBody(0, { collectionId: 1n, itemId: 1n, partId: 1, length: -1 }),
    () => client.search(0, { query: 42 }),
    () => client.sendMail(0, {}),
    () => client.sendMail(0, { mail: { to: [{ email: 7 }] } }),
    () => client.createEvent(0, { calendarId: 1n }),
    () => client.updateEvent(0, { calendarId: 1n, item: { master: { attendees: [{ rsvp: "yes" }] } }, expectedVersion: 1n }),
    () => client.respond(0, { calendarId: 1n, itemId: 1n, status: 2, recurrenceId: "today" }),
    () => client.handleBytes(Infinity, new Uint8Array(1)),
  ];
  for (const f of bad) assert.equal(code(f), 801, f.toString());
  // Numbers are accepted for ids when they are safe integers.
  assert.match(client.setFlags(0, { collectionId: 1, itemIds: [2], set: 1 }), /^[0-9a-f]{32}$/);
  for (const o of [keys, state, client]) o.free();
});

test("a wrong activation code closes with 601; a used code is burned", () => {
  const { server, t } = town();
  const code601 = (activation, now) => {
    const keys = Keypair.generate();
    const state = new ClientState(keys, server.publicKey);
    const client = Client.enroll(state, activation, "phone", now);
    const conn = server.accept(now);
    pump(server, conn, client, now);
    const closed = drain(client).find((e) => e.type === "closed");
    const established = client.established;
    for (const o of [keys, state, client]) o.free();
    return closed ? closed.error?.code ?? 0 : established ? "established" : "open";
  };
  const activation = server.activation(t.chief);
  const last = activation.at(-1) === "0" ? "1" : "0";
  assert.equal(code601(activation.slice(0, -1) + last, 0), 601);
  assert.equal(code601(activation, 1), "established", "the right code still works");
  assert.equal(code601(activation, 2), 601, "used codes are burned");
  assert.equal(code601("not a code at all", 3), 601);
  server.free();
});

test("bad state bytes give 606 and no state; an unenrolled resume gives 600", () => {
  assert.equal(code(() => ClientState.restore(new Uint8Array(64).fill(0xee))), 606);
  assert.equal(code(() => ClientState.restore(new Uint8Array())), 606);
  const keys = Keypair.generate();
  const state = new ClientState(keys, new Uint8Array(32).fill(1));
  assert.equal(state.enrolled, false);
  assert.equal(state.deviceId, 0n);
  assert.equal(code(() => Client.resume(state, 0)), 600);
  const saved = state.save();
  const back = ClientState.restore(saved);
  assert.equal(back.enrolled, false);
  for (const o of [keys, state, back]) o.free();
});

test("a pinned key that is not the server's: the server cannot read message 1, nothing is established", () => {
  const { server, t } = town();
  const keys = Keypair.generate();
  const state = new ClientState(keys, new Uint8Array(32).fill(0x42));
  const client = Client.enroll(state, server.activation(t.chief), "phone", 0);
  const conn = server.accept(0);
  pump(server, conn, client, 0);
  assert.equal(client.established, false);
  assert.equal(client.deviceId, 0n);
  // Nothing answers: the idle timeout ends the session with 605.
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
  assert.equal(drain(client).find((e) => e.type === "closed").error.code, 605);
  assert.equal(code(() => client.handleBytes(0, new Uint8Array([1]))), 604);
  for (const o of [keys, state, client, server]) o.free();
});

test("garbage from the network closes the session with a typed error", () => {
  const { server, t } = town();
  const { client } = enroll(server, t.chief);
  drain(client);
  // One whole frame of 32 bytes that no key sealed: decryption fails (200).
  const frame = new Uint8Array(34).fill(0x01);
  frame.set([0, 32]);
  const thrown = code(() => client.handleBytes(5000, frame));
  assert.equal(thrown, 200);
  const closed = drain(client).find((e) => e.type === "closed");
  assert.equal(closed.error.code, thrown);
  assert.ok(client.closed);
  client.free();
  server.free();
});

test("wipe orders are acknowledged; revoked devices are told and refused", () => {
  const { server, t } = town();
  const { client, conn } = enroll(server, t.chief);
  drain(client);
  server.orderWipe(conn, 2000, 77n);
  pump(server, conn, client, 2000);
  const wipe = drain(client).find((e) => e.type === "wipeRequested");
  assert.equal(wipe.wipeId, 77n);
  client.acknowledgeWipe(2100, 77n);
  pump(server, conn, client, 2100);
  assert.deepEqual(client.collections(), [], "the replica is erased");

  // What follows a wipe (sync.md §5.8): the device is revoked at once.
  const saved = client.save();
  assert.ok(client.closed);
  const events = drain(client);
  assert.ok(events.some((e) => e.type === "revoked"));
  assert.equal(events.find((e) => e.type === "closed").error.code, 603);
  assert.equal(server.deviceActive(client.deviceId), false);

  const state = ClientState.restore(saved);
  const again = Client.resume(state, 4000);
  again.confirmStateSaved();
  const conn2 = server.accept(4000);
  pump(server, conn2, again, 4000);
  assert.ok(again.closed);
  assert.ok(drain(again).some((e) => e.type === "revoked"));
  for (const o of [client, state, again, server]) o.free();
});

test("a new policy is pushed and kept in the saved state", () => {
  const { server, t } = town();
  const { client, conn } = enroll(server, t.chief);
  drain(client);
  server.sendPolicy(conn, 2000, { version: 3n, requirePasscode: true, maxInactivitySeconds: 300, allowAttachments: false, maxPreviewBytes: 512, keepaliveSeconds: 120 });
  pump(server, conn, client, 2000);
  const policy = drain(client).find((e) => e.type === "policy").policy;
  const expected = { version: 3n, requirePasscode: true, maxInactivitySeconds: 300, allowAttachments: false, maxPreviewBytes: 512, keepaliveSeconds: 120 };
  assert.deepEqual(policy, expected);
  assert.deepEqual(client.policy, expected);
  const state = ClientState.restore(client.save());
  assert.deepEqual(state.policy, expected);
  for (const o of [client, state, server]) o.free();
});

test("a freed object cannot be used: calls throw instead of touching freed memory", () => {
  const keys = Keypair.generate();
  keys.free();
  assert.throws(() => keys.free(), /null pointer/);
  assert.throws(() => keys.publicKey, /null pointer/);
  const state = new ClientState(Keypair.generate(), new Uint8Array(32));
  state[Symbol.dispose]();
  assert.throws(() => state.save(), /null pointer/);
});

test("activation payloads are parsed by the core; malformed ones give 601", () => {
  const key = "ab".repeat(32);
  const uri = `tidings:enroll?tcp=127.0.0.1%3A4400&ws=ws%3A%2F%2F127.0.0.1%3A8080%2Ftidings&key=${key}&code=ABCD-EFGH-JKMN-PQRS`;
  const parsed = tidings.parseActivation(uri);
  assert.deepEqual(parsed, {
    tcp: "127.0.0.1:4400",
    ws: "ws://127.0.0.1:8080/tidings",
    serverKey: new Uint8Array(32).fill(0xab),
    code: "ABCD-EFGH-JKMN-PQRS",
  });
  const wsOnly = tidings.parseActivation(`tidings:enroll?ws=wss%3A%2F%2Fm.example%2Ft&key=${key}&code=abcd-efgh-jkmn-pqrs`);
  assert.equal(wsOnly.tcp, undefined);
  assert.equal(wsOnly.code, "ABCD-EFGH-JKMN-PQRS");
  for (const bad of ["", "https://town.example/", `tidings:enroll?tcp=a:1&key=${key}`, `tidings:enroll?tcp=a:1&key=00&code=ABCD-EFGH-JKMN-PQRS`]) {
    assert.equal(code(() => tidings.parseActivation(bad)), 601, bad);
  }
});
