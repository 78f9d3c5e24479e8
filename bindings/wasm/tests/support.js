// Shared helpers of the JS tests: where the packages are, a seeded town
// hall on the loopback server, and a byte pump through the public API.
import assert from "node:assert/strict";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { testPkgDir } from "./paths.js";

export { artifacts, pkgDir, root, shipped, testPkgDir } from "./paths.js";

/** The test package (the same API plus `TestServer` and wire helpers). */
export const tidings = await import(pathToFileURL(path.join(testPkgDir, "node.js")).href);

export const MAIL = [
  "From: Treasurer <treasurer@town.example>",
  "To: mayor@town.example",
  "Subject: Budget for the harbour",
  "Message-ID: <1@town.example>",
  "Date: Sun, 29 Nov 2026 09:00:00 +0000",
  "",
  "The harbour budget is attached in spirit. Please read it.",
  "",
].join("\r\n");

export const AGENDA = [
  "From: clerk@town.example",
  "To: chief@town.example",
  "Subject: Agenda for Thursday",
  "",
  "Item one: the harbour. Item two: the budget. Item three: any other business.",
  "",
].join("\r\n");

export const bytes = (text) => new TextEncoder().encode(text);

/** A server with the town hall seeded (the core's and the C tests' fixture). */
export function town() {
  const server = new tidings.TestServer(new Uint8Array(32).fill(0x51));
  return { server, t: server.seedTown() };
}

/**
 * Moves bytes both ways through the public byte API until both are quiet,
 * in chunks of `chunk` bytes (a network may split anything).
 */
export function pump(server, conn, client, now, chunk = Infinity) {
  for (let round = 0; round < 10_000; round++) {
    let moved = false;
    for (let out = client.pollTransmit(); out !== undefined; out = client.pollTransmit()) {
      moved = true;
      server.handleBytes(conn, now, out);
    }
    for (let out = server.pollTransmit(conn); out !== undefined; out = server.pollTransmit(conn)) {
      moved = true;
      for (let at = 0; at < out.length; at += chunk) {
        try {
          client.handleBytes(now, out.subarray(at, at + chunk));
        } catch {
          // The session closed; a `closed` event says why.
        }
      }
    }
    if (!moved) return;
  }
  assert.fail("the sessions never went quiet");
}

/** Every queued event. */
export function drain(client) {
  const events = [];
  for (let e = client.pollEvent(); e !== undefined; e = client.pollEvent()) events.push(e);
  return events;
}

/** Enrolls a device of `principal` and runs it to its initial sync. */
export function enroll(server, principal, now = 1000) {
  const code = server.activation(principal);
  const keys = tidings.Keypair.generate();
  const state = new tidings.ClientState(keys, server.publicKey);
  const client = tidings.Client.enroll(state, code, "phone", now);
  keys.free();
  state.free();
  const conn = server.accept(now);
  pump(server, conn, client, now);
  assert.ok(client.established, "enrolled and connected");
  return { client, conn };
}

/** Runs until the operation `opId` is answered; returns its outcome. */
export function answer(server, conn, client, now, opId) {
  pump(server, conn, client, now);
  const result = drain(client).find((e) => e.type === "operationResult" && e.opId === opId);
  assert.ok(result, `operation ${opId} answered`);
  return result.outcome;
}

export const hex = (b) => Buffer.from(b).toString("hex");
export const unhex = (s) => new Uint8Array(Buffer.from(s, "hex"));
