/**
 * Small helpers for putting untrusted text into messages.
 *
 * An error or log message that repeats what a caller sent (a resource id, an
 * ARN, a name, a pattern) must not grow with it: a 60,000-character id would
 * otherwise come back in full in every 403, log line and stored annotation.
 */

/** Characters of an untrusted value kept in a message by default. */
export const MESSAGE_VALUE_MAX = 100;

/**
 * `value` as it may appear in a message: unchanged when it has at most `max`
 * characters, else its first `max` characters followed by `…(N chars)`, N
 * being its full length. A surrogate pair is not split.
 */
export function truncate(value: string, max: number = MESSAGE_VALUE_MAX): string {
  if (value.length <= max) return value;
  let end = Math.max(0, max);
  const last = value.charCodeAt(end - 1);
  if (end > 0 && last >= 0xd800 && last <= 0xdbff) end--; // keep a pair whole
  return `${value.slice(0, end)}…(${value.length} chars)`;
}

/** JSON.stringify of a truncated string: for quoting untrusted values in messages. */
export function quoteTruncated(value: string, max: number = MESSAGE_VALUE_MAX): string {
  return JSON.stringify(truncate(value, max));
}
