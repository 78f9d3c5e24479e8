// The error class of the `tidings` package. wasm-bindgen imports this file
// verbatim (raw_module) from the glue, and the entry points re-export it, so
// `instanceof TidingsError` holds for every error the package throws.

/**
 * An error from Tidings. `code` is the stable number of the core's error
 * table (docs/spec/errors.md), the same as the C library's `tidings_result`;
 * the message is short and never carries keys or mail or calendar content.
 */
export class TidingsError extends Error {
  /**
   * @param {number} code
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    /** @type {number} */
    this.code = code;
  }

  get name() {
    return "TidingsError";
  }
}
