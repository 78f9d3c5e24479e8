// A browser page bundled with Vite: the package's default entry, whose
// .wasm Vite emits as an asset.
import * as tidings from "tidings";
import { syncOnce } from "./app.js";
import { show } from "./page.js";

show(syncOnce(tidings, decodeURIComponent(location.hash.slice(1)), WebSocket));
