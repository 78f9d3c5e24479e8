// The WebSocket helper against the loopback server behind a local `ws`
// WebSocket server (one Tidings frame per binary message, as the reference
// server sends): enrollment, the initial sync, live push, an operation
// flushed at once, a clean close, and a resume on a new connection.
import assert from "node:assert/strict";
import { test } from "node:test";
import { WebSocket, WebSocketServer } from "ws";
import { AGENDA, MAIL, bytes, tidings, town } from "./support.js";

const { Client, ClientState, Keypair, MailFlag, connect } = tidings;

/** A WebSocket front for the loopback server; returns its URL and controls. */
async function serve(server) {
  const sockets = new Map();
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/tidings" });
  const send = () => {
    for (const [conn, socket] of sockets) {
      for (let out = server.pollTransmit(conn); out !== undefined; out = server.pollTransmit(conn)) {
        socket.send(out, { binary: true });
      }
    }
  };
  wss.on("connection", (socket) => {
    const conn = server.accept(performance.now());
    sockets.set(conn, socket);
    socket.on("message", (data, isBinary) => {
      if (!isBinary) return socket.close(1003, "binary only");
      server.handleBytes(conn, performance.now(), new Uint8Array(data));
      send();
    });
    socket.on("close", () => sockets.delete(conn));
  });
  await new Promise((resolve) => wss.on("listening", resolve));
  return {
    url: `ws://127.0.0.1:${wss.address().port}/tidings`,
    push() {
      server.push(performance.now());
      send();
    },
    close() {
      for (const socket of wss.clients) socket.terminate();
      return new Promise((resolve) => wss.close(resolve));
    },
  };
}

/** Resolves when `predicate(events)` holds (events seen so far). */
function watcher() {
  const events = [];
  const waiters = [];
  return {
    events,
    onEvent(event) {
      events.push(event);
      for (const w of [...waiters]) if (w.predicate(events)) waiters.splice(waiters.indexOf(w), 1) && w.resolve();
    },
    until(predicate, what) {
      if (predicate(events)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
        waiters.push({ predicate, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

test("a client runs over a WebSocket: sync, push, an operation, close, resume", async () => {
  const { server, t } = town();
  server.addMail(t.chiefInbox, bytes(AGENDA));
  server.addMeeting(t.mayorCalendar, "Harbour board", "mayor@town.example");
  const front = await serve(server);

  const keys = Keypair.generate();
  const fresh = new ClientState(keys, server.publicKey);
  const client = Client.enroll(fresh, server.activation(t.chief), "node", performance.now());
  keys.free();
  fresh.free();
  const seen = watcher();
  const connection = connect(client, front.url, { WebSocket, onEvent: seen.onEvent });
  await seen.until((e) => e.some((x) => x.type === "enrolled"), "enrolled");
  await seen.until(() => client.collections().length === 3 && client.itemIds(t.chiefInbox).length === 1 && client.itemIds(t.mayorCalendar).length === 1, "the initial sync");

  // Live push.
  const pushed = server.addMail(t.chiefInbox, bytes(MAIL.replace("mayor@", "chief@")));
  front.push();
  await seen.until(() => client.item(t.chiefInbox, pushed) !== undefined, "the pushed mail");
  assert.equal(client.item(t.chiefInbox, pushed).headers.subject, "Budget for the harbour");

  // An operation goes out on flush and is answered.
  const opId = client.setFlags(performance.now(), { collectionId: t.chiefInbox, itemIds: [pushed], set: MailFlag.Flagged });
  connection.flush();
  await seen.until((e) => e.some((x) => x.type === "operationResult" && x.opId === opId), "the answer");
  assert.equal(server.storedFlags(t.chiefInbox, pushed), MailFlag.Flagged);

  // A clean close ends the session and the socket.
  connection.close();
  const closed = await connection.closed;
  assert.equal(closed.sessionEnded, true);
  assert.ok(seen.events.some((x) => x.type === "closed" && x.error === undefined));

  // Resume on a new connection: no resync, the replica is there at once.
  const state = client.state();
  client.free();
  const again = Client.resume(state, performance.now());
  again.confirmStateSaved();
  state.free();
  const seen2 = watcher();
  const second = connect(again, front.url, { WebSocket, onEvent: seen2.onEvent });
  await seen2.until((e) => e.some((x) => x.type === "connected"), "connected");
  assert.equal(seen2.events.filter((x) => x.type === "resync").length, 0);
  assert.equal(again.itemIds(t.chiefInbox).length, 2);
  second.close();
  await second.closed;
  again.free();
  await front.close();
  server.free();
});

test("a dropped connection is reported, with the session still open for a resume", async () => {
  const { server, t } = town();
  const front = await serve(server);
  const keys = Keypair.generate();
  const fresh = new ClientState(keys, server.publicKey);
  const client = Client.enroll(fresh, server.activation(t.chief), "node", performance.now());
  const seen = watcher();
  const connection = connect(client, front.url, { WebSocket, onEvent: seen.onEvent });
  await seen.until((e) => e.some((x) => x.type === "connected"), "connected");
  await front.close(); // closes every socket
  const closed = await connection.closed;
  assert.equal(closed.sessionEnded, false);
  const state = client.state();
  assert.ok(state.enrolled);
  for (const o of [keys, fresh, client, state, server]) o.free();
});
