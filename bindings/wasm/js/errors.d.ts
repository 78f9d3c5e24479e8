/**
 * An error from Tidings. `code` is the stable number of the core's error
 * table (docs/spec/errors.md), the same as the C library's `tidings_result`;
 * the message is short and never carries keys or mail or calendar content.
 */
export class TidingsError extends Error {
  constructor(code: number, message: string);
  /** The stable error code, e.g. 601 (activation code rejected). */
  readonly code: number;
  readonly name: "TidingsError";
}
