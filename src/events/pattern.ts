import { ConfixError } from '../errors.js';
/**
 * EventBridge-style event patterns: which events a subscription receives.
 * A pattern is matched against the event in the subscription's format (see
 * patternTarget in formats.ts), so a pattern from AWS's documentation works
 * on the EventBridge shape unchanged.
 *
 * A pattern is an object whose fields are either nested patterns (objects)
 * or lists of matchers; an event matches when every field matches:
 *   "x"  42  true  null             the value equals it (numbers numerically)
 *   {"prefix": "ab"}                a string starting with "ab" ({"prefix": {"equals-ignore-case": "ab"}} too)
 *   {"suffix": ".png"}              a string ending with ".png" (likewise)
 *   {"equals-ignore-case": "Ab"}    a string equal to "Ab" ignoring case
 *   {"anything-but": v}             any value but v; v a value, a list of values,
 *                                   {"prefix": s}, {"suffix": s} or {"equals-ignore-case": s | [s…]}
 *   {"exists": true | false}        the field is (is not) present with a value
 *   {"numeric": [">", 0, "<=", 5]}  a number in the range (one comparison, or a
 *                                   lower bound > / >= then an upper bound < / <=; "=" alone)
 * A list matches when any of its matchers does. As in EventBridge, arrays
 * in the event are flattened: a field matches when any element matches, and
 * every field of a pattern is checked on its own. Only leaf values (not
 * objects) match; `exists` looks at leaf values too, so an absent field, an
 * object where a value was expected and an empty array all "do not exist".
 * `{}` matches every event. Not supported: `$or`, `wildcard`, `cidr`.
 *
 * compilePattern validates and throws PatternError naming the path of the
 * first problem ("detail.newEvaluationResult.complianceType[0]: …").
 */

export class PatternError extends ConfixError {
  constructor(
    /** Where in the pattern: "detail.complianceType[1].numeric", or "" for the pattern itself. */
    readonly path: string,
    readonly detail: string,
  ) {
    super('InvalidPattern', 'invalid', `${path || 'pattern'}: ${detail}`);
  }
}

export type EventPattern = Record<string, unknown>;
export type CompiledPattern = (event: unknown) => boolean;

/** Matches the flattened leaf values found at one field's path. */
type ValuesMatcher = (values: unknown[]) => boolean;

interface Field {
  path: string[];
  matchers: ValuesMatcher[];
}

const OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'anything-but', 'exists', 'numeric'];

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isLeaf = (v: unknown) => v === null || typeof v !== 'object';

const fieldPath = (base: string, key: string) => (/^[A-Za-z_$][\w$-]*$/.test(key) ? (base ? `${base}.${key}` : key) : `${base}[${JSON.stringify(key)}]`);

const describe = (v: unknown) =>
  v === undefined ? 'nothing' : Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;

function equalsValue(expected: string | number | boolean | null): (v: unknown) => boolean {
  return (v) => v === expected;
}

/** prefix / suffix: a string, or {"equals-ignore-case": string}. */
function affix(kind: 'prefix' | 'suffix', arg: unknown, path: string): (v: unknown) => boolean {
  let s: string;
  let ignoreCase = false;
  if (typeof arg === 'string') s = arg;
  else if (isPlainObject(arg) && Object.keys(arg).length === 1 && typeof arg['equals-ignore-case'] === 'string') {
    s = arg['equals-ignore-case'] as string;
    ignoreCase = true;
  } else throw new PatternError(path, `${kind} takes a string (or {"equals-ignore-case": string}), not ${describe(arg)}`);
  if (ignoreCase) {
    const lower = s.toLowerCase();
    return kind === 'prefix'
      ? (v) => typeof v === 'string' && v.toLowerCase().startsWith(lower)
      : (v) => typeof v === 'string' && v.toLowerCase().endsWith(lower);
  }
  return kind === 'prefix' ? (v) => typeof v === 'string' && v.startsWith(s) : (v) => typeof v === 'string' && v.endsWith(s);
}

function ignoreCase(arg: unknown, path: string): (v: unknown) => boolean {
  if (typeof arg !== 'string') throw new PatternError(path, `equals-ignore-case takes a string, not ${describe(arg)}`);
  const lower = arg.toLowerCase();
  return (v) => typeof v === 'string' && v.toLowerCase() === lower;
}

function anythingBut(arg: unknown, path: string): (v: unknown) => boolean {
  const scalar = (x: unknown, p: string): string | number | boolean | null => {
    if (x === null || typeof x === 'string' || typeof x === 'boolean' || (typeof x === 'number' && Number.isFinite(x)))
      return x as string | number | boolean | null;
    throw new PatternError(p, `anything-but takes a value, a list of values, {"prefix": …}, {"suffix": …} or {"equals-ignore-case": …}, not ${describe(x)}`);
  };
  if (Array.isArray(arg)) {
    if (arg.length === 0) throw new PatternError(path, 'anything-but needs at least one value');
    const excluded = arg.map((x, i) => scalar(x, `${path}[${i}]`));
    return (v) => isLeaf(v) && !excluded.includes(v as string | number | boolean | null);
  }
  if (isPlainObject(arg)) {
    const keys = Object.keys(arg);
    if (keys.length !== 1)
      throw new PatternError(path, `anything-but takes one of prefix, suffix or equals-ignore-case, not ${keys.length ? keys.join(', ') : 'an empty object'}`);
    const key = keys[0]!;
    const inner = arg[key];
    const p = fieldPath(path, key);
    if (key === 'prefix' || key === 'suffix') {
      if (typeof inner !== 'string') throw new PatternError(p, `${key} takes a string, not ${describe(inner)}`);
      const m = affix(key, inner, p);
      return (v) => typeof v === 'string' && !m(v);
    }
    if (key === 'equals-ignore-case') {
      const list = Array.isArray(inner) ? inner : [inner];
      if (list.length === 0) throw new PatternError(p, 'equals-ignore-case needs at least one string');
      const ms = list.map((x, i) => ignoreCase(x, Array.isArray(inner) ? `${p}[${i}]` : p));
      return (v) => typeof v === 'string' && !ms.some((m) => m(v));
    }
    throw new PatternError(p, `anything-but does not take "${key}" (prefix, suffix or equals-ignore-case)`);
  }
  const excluded = scalar(arg, path);
  return (v) => isLeaf(v) && v !== excluded;
}

const LOWER = new Set(['>', '>=']);
const UPPER = new Set(['<', '<=']);

function numeric(arg: unknown, path: string): (v: unknown) => boolean {
  if (!Array.isArray(arg) || (arg.length !== 2 && arg.length !== 4))
    throw new PatternError(path, 'numeric takes [OP, NUMBER] or [">"|">=", NUMBER, "<"|"<=", NUMBER], e.g. [">", 0, "<=", 5]');
  const tests: ((n: number) => boolean)[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof op !== 'string' || !['=', '<', '<=', '>', '>='].includes(op))
      throw new PatternError(`${path}[${i}]`, `not a comparison: ${describe(op)} (=, <, <=, >, >=)`);
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new PatternError(`${path}[${i + 1}]`, `"${op}" needs a number, not ${describe(n)}`);
    tests.push(op === '=' ? (x) => x === n : op === '<' ? (x) => x < n : op === '<=' ? (x) => x <= n : op === '>' ? (x) => x > n : (x) => x >= n);
  }
  if (arg.length === 4) {
    const [lo, loN, hi, hiN] = arg as [string, number, string, number];
    if (!LOWER.has(lo)) throw new PatternError(`${path}[0]`, `a range starts with a lower bound (">" or ">="), not "${lo}"`);
    if (!UPPER.has(hi)) throw new PatternError(`${path}[2]`, `a range ends with an upper bound ("<" or "<="), not "${hi}"`);
    if (loN > hiN) throw new PatternError(path, `the range is empty: ${loN} is above ${hiN}`);
  }
  return (v) => typeof v === 'number' && tests.every((t) => t(v));
}

function compileMatcher(m: unknown, path: string): ValuesMatcher {
  if (m === null || typeof m === 'string' || typeof m === 'boolean' || (typeof m === 'number' && Number.isFinite(m))) {
    const eq = equalsValue(m);
    return (values) => values.some(eq);
  }
  if (Array.isArray(m)) throw new PatternError(path, 'a list inside a list: write the values in one list');
  if (!isPlainObject(m)) throw new PatternError(path, `not a value or a matcher: ${describe(m)}`);
  const keys = Object.keys(m);
  if (keys.length !== 1) {
    throw new PatternError(
      path,
      keys.length ? `a matcher has one operator, not ${keys.length} (${keys.join(', ')})` : `an empty matcher: use one of ${OPERATORS.join(', ')}`,
    );
  }
  const op = keys[0]!;
  const arg = m[op];
  const p = fieldPath(path, op);
  let one: (v: unknown) => boolean;
  switch (op) {
    case 'exists': {
      if (typeof arg !== 'boolean') throw new PatternError(p, `exists takes true or false, not ${describe(arg)}`);
      return arg ? (values) => values.length > 0 : (values) => values.length === 0;
    }
    case 'prefix':
    case 'suffix':
      one = affix(op, arg, p);
      break;
    case 'equals-ignore-case':
      one = ignoreCase(arg, p);
      break;
    case 'anything-but':
      one = anythingBut(arg, p);
      break;
    case 'numeric':
      one = numeric(arg, p);
      break;
    default:
      throw new PatternError(p, `unknown operator "${op}" (${OPERATORS.join(', ')})`);
  }
  return (values) => values.some(one);
}

function compileFields(pattern: Record<string, unknown>, keys: string[], path: string, fields: Field[]): void {
  for (const [key, value] of Object.entries(pattern)) {
    const p = fieldPath(path, key);
    if (Array.isArray(value)) {
      if (value.length === 0) throw new PatternError(p, 'an empty list matches nothing: give at least one value or matcher');
      fields.push({ path: [...keys, key], matchers: value.map((m, i) => compileMatcher(m, `${p}[${i}]`)) });
    } else if (isPlainObject(value)) {
      if (Object.keys(value).length === 0) throw new PatternError(p, 'an empty object: give the fields to match, or leave it out');
      compileFields(value, [...keys, key], p, fields);
    } else {
      throw new PatternError(p, `must be a list of values or matchers (e.g. [${JSON.stringify(value ?? 'x')}]) or an object of fields, not ${describe(value)}`);
    }
  }
}

function flatten(v: unknown, out: unknown[]): void {
  if (Array.isArray(v)) for (const x of v) flatten(x, out);
  else out.push(v);
}

/** The leaf values at `path`, arrays flattened at every level. */
function leafValues(event: unknown, path: string[]): unknown[] {
  let nodes: unknown[] = [];
  flatten(event, nodes);
  for (const key of path) {
    const next: unknown[] = [];
    for (const n of nodes) if (isPlainObject(n) && Object.hasOwn(n, key)) flatten(n[key], next);
    nodes = next;
    if (nodes.length === 0) break;
  }
  return nodes.filter((v) => v !== undefined && isLeaf(v));
}

/** Validates a pattern and returns its test. Throws PatternError naming the path of the first problem. */
export function compilePattern(pattern: unknown): CompiledPattern {
  if (!isPlainObject(pattern)) throw new PatternError('', `must be an object of fields, not ${describe(pattern)}`);
  const fields: Field[] = [];
  compileFields(pattern, [], '', fields);
  return (event) =>
    fields.every((f) => {
      const values = leafValues(event, f.path);
      return f.matchers.some((m) => m(values));
    });
}

/** Throws PatternError if the pattern is not valid. */
export function validatePattern(pattern: unknown): void {
  compilePattern(pattern);
}

const compiled = new WeakMap<object, CompiledPattern>();

/** Whether `event` matches `pattern` (compiled once per pattern object). */
export function matches(pattern: EventPattern, event: unknown): boolean {
  let test = compiled.get(pattern);
  if (!test) {
    test = compilePattern(pattern);
    compiled.set(pattern, test);
  }
  return test(event);
}
