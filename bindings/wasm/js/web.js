// The package's entry point for browsers and bundlers: the WASM module is
// fetched from beside this file (bundlers copy it as an asset, seeing
// `new URL(..., import.meta.url)`) and instantiated before the module
// finishes loading (top-level await), so every export is ready on import.
import init from "./tidings.js";

await init({ module_or_path: new URL("./tidings_bg.wasm", import.meta.url) });

export * from "./tidings.js";
export { TidingsError } from "./errors.js";
export { connect } from "./websocket.js";
