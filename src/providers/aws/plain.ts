/**
 * SDK output as plain JSON, the shape configurations and call results are
 * stored in: the SDK's $metadata dropped, dates as ISO 8601 strings (as the
 * sandbox writes them), undefined members left out.
 */
export function plain<T = Record<string, unknown>>(value: unknown): T {
  return strip(value) as T;
}

function strip(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(strip);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$metadata' || x === undefined) continue;
    out[k] = strip(x);
  }
  return out;
}

/** A tag list ([{Key, Value}]) as a map, and the map back as a list sorted by key (the sandbox's order). */
export function tagMap(list: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(list))
    for (const t of list as { Key?: unknown; Value?: unknown }[]) if (typeof t?.Key === 'string') out[t.Key] = typeof t.Value === 'string' ? t.Value : '';
  return out;
}

export function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.keys(tags)
    .sort()
    .map((Key) => ({ Key, Value: tags[Key]! }));
}
