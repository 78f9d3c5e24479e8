// Memory of the shipped package: 100,000 create/free cycles (keys, states,
// restored replicas read out, errors thrown) and 10,000 sessions leave the WASM
// memory exactly as big as after a warm-up (memory never shrinks, so any leak
// shows as growth); objects dropped without free() are reclaimed by the
// FinalizationRegistry; Symbol.dispose frees.
import assert from "node:assert/strict";
import { test } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import { AGENDA, bytes, drain, enroll, shipped, tidings, town } from "./support.js";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
const pkg = await shipped();
const memory = () => pkg.initSync(undefined).memory.buffer.byteLength;

/** The saved bytes of a device enrolled with a replica: mail and an event. */
function enrolledState() {
  const { server, t } = town();
  server.addMail(t.chiefInbox, bytes(AGENDA));
  server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  const { client } = enroll(server, t.chief);
  drain(client);
  const saved = client.save();
  client.free();
  server.free();
  return saved;
}

function cycle(saved, serverKey) {
  const keys = pkg.Keypair.generate();
  const fresh = new pkg.ClientState(keys, serverKey);
  const state = pkg.ClientState.restore(saved);
  for (const c of state.collections()) state.items(c.id);
  try {
    pkg.ClientState.restore(serverKey);
  } catch (e) {
    assert.equal(e.code, 606);
  }
  keys.free();
  fresh.free();
  state.free();
}

test("100,000 create/free cycles: WASM memory stays flat", () => {
  const saved = enrolledState();
  const serverKey = new Uint8Array(32).fill(0x51);
  for (let i = 0; i < 2_000; i++) cycle(saved, serverKey);
  const before = memory();
  const started = performance.now();
  for (let i = 0; i < 100_000; i++) cycle(saved, serverKey);
  const after = memory();
  console.log(`100,000 cycles in ${((performance.now() - started) / 1000).toFixed(1)} s; memory ${before} -> ${after} bytes`);
  assert.equal(after, before);
});

test("sessions are freed too: 10,000 enrollments and resumes", () => {
  const saved = enrolledState();
  const state = pkg.ClientState.restore(saved);
  const keys = pkg.Keypair.generate();
  const fresh = new pkg.ClientState(keys, new Uint8Array(32).fill(0x51));
  const run = (n) => {
    for (let i = 0; i < n; i++) {
      const client = i % 2 ? pkg.Client.resume(state, i) : pkg.Client.enroll(fresh, "AAAA-BBBB-CCCC-DDDD", "phone", i);
      while (client.pollTransmit() !== undefined);
      client.collections();
      client.free();
    }
  };
  run(500);
  const before = memory();
  run(10_000);
  assert.equal(memory(), before);
  for (const o of [state, keys, fresh]) o.free();
});

test("objects dropped without free() are reclaimed after garbage collection", async () => {
  const saved = enrolledState();
  const round = async () => {
    for (let i = 0; i < 20_000; i++) pkg.ClientState.restore(saved); // never freed
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  await round();
  await round();
  const before = memory();
  for (let i = 0; i < 5; i++) await round();
  assert.equal(memory(), before, "the FinalizationRegistry freed what was dropped");
});

test("Symbol.dispose frees", () => {
  const keys = pkg.Keypair.generate();
  assert.equal(typeof keys[Symbol.dispose], "function");
  keys[Symbol.dispose]();
  assert.throws(() => keys.exportSecret());
});
