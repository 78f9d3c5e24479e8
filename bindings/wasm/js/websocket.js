// The WebSocket transport: runs a Client over a WebSocket to the server's
// /tidings endpoint. This is I/O only; the protocol is in the Client (the
// core). Binary messages carry the same byte stream as TCP: each chunk the
// client transmits goes out as one binary message, and every binary message
// received is fed to the client in order. Text messages are never sent and
// are ignored if received.
//
// Browsers and Node.js >= 22 have a global WebSocket; on Node.js 20 pass one
// in: `connect(client, url, { WebSocket: (await import("ws")).WebSocket })`.

/**
 * @typedef {import("./websocket.js").ConnectOptions} ConnectOptions
 * @typedef {import("./websocket.js").Connection} Connection
 * @typedef {import("./websocket.js").ConnectionClosed} ConnectionClosed
 * @typedef {import("./tidings.js").Client} Client
 */

/**
 * Opens a WebSocket to `url` and runs `client` over it until the socket or
 * the session closes.
 *
 * @param {Client} client a client from `Client.enroll` or `Client.resume`
 * @param {string} url the server's WebSocket URL (`parseActivation(uri).ws`)
 * @param {ConnectOptions} [options]
 * @returns {Connection}
 */
export function connect(client, url, options = {}) {
  const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
  if (typeof WebSocketImpl !== "function") {
    throw new TypeError(
      "no global WebSocket: pass options.WebSocket (on Node.js 20, the ws package's WebSocket)",
    );
  }
  const now = options.now ?? (() => performance.now());
  const onEvent = options.onEvent ?? (() => {});
  const socket = new WebSocketImpl(url);
  socket.binaryType = "arraybuffer";

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let finished = false;
  /** @type {(closed: ConnectionClosed) => void} */
  let resolveClosed = () => {};
  /** @type {Promise<ConnectionClosed>} */
  const closed = new Promise((resolve) => {
    resolveClosed = resolve;
  });

  /** Hands every queued event to the app. */
  const drainEvents = () => {
    for (let event = client.pollEvent(); event !== undefined; event = client.pollEvent()) {
      onEvent(event, connection);
    }
  };

  /** Sends what the client has queued, then re-arms its timer. */
  const flush = () => {
    if (finished) return;
    if (socket.readyState === 1 /* OPEN */) {
      for (let bytes = client.pollTransmit(); bytes !== undefined; bytes = client.pollTransmit()) {
        socket.send(bytes);
      }
    }
    drainEvents();
    if (client.closed) {
      // The session has ended (closed, revoked, failed): what it had to say
      // is sent; the socket has nothing more to carry.
      if (socket.readyState === 1) socket.close(1000, "session ended");
      return;
    }
    if (timer !== undefined) clearTimeout(timer);
    const at = client.pollTimeout();
    if (at !== undefined) {
      timer = setTimeout(() => {
        timer = undefined;
        if (finished) return;
        try {
          client.handleTimeout(now());
        } catch {
          // The session closed itself; a `closed` event says why.
        }
        flush();
      }, Math.max(0, at - now()));
    }
  };

  socket.onopen = () => flush();
  socket.onmessage = (/** @type {{ data: unknown }} */ message) => {
    const data = message.data;
    /** @type {Uint8Array | undefined} */
    let bytes;
    if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (bytes === undefined || finished || client.closed) return; // text: not part of the protocol
    try {
      client.handleBytes(now(), bytes);
    } catch {
      // The session closed itself; a `closed` event says why.
    }
    flush();
  };
  socket.onerror = () => {
    // A `close` event always follows.
  };
  socket.onclose = (/** @type {{ code: number, reason: string }} */ event) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    drainEvents();
    finished = true;
    resolveClosed({ code: event.code, reason: event.reason, sessionEnded: client.closed });
  };

  /** @type {Connection} */
  const connection = {
    client,
    url,
    closed,
    flush,
    close() {
      if (!finished && !client.closed) {
        try {
          client.close(now());
        } catch {
          // Already closing.
        }
        flush();
      }
      if (socket.readyState === 0 || socket.readyState === 1) socket.close(1000, "closed by the app");
    },
  };
  return connection;
}
