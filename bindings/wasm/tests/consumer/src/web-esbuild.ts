// A browser page bundled with esbuild: `tidings/inline` (esbuild does not
// emit the .wasm a `new URL(..., import.meta.url)` names).
import * as tidings from "tidings/inline";
import { syncOnce } from "./app.js";
import { show } from "./page.js";

show(syncOnce(tidings, decodeURIComponent(location.hash.slice(1)), WebSocket));
