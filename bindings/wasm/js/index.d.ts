// Types of the package's entry points (node.js and web.js): everything of
// the WASM module, the error class, and the WebSocket helper.
export * from "./tidings.js";
export { TidingsError } from "./errors.js";
export { connect } from "./websocket.js";
export type { Connection, ConnectOptions, ConnectionClosed, WebSocketConstructor, WebSocketLike } from "./websocket.js";
