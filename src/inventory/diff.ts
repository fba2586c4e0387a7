/**
 * Differences between two recorded configurations, as JSON Patch operations
 * (RFC 6902) with the previous value added, so a timeline can show both sides.
 * Array items are matched by their cloud id (a security group rule id, a tag
 * key, …), so inserting one rule shows as one addition, not a cascade.
 */
import { create } from 'jsondiffpatch';
import * as jsonpatch from 'jsondiffpatch/formatters/jsonpatch';
import { allIdKeys } from '../providers/resource-types/index.js';

export interface DiffOp {
  op: 'add' | 'remove' | 'replace' | 'move';
  /** JSON Pointer into the configuration (RFC 6901). */
  path: string;
  from?: string;
  value?: unknown;
  previousValue?: unknown;
}

// The keys that tell array items apart come from the resource types' facts.
const ID_KEYS = allIdKeys();

const differ = create({
  objectHash(item: object, index?: number) {
    const o = item as Record<string, unknown>;
    for (const k of ID_KEYS) if (typeof o[k] === 'string') return `${k}:${o[k] as string}`;
    if (o.Grantee && typeof o.Grantee === 'object') return `grant:${JSON.stringify(o.Grantee)}:${String(o.Permission)}`;
    return JSON.stringify(item) ?? `$$index:${index}`;
  },
  arrays: { detectMove: false },
  cloneDiffValues: false,
});

function unescapeSegment(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

type Container = Record<string, unknown> | unknown[];

/** Parent container and last key of a pointer within doc. */
function locate(doc: unknown, pointer: string): { parent: Container | undefined; key: string } {
  const segs = pointer.split('/').slice(1).map(unescapeSegment);
  const key = segs.pop() ?? '';
  let cur: unknown = doc;
  for (const seg of segs) {
    if (cur === null || typeof cur !== 'object') return { parent: undefined, key };
    cur = (cur as Record<string, unknown>)[seg];
  }
  return { parent: cur !== null && typeof cur === 'object' ? (cur as Container) : undefined, key };
}

/**
 * JSON Patch operations apply in sequence, so an operation's path refers to
 * the document as the earlier operations left it: walk a working copy to read
 * each previous value at the right place.
 */
function applyOp(doc: unknown, o: DiffOp): unknown {
  const { parent, key } = locate(doc, o.path);
  if (!parent) return undefined;
  const isArr = Array.isArray(parent);
  const idx = key === '-' ? (parent as unknown[]).length : Number(key);
  const prev = isArr ? (parent as unknown[])[idx] : (parent as Record<string, unknown>)[key];
  if (o.op === 'add') {
    if (isArr) (parent as unknown[]).splice(idx, 0, structuredClone(o.value));
    else (parent as Record<string, unknown>)[key] = structuredClone(o.value);
  } else if (o.op === 'remove') {
    if (isArr) (parent as unknown[]).splice(idx, 1);
    else delete (parent as Record<string, unknown>)[key];
  } else if (o.op === 'replace') {
    if (isArr) (parent as unknown[])[idx] = structuredClone(o.value);
    else (parent as Record<string, unknown>)[key] = structuredClone(o.value);
  }
  return prev;
}

export function diffConfigurations(before: unknown, after: unknown): DiffOp[] {
  const delta = differ.diff(before ?? {}, after ?? {});
  if (!delta) return [];
  const ops = jsonpatch.format(delta) as DiffOp[];
  const work = structuredClone(before ?? {});
  return ops.map((o) => {
    const out: DiffOp = { op: o.op, path: o.path };
    if (o.from !== undefined) out.from = o.from;
    if (o.op === 'add' || o.op === 'replace') out.value = o.value;
    const prev = applyOp(work, o);
    if (o.op === 'remove' || o.op === 'replace') out.previousValue = prev;
    return out;
  });
}

/** "/Permissions/Permission/3" → "Permissions.Permission[3]" for people. */
export function readablePath(pointer: string): string {
  let s = '';
  for (const seg of pointer.split('/').slice(1).map(unescapeSegment)) s += /^\d+$/.test(seg) ? `[${seg}]` : s ? `.${seg}` : seg;
  return s || '(whole configuration)';
}
