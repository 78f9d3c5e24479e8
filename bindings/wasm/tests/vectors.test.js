// The shared vectors of docs/test-vectors/, checked from JS against the code
// the package runs: the error table (errors.json) and the wire layers
// (wire.json: frames, padding, packed items, envelopes).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { hex, root, tidings, unhex } from "./support.js";

const vectors = (name) =>
  JSON.parse(readFileSync(path.join(root, "docs/test-vectors", name), "utf8"));

test("errors.json: every code has the same name and description from JS", () => {
  const table = vectors("errors.json");
  assert.ok(table.length > 30);
  assert.deepEqual(tidings.errorTable(), table);
  for (const { code, description } of table) {
    assert.equal(tidings.errorDescription(code), description);
  }
  assert.equal(tidings.errorDescription(0), undefined);
  assert.equal(tidings.errorDescription(999), undefined);
});

test("errors carry their code as TidingsErrors", () => {
  const error = assert.throws(
    () => tidings.ClientState.restore(new Uint8Array(64).fill(0xee)),
    (e) => e instanceof tidings.TidingsError && e instanceof Error,
  );
  void error;
  try {
    tidings.ClientState.restore(new Uint8Array(64).fill(0xee));
  } catch (e) {
    assert.equal(e.code, 606);
    assert.equal(e.name, "TidingsError");
    assert.match(e.message, /^saved state corrupt/);
    assert.ok(e.stack.includes("TidingsError"));
  }
});

test("wire.json: frames decode to their bodies and encode to their stream", () => {
  const { frames } = vectors("wire.json");
  assert.ok(frames.length >= 2);
  for (const v of frames) {
    const bodies = tidings.testDecodeFrames(unhex(v.stream)).map(hex);
    assert.deepEqual(bodies, v.bodies, v.meaning);
    assert.equal(hex(tidings.testEncodeFrames(v.bodies.map(unhex))), v.stream, v.meaning);
  }
});

test("wire.json: padding", () => {
  const { padding } = vectors("wire.json");
  for (const v of padding) {
    assert.equal(hex(tidings.testPad(unhex(v.body))), v.padded, v.meaning);
    assert.equal(hex(tidings.testUnpad(unhex(v.padded))), v.body, v.meaning);
  }
});

test("wire.json: packed items unpack to the item, and pack to the same bytes", () => {
  const { packed } = vectors("wire.json");
  for (const v of packed) {
    assert.equal(hex(tidings.testUnpack(unhex(v.packed))), v.item, v.meaning);
    const dictionary = !v.meaning.includes("without dictionary");
    assert.equal(hex(tidings.testPack(unhex(v.item), dictionary)), v.packed, v.meaning);
  }
});

test("wire.json: envelopes are padded protobuf with the body they say", () => {
  const { envelopes } = vectors("wire.json");
  const expected = ["", "Hello", "Delta", "Ack"];
  assert.equal(envelopes.length, expected.length);
  envelopes.forEach((v, i) => {
    const inner = tidings.testUnpad(unhex(v.padded));
    assert.equal(hex(inner), v.envelope, v.meaning);
    assert.equal(hex(tidings.testPad(inner)), v.padded, v.meaning);
    assert.equal(tidings.testEnvelopeBody(inner), expected[i], v.meaning);
  });
});

test("wire errors are typed: a truncated stream, bad padding, a corrupt pack", () => {
  const code = (f) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof tidings.TidingsError);
      return e.code;
    }
    assert.fail("expected a TidingsError");
  };
  assert.equal(code(() => tidings.testDecodeFrames(unhex("000301"))), 103);
  assert.equal(code(() => tidings.testDecodeFrames(unhex("0003026869"))), 102);
  assert.equal(code(() => tidings.testUnpad(unhex("05aa"))), 302);
  const corrupt = code(() => tidings.testUnpack(unhex("011000ffffffff")));
  assert.ok(corrupt >= 300 && corrupt < 400, `compress layer: ${corrupt}`);
});

test("session.json: every envelope of a real session unpads to the protobuf and body it says", () => {
  const { envelopes, packed_item: packed } = vectors("session.json");
  assert.ok(envelopes.length > 20);
  // "caught_up", "delta (repair)", "result done" → CaughtUp, Delta, Result;
  // a keepalive has no body.
  const variant = (body) =>
    body === "keepalive"
      ? ""
      : body
          .split(" ")[0]
          .split("_")
          .map((w) => w[0].toUpperCase() + w.slice(1))
          .join("");
  for (const v of envelopes) {
    const inner = tidings.testUnpad(unhex(v.padded));
    assert.equal(hex(inner), v.envelope, v.body);
    assert.equal(hex(tidings.testPad(inner)), v.padded, v.body);
    assert.equal(tidings.testEnvelopeBody(inner), variant(v.body), v.body);
  }
  // The dictionary-packed mail of the first page: it unpacks to the Item,
  // whose subject and sender are there as UTF-8.
  assert.equal(packed.packed.slice(0, 2), "03", "packed with dictionary v1");
  const item = hex(tidings.testUnpack(unhex(packed.packed)));
  assert.equal(item, packed.item);
  for (const text of [packed.subject, packed.from]) {
    assert.ok(item.includes(hex(new TextEncoder().encode(text))), text);
  }
});
