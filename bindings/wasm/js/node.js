// The package's entry point for Node.js (>= 20): the WASM module is read
// from beside this file and instantiated synchronously, so every export is
// ready when `import` returns.
import { readFileSync } from "node:fs";
import { initSync } from "./tidings.js";

initSync({ module: readFileSync(new URL("./tidings_bg.wasm", import.meta.url)) });

export * from "./tidings.js";
export { TidingsError } from "./errors.js";
export { connect } from "./websocket.js";
