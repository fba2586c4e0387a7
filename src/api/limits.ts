/**
 * The API's input limits, all in one place: how large a request body may be
 * (per route), how long each kind of text field and how long each list in a
 * request may be, and how large opaque JSON (filters, rule and policy bodies,
 * function events) may grow. A body over its size limit is answered 413
 * naming the limit; a field over its limit 400 naming the field (`issues[].path`).
 *
 * The numbers are generous for people and programs that mean well and finite
 * for everyone else: a name of 256 characters, a description of 4096, a list
 * of 1000 items are far past what anyone writes by hand.
 *
 * The audit log's own bounds (what one refused request may write) are in
 * src/security/audit.ts (AUDIT_LIMITS), re-exported here.
 */
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

export { AUDIT_LIMITS } from '../security/audit.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export const LIMITS = {
  /** Request body sizes in bytes, by route; everything else takes `default`. */
  body: {
    default: 1 * MiB,
    /** POST /sandbox/estate: a generated 100,000-resource estate is about 90 MB of JSON. */
    estate: 128 * MiB,
    /** POST /policy/plan and /policy/apply: every policy document of a directory in one request. */
    policy: 20 * MiB,
    /** PUT /functions/{name}: up to 1 MiB of code, which JSON may escape to several times that. */
    functionDeploy: 20 * MiB,
    /** POST /functions/{name}/invocations: the event, as large as a synchronous Lambda payload. */
    invocation: 6 * MiB,
  },
  /** Characters of text fields. */
  text: {
    /** Ids: account, region, resource type, execution, delivery, invocation, event ids; path parameters. */
    id: 256,
    /** A resource id (AWS Config allows 768). */
    resourceId: 768,
    /** Names: rules, groups, topics, subscriptions, functions, tokens, roles, files. */
    name: 256,
    description: 4096,
    /** Why: exceptions, pauses, rejections. */
    reason: 2048,
    /** A CEL or JMESPath expression. */
    expression: 16 * KiB,
    /** One rule parameter or environment variable value. */
    value: 16 * KiB,
    /** URLs and ARNs. */
    url: 2048,
    /** Times and durations ("7d", "2026-12-31T00:00:00Z"). */
    time: 64,
    /** Query filters such as a source ("remediation:ID") or a paging cursor. */
    query: 1024,
    /** A function's code (the function store also caps it at 1 MiB of UTF-8). */
    functionSource: 1 * MiB,
  },
  tags: { key: 128, value: 256, count: 50 },
  /** Items of a list in a request (resource types, regions, accounts, excluded ids, …). */
  list: 1000,
  /** Ids given in one bulk call (redeliver, start remediation on resources). */
  bulkIds: 10_000,
  /** Entries of a map in a request (rule parameters, environment variables). */
  entries: 200,
  /** Policy documents in one plan or apply. */
  policyDocuments: 10_000,
  /** Opaque JSON anywhere in a request body (filters, remediation settings, policy document bodies, events). */
  json: {
    /** Characters of any one string. */
    string: 64 * KiB,
    /** Items of any one array. */
    items: 10_000,
    /** Keys of any one object. */
    keys: 1000,
    /** Nesting of objects and arrays. */
    depth: 32,
  },
} as const;

export const formatBytes = (n: number) => (n >= MiB && n % MiB === 0 ? `${n / MiB} MiB` : n >= KiB && n % KiB === 0 ? `${n / KiB} KiB` : `${n} bytes`);

/** Routes (method, path under /api/v1) whose bodies may be larger than the default. */
const LARGE_BODIES: { method: string; path: RegExp; route: string; bytes: number }[] = [
  { method: 'POST', path: /^\/sandbox\/estate\/?$/, route: 'POST /sandbox/estate', bytes: LIMITS.body.estate },
  { method: 'POST', path: /^\/policy\/(plan|apply)\/?$/, route: 'POST /policy/plan and /policy/apply', bytes: LIMITS.body.policy },
  { method: 'PUT', path: /^\/functions\/[^/]+\/?$/, route: 'PUT /functions/{name}', bytes: LIMITS.body.functionDeploy },
  { method: 'POST', path: /^\/functions\/[^/]+\/invocations\/?$/, route: 'POST /functions/{name}/invocations', bytes: LIMITS.body.invocation },
];

/** The body limit of a request (path relative to /api/v1), and what to call it in the 413. */
export function bodyLimitFor(method: string, path: string): { bytes: number; route: string } {
  const m = method.toUpperCase();
  const hit = LARGE_BODIES.find((r) => r.method === m && r.path.test(path));
  return hit ? { bytes: hit.bytes, route: hit.route } : { bytes: LIMITS.body.default, route: 'this route' };
}

/**
 * Hono middleware for /api/v1/*: a body over its route's limit is answered
 * 413 PayloadTooLarge naming the limit, before it is read (Content-Length) or
 * as soon as it passes the limit (chunked). Runs after access control, so a
 * caller without a valid token never gets a body read.
 */
export function requestBodyLimits(prefix = '/api/v1'): MiddlewareHandler {
  const byLimit = new Map<string, MiddlewareHandler>();
  return (c, next) => {
    const { bytes, route } = bodyLimitFor(c.req.method, c.req.path.slice(prefix.length) || '/');
    const key = `${bytes} ${route}`;
    let mw = byLimit.get(key);
    if (!mw) {
      const others = route === 'this route' ? '' : `; most routes take ${formatBytes(LIMITS.body.default)}`;
      mw = bodyLimit({
        maxSize: bytes,
        onError: (c) =>
          c.json(
            {
              error: {
                code: 'PayloadTooLarge',
                message: `the request body is larger than the ${formatBytes(bytes)} ${route} takes${others}`,
                limitBytes: bytes,
              },
            },
            413,
          ),
      });
      byLimit.set(key, mw);
    }
    return mw(c, next);
  };
}

// ---- bounds of values the schemas leave open (z.unknown, records) ----

/**
 * What a value may hold, checked only where its type fits (a wrong type is
 * left to the schema that owns the value, which says what was expected): a
 * number is the most characters of a string; an object bounds strings
 * (`max`), arrays (`items`, each item by `each`) and objects (`keys`, each
 * key's length `key`, each value by `values`, named fields by `fields`).
 */
export type Bound =
  | number
  | {
      max?: number;
      items?: number;
      each?: Bound;
      keys?: number;
      key?: number;
      values?: Bound;
      fields?: Record<string, Bound>;
    };

export interface BoundIssue {
  path: (string | number)[];
  message: string;
}

/** Problems reported for one value at most; the first is the one the 400 names. */
const MAX_ISSUES = 20;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkBound(value: unknown, bound: Bound, path: (string | number)[], out: BoundIssue[]): void {
  if (out.length >= MAX_ISSUES) return;
  const b = typeof bound === 'number' ? { max: bound } : bound;
  if (typeof value === 'string') {
    if (b.max !== undefined && value.length > b.max) out.push({ path, message: `at most ${b.max} characters (this one has ${value.length})` });
    return;
  }
  if (Array.isArray(value)) {
    if (b.items !== undefined && value.length > b.items) {
      out.push({ path, message: `at most ${b.items} items (this one has ${value.length})` });
      return;
    }
    if (b.each !== undefined) for (let i = 0; i < value.length && out.length < MAX_ISSUES; i++) checkBound(value[i], b.each, [...path, i], out);
    return;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (b.keys !== undefined && keys.length > b.keys) {
      out.push({ path, message: `at most ${b.keys} entries (this one has ${keys.length})` });
      return;
    }
    for (const k of keys) {
      if (out.length >= MAX_ISSUES) return;
      if (b.key !== undefined && k.length > b.key) {
        out.push({ path: [...path, k.slice(0, 64)], message: `a key of at most ${b.key} characters (this one has ${k.length})` });
        continue;
      }
      const field = b.fields?.[k] ?? b.values;
      if (field !== undefined) checkBound(value[k], field, [...path, k], out);
    }
  }
}

export interface JsonLimits {
  string: number;
  items: number;
  keys: number;
  depth: number;
}

/** Generic bounds of any JSON: string lengths, array and object sizes, depth (iterative: no stack to exhaust). */
function checkJson(value: unknown, basePath: (string | number)[], out: BoundIssue[], j: JsonLimits): void {
  const stack: { v: unknown; path: (string | number)[]; depth: number }[] = [{ v: value, path: basePath, depth: 0 }];
  while (stack.length && out.length < MAX_ISSUES) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (v.length > j.string) out.push({ path, message: `at most ${j.string} characters (this one has ${v.length})` });
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= j.depth) {
      out.push({ path, message: `nested at most ${j.depth} levels deep` });
      continue;
    }
    if (Array.isArray(v)) {
      if (v.length > j.items) out.push({ path, message: `at most ${j.items} items (this one has ${v.length})` });
      else for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i], depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    if (keys.length > j.keys) {
      out.push({ path, message: `at most ${j.keys} entries (this one has ${keys.length})` });
      continue;
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      if (k.length > j.string) out.push({ path: [...path, k.slice(0, 64)], message: `a key of at most ${j.string} characters` });
      else stack.push({ v: (v as Record<string, unknown>)[k], path: [...path, k], depth: depth + 1 });
    }
  }
}

/**
 * The problems of a value against a bound and against the generic JSON
 * bounds (LIMITS.json), each with its path (prefixed with `path`); at most 20.
 */
export function boundIssues(value: unknown, bound?: Bound, path: (string | number)[] = [], json: Partial<JsonLimits> = {}): BoundIssue[] {
  const out: BoundIssue[] = [];
  if (bound !== undefined) checkBound(value, bound, path, out);
  const generic: BoundIssue[] = [];
  checkJson(value, path, generic, { ...LIMITS.json, ...json });
  const seen = new Set(out.map((i) => JSON.stringify(i.path)));
  for (const i of generic) if (out.length < MAX_ISSUES && !seen.has(JSON.stringify(i.path))) out.push(i);
  return out;
}
