import { createHash } from 'node:crypto';
import { stringify } from 'safe-stable-stringify';
import type { Configuration, Tags } from '../providers/types.js';

/** Content hash of a resource's recorded state: key order never matters. */
export function contentHash(configuration: Configuration | null, tags: Tags): string {
  return createHash('sha256')
    .update(stringify({ c: configuration, t: tags }) ?? '')
    .digest('base64url');
}
