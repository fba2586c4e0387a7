/** Times in query strings and bodies: an ISO time, or a duration from now. */
import { parseDuration } from '../util/duration.js';
import { ApiError } from './errors.js';

/**
 * An ISO time, or a duration ("30m", "12h", "7d") back from now (`ago`:
 * `since=7d`) or ahead of it (`ahead`: `expires=7d`); a 400 naming the field
 * otherwise.
 */
export function timeOrDuration(field: string, text: string, direction: 'ago' | 'ahead'): Date {
  const ms = parseDuration(text);
  const at = ms !== undefined ? new Date(Date.now() + (direction === 'ago' ? -ms : ms)) : new Date(text);
  if (Number.isNaN(at.getTime()))
    throw new ApiError(
      400,
      'InvalidRequest',
      `${field}: "${text}" is neither a time (2026-12-31T00:00:00Z) nor a duration${direction === 'ago' ? ' back from now' : ''} (30m, 12h, 7d)`,
    );
  return at;
}
