// The test reads the outcome from the page's body.
import type { Synced } from "./app.js";

export function show(synced: Promise<Synced>): void {
  synced.then(
    (result) => {
      document.body.dataset.result = JSON.stringify(result);
    },
    (error: unknown) => {
      document.body.dataset.error = error instanceof Error ? error.message : String(error);
    },
  );
}
