// Where the tests find the packages and leave their output (no package is
// loaded here: the tests of the shipped package alone import only this).
import path from "node:path";
import { pathToFileURL } from "node:url";

export const root = process.env.TIDINGS_ROOT ?? path.resolve(import.meta.dirname, "../../..");
/** The shipped npm package (`cargo xtask wasm`). */
export const pkgDir = process.env.TIDINGS_PKG ?? path.join(root, "bindings/wasm/pkg");
/** The test-only package with the loopback server. */
export const testPkgDir = process.env.TIDINGS_TEST_PKG ?? path.join(root, "target/wasm/test-pkg");
/** Where tests leave screenshots and logs. */
export const artifacts = process.env.TIDINGS_ARTIFACTS ?? path.join(root, "target/wasm");

/** The shipped package, through its Node entry point. */
export const shipped = () => import(pathToFileURL(path.join(pkgDir, "node.js")).href);
