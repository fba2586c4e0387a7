/**
 * Custom rules written as CEL expressions (Common Expression Language,
 * https://cel.dev), on @marcbachmann/cel-js.
 *
 * What an expression sees:
 *   resource    a typed object with the fields
 *                 configuration  map<string, dyn>     the recorded configuration
 *                 tags           map<string, string>
 *                 type, id, accountId, regionId       string
 *                 name           dyn: a string, or null when the resource has none
 *               (a misspelt field, e.g. resource.confguration, is a compile error)
 *   parameters  map<string, string>: the rule's parameters as the clouds pass them
 *
 * What it returns (anything else is an error for that resource):
 *   bool        true → COMPLIANT, false → NON_COMPLIANT
 *   string      one of COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE, INSUFFICIENT_DATA
 *   map         {'compliance': <one of those strings, or a bool>, 'annotation': <string, optional>}
 * An expression whose type is known to be something else (an int, a list…) is
 * refused when it is compiled.
 *
 * Numbers: CEL tells int from double and does no arithmetic across them
 * (`1 + 1.5` is an error), while JSON has one number type. A number in the
 * configuration that is a whole number within ±2^53 is given to CEL as an int;
 * any other number as a double. So `resource.configuration.Cpu * 2 > 8` and
 * `p.Port % 2 == 0` work on ports, sizes and counts. Comparisons (==, <, >,
 * `in`) work across int and double anyway (`Cpu > 2.5`, `Mem == 4`). For
 * arithmetic on a value that may be fractional, convert it: `double(x) * 1.5`.
 *
 * Regular expressions: `s.matches(re)` and `matches(s, re)` use RE2 syntax
 * and semantics, as the CEL specification says (https://github.com/google/re2/wiki/Syntax),
 * run by re2js, a linear-time engine: no backtracking, so a configuration
 * value, which anyone who can describe a resource in the cloud controls,
 * cannot make a match take exponential time and block the service. A match
 * succeeds when the pattern matches any part of the string (anchor it with
 * ^ and $ to match the whole); flags are written inline, e.g. `(?i)`.
 * Backreferences (\1) and lookaround ((?=…), (?!…), (?<=…)) are not RE2 and
 * are refused. A pattern has at most RE2_PATTERN_MAX characters and an RE2
 * program of at most RE2_PROGRAM_MAX instructions (repetition counts
 * multiply: `(a?){1000}` is over it). A literal pattern is checked when the
 * rule is compiled (a CelCompileError at the pattern); a computed one (e.g.
 * from a parameter) when it is used, failing the evaluation of that resource
 * (INSUFFICIENT_DATA, saying why). Compiled patterns are cached (bounded).
 */
import { Environment, ParseError, EvaluationError, TypeError as CelTypeError } from '@marcbachmann/cel-js';
import { RE2JS, RE2JSException } from 're2js';
import { truncate } from '../util/text.js';
import { COMPLIANCE_TYPES, type ComplianceType, type EvaluationInput, type Verdict } from './types.js';
import { ConfixError } from '../errors.js';

export interface CelPosition {
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units from the start of the line. */
  column: number;
  /** 0-based offset into the expression. */
  offset: number;
}

export class CelCompileError extends ConfixError {
  /** Where the library places the problem, when it says. */
  readonly position?: CelPosition;
  readonly expression: string;
  /** The library's own one-line description, without position. */
  readonly detail: string;
  /** The offending line of the expression and a caret under the position, for terminals. */
  readonly excerpt?: string;

  constructor(expression: string, detail: string, position?: CelPosition) {
    super(
      'InvalidExpression',
      'invalid',
      position
        ? `CEL expression does not compile at line ${position.line}, column ${position.column}: ${detail}`
        : `CEL expression does not compile: ${detail}`,
    );
    this.expression = expression;
    this.detail = detail;
    this.position = position;
    if (position) {
      const line = expression.split('\n')[position.line - 1] ?? '';
      this.excerpt = `${line}\n${' '.repeat(position.column - 1)}^`;
    }
  }
}

export interface CompiledCelRule {
  expression: string;
  evaluate(input: EvaluationInput, parameters: Record<string, string>): Verdict;
}

/** The value bound to `resource`; an own class so that CEL checks field names. */
class CelResource {
  constructor(
    readonly configuration: Record<string, unknown>,
    readonly tags: Record<string, string>,
    readonly type: string,
    readonly id: string,
    readonly name: string | null,
    readonly accountId: string,
    readonly regionId: string,
  ) {}
}

// ---------------------------------------------------------------------------
// RE2 for matches()
//
// The library's own `string.matches(string)` runs a JavaScript RegExp, which
// backtracks (exponential on `^a(b+)+$`-like patterns) and is not RE2. The
// library refuses a second overload with the same signature and offers no
// way to drop one; but a macro (an overload taking `ast` arguments) is found
// by name and arity alone, before any overload, and its signature overlaps
// nothing when declared on another receiver type. So `bytes.matches(ast)`
// turns every `x.matches(y)` into our own typeCheck/evaluate, and
// `matches(ast, ast)` adds the global form. assertRe2Matches() below checks at
// load time that this still holds, so an upgrade of the library that changes
// it fails loudly instead of silently going back to RegExp.

/** Longest pattern accepted, in UTF-16 code units. */
export const RE2_PATTERN_MAX = 2048;
/** Largest compiled RE2 program accepted (RE2JS#programSize()); matching costs up to input length × this. */
export const RE2_PROGRAM_MAX = 2500;
/** Compiled patterns (and refusals) kept, least recently used dropped first. */
const RE2_CACHE_MAX = 256;

const re2Cache = new Map<string, RE2JS | string>();

/** A compiled pattern, or why it is refused (a message naming the pattern, shortened). */
export function compileRe2(pattern: string): RE2JS | string {
  const cached = re2Cache.get(pattern);
  if (cached !== undefined) {
    re2Cache.delete(pattern);
    re2Cache.set(pattern, cached);
    return cached;
  }
  if (pattern.length > RE2_PATTERN_MAX) {
    // Not cached: long keys would make the cache's memory unbounded in practice.
    return `regular expression of ${pattern.length} characters exceeds the limit of ${RE2_PATTERN_MAX}`;
  }
  let result: RE2JS | string;
  try {
    const re = RE2JS.compile(pattern);
    const size = re.programSize();
    result =
      size > RE2_PROGRAM_MAX
        ? `regular expression ${JSON.stringify(truncate(pattern))} is too complex: its RE2 program has ${size} instructions, the limit is ${RE2_PROGRAM_MAX}`
        : re;
  } catch (err) {
    if (!(err instanceof RE2JSException)) throw err;
    const reason = truncate(err.message.replace(/^error parsing regexp: /, ''), 200);
    result = `invalid regular expression ${JSON.stringify(truncate(pattern))}: ${reason} (matches() uses RE2 syntax: no backreferences or lookaround)`;
  }
  re2Cache.set(pattern, result);
  if (re2Cache.size > RE2_CACHE_MAX) re2Cache.delete(re2Cache.keys().next().value!);
  return result;
}

/** What the library's checker and evaluator offer a macro (only what is used here). */
interface CelTypeDecl {
  kind: string;
  name: string;
  type: string;
  unwrappedType: CelTypeDecl;
}
interface MacroAst {
  op: string;
  args: unknown;
}
interface MacroChecker {
  check(ast: MacroAst, ctx: unknown): CelTypeDecl;
  getType(name: string): CelTypeDecl;
  createError(code: string, message: string, ast: MacroAst): Error;
}
interface MacroEvaluator {
  run(ast: MacroAst, ctx: unknown): unknown;
  debugType(v: unknown): CelTypeDecl;
  createError(code: string, message: string, ast: MacroAst): Error;
}
interface MatchesMacro {
  /** The call, for error positions. */
  ast: MacroAst;
  subject: MacroAst;
  pattern: MacroAst;
  /** The receiver form (`s.matches(re)`) or the global one (`matches(s, re)`). */
  receiverForm: boolean;
  /** The compiled pattern when it is a literal. */
  literal?: RE2JS;
  async: false;
  typeCheck(chk: MacroChecker, macro: MatchesMacro, ctx: unknown): CelTypeDecl;
  evaluate(ev: MacroEvaluator, macro: MatchesMacro, ctx: unknown): unknown;
}

function stringOrDyn(t: CelTypeDecl): boolean {
  const u = t.unwrappedType ?? t;
  return u.kind === 'dyn' || u.name === 'string';
}

function signatureOf(m: MatchesMacro, subject: string, pattern: string): string {
  return m.receiverForm ? `${subject}.matches(${pattern})` : `matches(${subject}, ${pattern})`;
}

function matchesTypeCheck(chk: MacroChecker, m: MatchesMacro, ctx: unknown): CelTypeDecl {
  const subject = chk.check(m.subject, ctx);
  const pattern = chk.check(m.pattern, ctx);
  if (!stringOrDyn(subject) || !stringOrDyn(pattern)) {
    throw chk.createError('no_matching_overload', `found no matching overload for '${signatureOf(m, subject.name, pattern.name)}'`, m.ast);
  }
  if (m.pattern.op === 'value' && typeof m.pattern.args === 'string') {
    const re = compileRe2(m.pattern.args);
    if (typeof re === 'string') throw chk.createError('invalid_regular_expression', re, m.pattern);
    m.literal = re;
  }
  return chk.getType('bool');
}

function matchValues(ev: MacroEvaluator, m: MatchesMacro, subject: unknown, pattern: unknown): boolean {
  if (typeof subject !== 'string' || typeof pattern !== 'string') {
    throw ev.createError(
      'no_matching_overload',
      `found no matching overload for '${signatureOf(m, ev.debugType(subject).type, ev.debugType(pattern).type)}'`,
      m.ast,
    );
  }
  const re = m.literal ?? compileRe2(pattern);
  if (typeof re === 'string') throw ev.createError('invalid_regular_expression', re, m.pattern);
  return re.test(subject);
}

function matchesEvaluate(ev: MacroEvaluator, m: MatchesMacro, ctx: unknown): unknown {
  const subject = ev.run(m.subject, ctx);
  const pattern = ev.run(m.pattern, ctx);
  if (subject instanceof Promise || pattern instanceof Promise) {
    return Promise.all([subject, pattern]).then(([s, p]) => matchValues(ev, m, s, p));
  }
  return matchValues(ev, m, subject, pattern);
}

function matchesMacro({ ast, args, receiver }: { ast: MacroAst; args: MacroAst[]; receiver: MacroAst | null }): MatchesMacro {
  return {
    ast,
    subject: receiver ?? args[0]!,
    pattern: receiver ? args[0]! : args[1]!,
    receiverForm: receiver !== null,
    async: false,
    typeCheck: matchesTypeCheck,
    evaluate: matchesEvaluate,
  };
}

// Building an environment is the expensive part; one serves every rule.
const env = new Environment({ homogeneousAggregateLiterals: false })
  .registerFunction('bytes.matches(ast): bool', matchesMacro, {
    description: 'RE2 regular expression search (replaces the library string.matches, for every receiver)',
  })
  .registerFunction('matches(ast, ast): bool', matchesMacro, { description: 'RE2 regular expression search' })
  .registerType('confix.Resource', {
    ctor: CelResource,
    fields: {
      configuration: 'map<string, dyn>',
      tags: 'map<string, string>',
      type: 'string',
      id: 'string',
      name: 'dyn',
      accountId: 'string',
      regionId: 'string',
    },
  })
  .registerVariable('resource', 'confix.Resource', { description: 'The resource being evaluated' })
  .registerVariable('parameters', 'map<string, string>', { description: "The rule's parameters" });

/**
 * That matches() is ours: `(?i)` is RE2 but not JavaScript (a RegExp refuses
 * it), and a backreference is JavaScript but not RE2.
 */
function assertRe2Matches(): void {
  let ok: boolean;
  try {
    ok = env.evaluate("'A'.matches('(?i)^a$') && matches('b', '^b$')", {}) === true && !env.check(String.raw`'aa'.matches('(a)\\1')`).valid;
  } catch {
    ok = false;
  }
  if (!ok) throw new Error('confix: CEL matches() is not served by RE2 (has @marcbachmann/cel-js changed how it finds macros?); refusing to run');
}
assertRe2Matches();

/** Result types an expression may have; dyn is decided when it runs. */
function acceptableResultType(type: string | undefined): boolean {
  return type === undefined || type === 'bool' || type === 'string' || type === 'dyn' || type === 'map' || type.startsWith('map<');
}

function positionAt(expression: string, offset: number): CelPosition {
  const off = Math.max(0, Math.min(offset, expression.length));
  const before = expression.slice(0, off);
  const lastNl = before.lastIndexOf('\n');
  let line = 1;
  for (let i = 0; i < before.length; i++) if (before.charCodeAt(i) === 10) line++;
  return { line, column: off - lastNl, offset: off };
}

type LibraryError = ParseError | CelTypeError | EvaluationError;

function isLibraryError(err: unknown): err is LibraryError {
  return err instanceof ParseError || err instanceof CelTypeError || err instanceof EvaluationError;
}

/** The library's message without its source excerpt. */
function summaryOf(err: unknown): string {
  if (isLibraryError(err)) return err.summary || err.message.split('\n')[0]!;
  return err instanceof Error ? err.message : String(err);
}

function compileError(expression: string, err: unknown): CelCompileError {
  const range = isLibraryError(err) ? err.range : undefined;
  return new CelCompileError(expression, summaryOf(err), range ? positionAt(expression, range.start) : undefined);
}

const ANNOTATION_EXPR_MAX = 120;

function shortExpression(expression: string): string {
  const flat = expression.replace(/\s+/g, ' ').trim();
  return flat.length > ANNOTATION_EXPR_MAX ? `${flat.slice(0, ANNOTATION_EXPR_MAX - 1)}…` : flat;
}

const EXPECTED = `a bool, one of the strings ${COMPLIANCE_TYPES.join(', ')}, ` + `or a map {'compliance': <one of those or a bool>, 'annotation': <string>}`;

/** A returned value, said briefly and in CEL's terms. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `the int ${v}`;
  if (typeof v === 'number') return `the double ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 59)}…` : v)}`;
  if (typeof v === 'boolean') return `the bool ${v}`;
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (v instanceof Map) return `a map with keys ${[...v.keys()].map(String).join(', ') || '(none)'}`;
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto === Object.prototype || proto === null) return `a map with keys ${Object.keys(v).join(', ') || '(none)'}`;
    return `a ${(v as object).constructor?.name ?? 'value'}`;
  }
  return `a ${typeof v}`;
}

function isComplianceType(v: unknown): v is ComplianceType {
  return typeof v === 'string' && (COMPLIANCE_TYPES as readonly string[]).includes(v);
}

function verdictOf(value: unknown, short: string): Verdict {
  if (value === true) return { complianceType: 'COMPLIANT', annotation: `custom rule: ${short} is true` };
  if (value === false) return { complianceType: 'NON_COMPLIANT', annotation: `custom rule: ${short} is false` };
  if (isComplianceType(value)) return { complianceType: value, annotation: `custom rule: ${short} returned ${value}` };
  let entries: [unknown, unknown][] | undefined;
  if (value instanceof Map) entries = [...value.entries()];
  else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) entries = Object.entries(value);
  }
  if (!entries) throw new Error(`custom rule returned ${describe(value)}; expected ${EXPECTED}`);
  let compliance: unknown;
  let annotation: unknown;
  for (const [k, v] of entries) {
    if (k === 'compliance') compliance = v;
    else if (k === 'annotation') annotation = v;
    else throw new Error(`custom rule returned a map with the unexpected key ${JSON.stringify(String(k))}; expected ${EXPECTED}`);
  }
  let complianceType: ComplianceType;
  if (compliance === true) complianceType = 'COMPLIANT';
  else if (compliance === false) complianceType = 'NON_COMPLIANT';
  else if (isComplianceType(compliance)) complianceType = compliance;
  else
    throw new Error(
      compliance === undefined
        ? `custom rule returned a map without 'compliance'; expected ${EXPECTED}`
        : `custom rule returned 'compliance': ${describe(compliance)}; expected a bool or one of ${COMPLIANCE_TYPES.join(', ')}`,
    );
  if (annotation !== undefined && typeof annotation !== 'string')
    throw new Error(`custom rule returned 'annotation': ${describe(annotation)}; expected a string`);
  return { complianceType, annotation: annotation ?? `custom rule: ${short} returned ${complianceType}` };
}

/**
 * JSON → CEL values, copied: whole numbers within ±2^53 become ints
 * (bigint), other numbers stay doubles; undefined object members are dropped
 * and undefined list elements become null, as in the stored JSON. Objects
 * that are not plain (Date, Uint8Array, Map…) are passed as they are.
 * (A plain copy measured faster than copy-on-write or a lazily converting
 * Proxy for configurations of a few hundred bytes to a few kilobytes.)
 */
export function toCelValue(v: unknown): unknown {
  switch (typeof v) {
    case 'number':
      return Number.isSafeInteger(v) ? BigInt(v) : v;
    case 'object': {
      if (v === null) return v;
      if (Array.isArray(v)) {
        const out = new Array<unknown>(v.length);
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          out[i] = x === undefined ? null : toCelValue(x);
        }
        return out;
      }
      const ctor = (v as object).constructor;
      if (ctor !== Object && ctor !== undefined) return v;
      const obj = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k in obj) {
        if (!Object.hasOwn(obj, k)) continue;
        const x = obj[k];
        if (x === undefined) continue;
        if (k === '__proto__') Object.defineProperty(out, k, { value: toCelValue(x), enumerable: true, writable: true, configurable: true });
        else out[k] = toCelValue(x);
      }
      return out;
    }
    default:
      return v;
  }
}

/** An AST node as @marcbachmann/cel-js builds it (only what is read here). */
interface AstNode {
  op: string;
  args: unknown;
}

function isAstNode(v: unknown): v is AstNode {
  return typeof v === 'object' && v !== null && typeof (v as { op?: unknown }).op === 'string' && 'args' in v;
}

/** `resource.configuration`, exactly. */
function isConfigurationSelect(n: unknown): boolean {
  if (!isAstNode(n) || n.op !== '.') return false;
  const [target, field] = n.args as [unknown, unknown];
  return field === 'configuration' && isAstNode(target) && target.op === 'id' && target.args === 'resource';
}

/**
 * The configuration keys an expression reads, when it reads the
 * configuration only as `resource.configuration.KEY` or
 * `resource.configuration['KEY']`; undefined when it uses the configuration
 * (or `resource`) in any other way — as a whole, by a computed key, or a
 * variable of a macro named `resource` — and so needs all of it.
 */
function configurationKeys(ast: unknown): string[] | undefined {
  const keys = new Set<string>();
  let whole = false;
  const visit = (v: unknown): void => {
    if (whole) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x);
      return;
    }
    if (!isAstNode(v)) return;
    if (v.op === 'id') {
      if (v.args === 'resource') whole = true;
      return;
    }
    if ((v.op === '.' || v.op === '[]') && Array.isArray(v.args)) {
      const [target, key] = v.args as [unknown, unknown];
      if (isConfigurationSelect(target)) {
        if (v.op === '.' && typeof key === 'string') return void keys.add(key);
        if (isAstNode(key) && key.op === 'value' && typeof key.args === 'string') return void keys.add(key.args);
        whole = true;
        return;
      }
      if (v.op === '.' && isAstNode(target) && target.op === 'id' && target.args === 'resource') {
        if (key === 'configuration') whole = true; // the configuration itself, not one of its keys
        return;
      }
    }
    visit(v.args);
  };
  visit(ast);
  return whole ? undefined : [...keys];
}

/** The part of a configuration an expression reads, converted; see configurationKeys. */
function configurationSubset(configuration: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const x = Object.hasOwn(configuration, k) ? configuration[k] : undefined;
    if (x === undefined) continue;
    if (k === '__proto__') Object.defineProperty(out, k, { value: toCelValue(x), enumerable: true, writable: true, configurable: true });
    else out[k] = toCelValue(x);
  }
  return out;
}

/** Parses and type-checks once; throws CelCompileError naming the position. */
export function compileCelRule(expression: string): CompiledCelRule {
  let program: ReturnType<typeof env.parse>;
  try {
    program = env.parse(expression);
  } catch (err) {
    throw compileError(expression, err);
  }
  const checked = program.check();
  if (!checked.valid) throw compileError(expression, checked.error);
  if (!acceptableResultType(checked.type)) {
    throw new CelCompileError(
      expression,
      `the expression is of type ${checked.type}; a rule must return ${EXPECTED}`,
      positionAt(expression, expression.length - expression.trimStart().length),
    );
  }
  const short = shortExpression(expression);
  // Converting a whole configuration costs more than evaluating most
  // expressions, so only the keys the expression reads are converted when
  // that is all it can observe.
  const keys = configurationKeys(program.ast);
  return {
    expression,
    evaluate(input, parameters) {
      const resource = new CelResource(
        keys ? configurationSubset(input.configuration, keys) : (toCelValue(input.configuration) as Record<string, unknown>),
        input.tags,
        input.resourceType,
        input.resourceId,
        input.resourceName,
        input.accountId,
        input.regionId,
      );
      let value: unknown;
      try {
        value = program({ resource, parameters });
      } catch (err) {
        const range = isLibraryError(err) ? err.range : undefined;
        const where = range ? (({ line, column }) => ` (line ${line}, column ${column})`)(positionAt(expression, range.start)) : '';
        throw new Error(`CEL evaluation failed: ${summaryOf(err)}${where}`, { cause: err });
      }
      return verdictOf(value, short);
    },
  };
}
