// Policy documents as the clouds write them (ACS RAM "Version": "1", AWS IAM
// "2012-10-17" / "2008-10-17"), checked by hand rather than by a zod union so
// every problem gets the exact path and a message that says what to write.
import { z } from 'zod';
import type { Dialect } from '../errors.js';
import { parseTrustedPrincipal, type TrustedPrincipal } from './arn.js';
import { truncate } from '../../../util/text.js';

export type PolicyKind = 'permission' | 'trust';
export type Effect = 'Allow' | 'Deny';
export type PolicyVersion = '1' | '2012-10-17' | '2008-10-17';
/** A statement's Sid when it has one, else its 0-based index in Statement. */
export type StatementRef = number | string;

/** Action/NotAction or Resource/NotResource: `negated` for the Not… form. */
export interface PatternList {
  negated: boolean;
  patterns: string[];
}

/** One principal of a trust policy, understood, with the string as written (for messages). */
export type PrincipalEntry = (
  | TrustedPrincipal
  | { kind: 'service'; service: string }
  /** `"Principal": "*"`: anyone, services included ({ "RAM": "*" } / { "AWS": "*" } is `any`: any account's principal). */
  | { kind: 'anyone' }
) & { written: string };

export interface PolicyStatement {
  sid?: string;
  effect: Effect;
  action: PatternList;
  /** Absent only in trust policies. */
  resource?: PatternList;
  /** Present only in trust policies. */
  principals?: PrincipalEntry[];
}

export interface PolicyDocument {
  dialect: Dialect;
  version: PolicyVersion;
  kind: PolicyKind;
  statements: PolicyStatement[];
}

export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

export type ParseResult = { doc: PolicyDocument; issues?: undefined } | { doc?: undefined; issues: PolicyIssue[] };

const VERSIONS: Record<string, Dialect> = { '1': 'acs', '2012-10-17': 'aws', '2008-10-17': 'aws' };
const CLOUD = { acs: 'an Alibaba Cloud RAM policy', aws: 'an AWS IAM policy' } as const;
const ACCOUNT_KEY = { acs: 'RAM', aws: 'AWS' } as const;
const SERVICE_SUFFIX = { acs: /^[a-z0-9][a-z0-9.-]*\.aliyuncs\.com$/i, aws: /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/i } as const;
const SERVICE_EXAMPLE = { acs: 'fc.aliyuncs.com', aws: 'lambda.amazonaws.com' } as const;
const ACTION = /^(\*|[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+)$/;
// Minimum colon-separated parts of a resource name: acs:svc:region:account:res, arn:partition:svc:region:account:res.
const RESOURCE_PARTS = { acs: 5, aws: 6 } as const;
const NOT_SUPPORTED = "not supported by the sandbox's IAM";

type Path = (string | number)[];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// A value quoted in an issue, shortened: a document may hold a string (or an object) of any size.
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(truncate(v)) : v === undefined ? 'nothing' : truncate(JSON.stringify(v) ?? String(v)));

/** `Statement[0].Principal.RAM[1]`: the path as an operator reads it. */
export function formatIssuePath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(document)';
}

/** All issues, one per line, each with its path. */
export function formatIssues(issues: PolicyIssue[]): string {
  return issues.map((i) => `${formatIssuePath(i.path)}: ${i.message}`).join('\n');
}

/**
 * Parses and checks a policy document (a JSON value, or its text). `dialect`,
 * when given, is the cloud the policy is for: a document of the other cloud is
 * refused, and an AWS one may then omit Version (AWS reads it as "2008-10-17").
 */
export function parsePolicyDocument(json: unknown, kind: PolicyKind, opts: { dialect?: Dialect } = {}): ParseResult {
  const issues: PolicyIssue[] = [];
  const add = (path: Path, message: string) => void issues.push({ path, message });

  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (e) {
      return { issues: [{ path: [], message: `not valid JSON: ${truncate((e as Error).message, 200)}` }] };
    }
  }
  if (!isObject(json)) return { issues: [{ path: [], message: 'a policy document must be a JSON object with Version and Statement' }] };

  const version = parseVersion(json.Version, opts.dialect, add);
  const dialect = version ? VERSIONS[version]! : opts.dialect;
  for (const key of Object.keys(json)) {
    if (key === 'Version' || key === 'Statement' || (key === 'Id' && dialect !== 'acs')) continue;
    add([key], `unknown key ${show(key)}: a policy document has Version and Statement`);
  }
  if (has(json, 'Id') && typeof json.Id !== 'string') add(['Id'], 'Id must be a string');

  const raw = json.Statement;
  let list: { value: unknown; path: Path }[] = [];
  if (raw === undefined) add(['Statement'], 'Statement is required: a statement object or a list of them');
  else if (Array.isArray(raw)) {
    if (raw.length === 0) add(['Statement'], 'Statement must contain at least one statement');
    list = raw.map((value, i) => ({ value, path: ['Statement', i] }));
  } else if (isObject(raw)) list = [{ value: raw, path: ['Statement'] }];
  else add(['Statement'], 'Statement must be a statement object or a list of them');

  // Without a dialect the statements' names cannot be judged; the Version issue says why.
  if (!dialect) return { issues };
  const statements = list.map(({ value, path }) => parseStatement(value, path, kind, dialect, add));
  if (issues.length) return { issues };
  return { doc: { dialect, version: version ?? '2008-10-17', kind, statements: statements as PolicyStatement[] } };
}

/** Like parsePolicyDocument, for documents written in code: throws with every issue. */
export function parsePolicyDocumentOrThrow(json: unknown, kind: PolicyKind, opts: { dialect?: Dialect } = {}): PolicyDocument {
  const r = parsePolicyDocument(json, kind, opts);
  if (r.issues) throw new Error(`invalid ${kind} policy:\n${formatIssues(r.issues)}`);
  return r.doc;
}

const has = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k);

function parseVersion(v: unknown, expect: Dialect | undefined, add: (p: Path, m: string) => void): PolicyVersion | undefined {
  const hint = expect === 'acs' ? '"1"' : expect === 'aws' ? '"2012-10-17"' : '"1" (Alibaba Cloud RAM) or "2012-10-17" (AWS IAM)';
  if (v === undefined) {
    // AWS reads a document without Version as 2008-10-17; RAM requires it.
    if (expect !== 'aws') add(['Version'], `Version is required: ${hint}`);
    return undefined;
  }
  if (typeof v !== 'string' || !(v in VERSIONS)) {
    add(['Version'], `Version must be ${hint}, not ${show(v)}`);
    return undefined;
  }
  if (expect && VERSIONS[v] !== expect) {
    add(['Version'], `Version ${show(v)} is ${CLOUD[VERSIONS[v]!]}'s; ${CLOUD[expect]} has "Version": ${hint}`);
    return undefined;
  }
  return v as PolicyVersion;
}

function parseStatement(s: unknown, path: Path, kind: PolicyKind, dialect: Dialect, add: (p: Path, m: string) => void): PolicyStatement | undefined {
  if (!isObject(s)) {
    add(path, 'a statement must be an object with Effect, Action and ' + (kind === 'trust' ? 'Principal' : 'Resource'));
    return undefined;
  }
  const keys = ['Sid', 'Effect', 'Action', 'NotAction', 'Resource', 'NotResource', ...(kind === 'trust' ? ['Principal'] : [])];
  for (const k of Object.keys(s)) {
    if (keys.includes(k)) continue;
    if (k === 'Condition') add([...path, k], `Condition is ${NOT_SUPPORTED}; remove it`);
    else if (k === 'NotPrincipal') add([...path, k], `NotPrincipal is ${NOT_SUPPORTED}; list the trusted principals in Principal`);
    else if (k === 'Principal') add([...path, k], "Principal is not allowed in a permission policy; it belongs in a role's trust policy");
    else add([...path, k], `unknown key ${show(k)}: a statement has ${keys.join(', ')}`);
  }

  let sid: string | undefined;
  if (has(s, 'Sid')) {
    if (typeof s.Sid === 'string') sid = s.Sid;
    else add([...path, 'Sid'], 'Sid must be a string');
  }

  let effect: Effect | undefined;
  if (s.Effect === 'Allow' || s.Effect === 'Deny') effect = s.Effect;
  else if (s.Effect === undefined) add([...path, 'Effect'], 'Effect is required: "Allow" or "Deny"');
  else add([...path, 'Effect'], `Effect must be "Allow" or "Deny", not ${show(s.Effect)}`);

  const action = parsePair(
    s,
    path,
    'Action',
    true,
    (p, v) => {
      if (!ACTION.test(v)) add(p, `${show(v)} is not an action: write "*" or service:Action (ecs:DescribeInstances, ecs:Describe*)`);
    },
    add,
  );
  const resource = parsePair(s, path, 'Resource', kind === 'permission', (p, v) => checkResource(p, v, dialect, add), add);
  const principals = kind === 'trust' ? parsePrincipal(s, path, dialect, add) : undefined;

  if (!effect || !action || (kind === 'permission' && !resource) || (kind === 'trust' && !principals)) return undefined;
  const st: PolicyStatement = { effect, action };
  if (sid !== undefined) st.sid = sid;
  if (resource) st.resource = resource;
  if (principals) st.principals = principals;
  return st;
}

/** Action/NotAction or Resource/NotResource: exactly one of the two (when required), a string or a non-empty list of strings. */
function parsePair(
  s: Record<string, unknown>,
  path: Path,
  name: 'Action' | 'Resource',
  required: boolean,
  check: (p: Path, v: string) => void,
  add: (p: Path, m: string) => void,
): PatternList | undefined {
  const not = `Not${name}`;
  if (has(s, name) && has(s, not)) {
    add([...path, not], `a statement has ${name} or ${not}, not both`);
    return undefined;
  }
  const negated = has(s, not);
  const field = negated ? not : name;
  if (!has(s, field)) {
    if (required) add([...path, name], `${name} is required (or ${not})${name === 'Resource' ? ' in a permission policy' : ''}`);
    return undefined;
  }
  const patterns = stringList(s[field], [...path, field], name === 'Action' ? 'actions' : 'resource names', check, add);
  return patterns && { negated, patterns };
}

function stringList(v: unknown, path: Path, what: string, check: (p: Path, v: string) => void, add: (p: Path, m: string) => void): string[] | undefined {
  if (typeof v === 'string') {
    check(path, v);
    return [v];
  }
  if (!Array.isArray(v)) {
    add(path, `must be a string or a list of ${what}, not ${show(v)}`);
    return undefined;
  }
  if (v.length === 0) add(path, `must not be an empty list`);
  v.forEach((x, i) => {
    if (typeof x === 'string') check([...path, i], x);
    else add([...path, i], `must be a string, not ${show(x)}`);
  });
  return v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

function checkResource(path: Path, v: string, dialect: Dialect, add: (p: Path, m: string) => void): void {
  if (v === '*') return;
  const form = dialect === 'acs' ? 'acs:<service>:<region>:<account>:<resource>' : 'arn:aws:<service>:<region>:<account>:<resource>';
  if (v.includes('${')) add(path, `policy variables (\${…}) are ${NOT_SUPPORTED}`);
  else if (dialect === 'acs' && v.startsWith('arn:')) add(path, `${show(v)} is an AWS ARN; ${CLOUD.acs} names resources as ${form}`);
  else if (dialect === 'aws' && v.startsWith('acs:')) add(path, `${show(v)} is an Alibaba Cloud resource name; ${CLOUD.aws} names resources as ${form}`);
  else if (!v.startsWith(dialect === 'acs' ? 'acs:' : 'arn:') || (!v.endsWith('*') && v.split(':').length < RESOURCE_PARTS[dialect]))
    add(path, `${show(v)} is not a resource name: write "*" or ${form} (wildcards * and ? allowed)`);
}

function parsePrincipal(s: Record<string, unknown>, path: Path, dialect: Dialect, add: (p: Path, m: string) => void): PrincipalEntry[] | undefined {
  const p = [...path, 'Principal'];
  const v = s.Principal;
  const accountKey = ACCOUNT_KEY[dialect];
  const shape = `{ "${accountKey}": [...] } or { "Service": [...] }`;
  if (v === undefined) {
    add(p, `Principal is required in a trust policy: who may assume the role, as "*" or ${shape}`);
    return undefined;
  }
  if (v === '*') return [{ kind: 'anyone', written: '*' }];
  if (!isObject(v)) {
    add(p, `Principal must be "*" or ${shape}, not ${show(v)}`);
    return undefined;
  }
  const keys = Object.keys(v);
  if (keys.length === 0) add(p, `Principal must name at least one principal: ${shape}`);
  const out: PrincipalEntry[] = [];
  let ok = keys.length > 0;
  for (const k of keys) {
    const kp = [...p, k];
    if (k === accountKey) {
      const list = stringList(
        v[k],
        kp,
        'principals',
        (ip, x) => {
          const t = parseTrustedPrincipal(dialect, x);
          if (t) out.push({ ...t, written: x });
          else {
            ok = false;
            add(ip, `${show(x)} is not a ${accountKey} principal: ${accountPrincipalForms(dialect)}`);
          }
        },
        add,
      );
      ok &&= list !== undefined;
    } else if (k === 'Service') {
      const list = stringList(
        v[k],
        kp,
        'service principals',
        (ip, x) => {
          if (SERVICE_SUFFIX[dialect].test(x)) out.push({ kind: 'service', service: x, written: x });
          else {
            ok = false;
            add(ip, `${show(x)} is not a service principal: write a service's name, like ${SERVICE_EXAMPLE[dialect]}`);
          }
        },
        add,
      );
      ok &&= list !== undefined;
    } else {
      ok = false;
      const other = ACCOUNT_KEY[dialect === 'acs' ? 'aws' : 'acs'];
      if (k === other) add(kp, `"${other}" is the other cloud's principal key; ${CLOUD[dialect]} names accounts and roles under "${accountKey}"`);
      else if (k === 'Federated' || k === 'CanonicalUser') add(kp, `${k} principals are ${NOT_SUPPORTED}`);
      else add(kp, `unknown principal key ${show(k)}: ${shape}`);
    }
  }
  return ok ? out : undefined;
}

function accountPrincipalForms(dialect: Dialect): string {
  return dialect === 'acs'
    ? 'write "*", acs:ram::<account id>:root, acs:ram::<account id>:role/<role name> or acs:ram::<account id>:assumed-role/<role name>/<session> (account ids are digits)'
    : 'write "*", an account id, arn:aws:iam::<account id>:root, arn:aws:iam::<account id>:role/<role name> or arn:aws:sts::<account id>:assumed-role/<role name>/<session> (account ids are digits)';
}

/**
 * The same check as a zod schema, for embedding in estate or API schemas:
 * issues keep their paths (below the field's own) and messages.
 */
export function policyDocumentSchema(kind: PolicyKind, opts: { dialect?: Dialect } = {}): z.ZodType<PolicyDocument, unknown> {
  return z.unknown().transform((v, ctx) => {
    const r = parsePolicyDocument(v, kind, opts);
    if (!r.issues) return r.doc;
    for (const i of r.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  });
}
