import type { Client, ClientEvent } from "./tidings.js";

/**
 * An event handler as a WebSocket property holds it. Written as a method's
 * type so that it is checked bivariantly: the browser's handlers take a
 * `MessageEvent`/`CloseEvent` (and a `this`), the ws package's its own event
 * types; both give at least what `connect` reads.
 */
type Handler<E> = { handle(event: E): void }["handle"];

/**
 * The part of the WebSocket API `connect` uses. Under `strict`, both the
 * browser's `WebSocket` and the ws package's (with `@types/ws`) are one.
 */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onerror: Handler<unknown> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
}

/** A WebSocket class: the global one, or the ws package's on Node.js 20. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ConnectOptions {
  /** The WebSocket class to use (default: `globalThis.WebSocket`). */
  WebSocket?: WebSocketConstructor;
  /**
   * Called with each event as it happens. Save the state (`client.save()`)
   * after `enrolled`, `changed` and `operationResult`.
   */
  onEvent?: (event: ClientEvent, connection: Connection) => void;
  /** The clock, in ms (default: `performance.now()`). */
  now?: () => number;
}

/** How the WebSocket closed. */
export interface ConnectionClosed {
  /** The WebSocket close code (1000: normal; 1006: the connection dropped). */
  code: number;
  reason: string;
  /**
   * Whether the session had ended (closed, revoked, refused). If not, the
   * connection dropped: reconnect with `Client.resume(client.state(), now)`.
   */
  sessionEnded: boolean;
}

/** A client running over a WebSocket. */
export interface Connection {
  readonly client: Client;
  readonly url: string;
  /** Settles when the socket has closed. */
  readonly closed: Promise<ConnectionClosed>;
  /**
   * Sends what the client has queued: call it after every operation
   * (`client.setFlags(...)` and the like) so it goes out at once.
   */
  flush(): void;
  /** Closes the session cleanly, then the socket. Free the client after `closed` settles. */
  close(): void;
}

/**
 * Opens a WebSocket to `url` and runs `client` over it: sends what it
 * transmits, feeds it what arrives, keeps its timers, and hands each event
 * to `options.onEvent`. Do not free the client while it is connected.
 */
export function connect(client: Client, url: string, options?: ConnectOptions): Connection;
