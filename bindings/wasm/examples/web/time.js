// Times for display, in the reader's own time zone (the browser's): a mail's
// Date (seconds since the epoch) and an event's start as iCalendar wrote it
// (a wall time in a named zone, UTC, floating, or a date). Zone rules come
// from the browser's Intl time zone data; a zone it does not know is shown
// as the wall time it is.

const timeFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
});
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "short",
  day: "numeric",
  month: "short",
  year: "numeric",
});

/**
 * @typedef {{ text: string, iso: string, ms: number }} Shown
 * What to display, the instant as ISO 8601 (for `<time datetime>`), and a
 * sort key in milliseconds.
 */

/**
 * A mail's Date header.
 * @param {number} unixSeconds 0 when the mail had none
 * @returns {Shown | undefined}
 */
export function mailDate(unixSeconds) {
  if (!unixSeconds) return undefined;
  const date = new Date(unixSeconds * 1000);
  return { text: timeFormat.format(date), iso: date.toISOString(), ms: date.getTime() };
}

/**
 * An event's start (or end).
 * @param {{ value: string, tzid: string } | undefined} time
 * @returns {Shown | undefined}
 */
export function eventTime(time) {
  const m = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/.exec(time?.value ?? "");
  if (!m || !time) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  if (m[4] === undefined) {
    // A date: an all-day event, the same day wherever the reader is.
    const date = new Date(year, month - 1, day);
    return { text: dayFormat.format(date), iso: m[0].replace(/(\d{4})(\d{2})(\d{2})/, "$1-$2-$3"), ms: date.getTime() };
  }
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const offset = m[7] ? 0 : time.tzid ? zoneOffset(time.tzid, wall) : undefined;
  // Floating times, and zones the browser does not know: the wall time.
  const date = offset === undefined ? new Date(year, month - 1, day, hour, minute, second) : new Date(wall - offset);
  return { text: timeFormat.format(date), iso: date.toISOString(), ms: date.getTime() };
}

/** @type {Map<string, Intl.DateTimeFormat | null>} */
const zones = new Map();

/**
 * How far (ms) zone `tzid` is ahead of UTC at the wall time `wall` (that
 * wall time read as if it were UTC), or undefined for an unknown zone.
 * @param {string} tzid
 * @param {number} wall
 */
function zoneOffset(tzid, wall) {
  if (!zones.has(tzid)) {
    try {
      const options = { timeZone: tzid, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" };
      zones.set(tzid, new Intl.DateTimeFormat("en-US", /** @type {Intl.DateTimeFormatOptions} */ (options)));
    } catch {
      zones.set(tzid, null);
    }
  }
  const zone = zones.get(tzid);
  if (!zone) return undefined;
  /** @param {number} instant */
  const aheadAt = (instant) => {
    const parts = zone.formatToParts(new Date(instant));
    /** @param {string} type */
    const part = (type) => Number(parts.find((p) => p.type === type)?.value ?? 0);
    return Date.UTC(part("year"), part("month") - 1, part("day"), part("hour"), part("minute"), part("second")) - instant;
  };
  // The offset at the instant first guessed, then at the corrected one
  // (right on both sides of a daylight-saving change).
  const first = aheadAt(wall);
  return aheadAt(wall - first);
}
