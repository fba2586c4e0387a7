// Deciding a request against parsed policies, the way both clouds do:
// an explicit Deny anywhere wins, else any Allow allows, else it is denied.
import type { Dialect } from '../errors.js';
import type { Principal } from './arn.js';
import type { PatternList, PolicyDocument, PolicyStatement, PrincipalEntry, StatementRef } from './document.js';

export type PermissionDecision =
  | { decision: 'Allow'; policy: string; statement: StatementRef }
  | { decision: 'ExplicitDeny'; policy: string; statement: StatementRef }
  | { decision: 'ImplicitDeny'; policy?: undefined; statement?: undefined };

export type TrustDecision =
  | { allowed: true; allowedBy: StatementRef; deniedBy?: undefined }
  /** deniedBy: the trust policy's Deny statement that refused; absent when no statement allowed. */
  | { allowed: false; allowedBy?: undefined; deniedBy?: StatementRef };

// Wildcards: `*` is any run of characters (none included), `?` exactly one;
// every other character is itself. Matched without RegExp, by the classic
// greedy two-pointer algorithm that, on a mismatch, goes back only to the
// last `*` seen: O(pattern × text) at worst, linear in the text for a given
// pattern (a RegExp of `.*` groups backtracks polynomially: a 60,000-character
// id against `acs:ecs:*:*:securitygroup/sg-prod-*` took seconds). Characters
// are UTF-16 code units; case-insensitivity is JavaScript's RegExp `i`
// without `u` (the ES Canonicalize: upper-case when that is one code unit and
// does not turn a non-ASCII character into an ASCII one), as it was when this
// was a RegExp with flags `is`.

const STAR = 0x2a;
const QUESTION = 0x3f;

let canonTable: Uint16Array | undefined;

/** ES Canonicalize(ch) for ignoreCase without unicode, as a table over all code units (built once, on first non-ASCII use). */
function canonical(c: number): number {
  if (c < 128) return c >= 0x61 && c <= 0x7a ? c - 32 : c;
  if (!canonTable) {
    const t = new Uint16Array(65536);
    for (let x = 0; x < 65536; x++) {
      const u = String.fromCharCode(x).toUpperCase();
      const cu = u.length === 1 ? u.charCodeAt(0) : x;
      t[x] = x >= 128 && cu < 128 ? x : cu;
    }
    canonTable = t;
  }
  return canonTable[c]!;
}

/** Whether `text` matches the wildcard `pattern` as a whole. */
export function wildcardMatch(pattern: string, text: string, caseInsensitive: boolean): boolean {
  const pn = pattern.length;
  const tn = text.length;
  let p = 0;
  let t = 0;
  let star = -1; // position of the last * in the pattern
  let resume = 0; // where in the text that * resumes when what follows it fails
  while (t < tn) {
    if (p < pn) {
      const pc = pattern.charCodeAt(p);
      if (pc === STAR) {
        star = p++;
        resume = t;
        continue;
      }
      const tc = text.charCodeAt(t);
      if (pc === QUESTION || pc === tc || (caseInsensitive && canonical(pc) === canonical(tc))) {
        p++;
        t++;
        continue;
      }
    }
    if (star < 0) return false;
    // Let the last * take one more character, and try the rest again from there.
    p = star + 1;
    t = ++resume;
  }
  while (p < pn && pattern.charCodeAt(p) === STAR) p++;
  return p === pn;
}

/** Actions match case-insensitively (ECS:describeinstances is ecs:DescribeInstances), with * and ?. */
export function actionMatches(pattern: string, action: string): boolean {
  return pattern === '*' || wildcardMatch(pattern, action, true);
}

/**
 * Resource names match with * and ? (a * spans colons and slashes, as in both
 * clouds). AWS ARNs are case-sensitive. ACS names are matched case-insensitively:
 * RAM treats role names case-insensitively and shows them lower-cased, and the
 * sandbox's other ACS ids are lower-case already, so nothing is lost.
 */
export function resourceMatches(pattern: string, resource: string, dialect: Dialect): boolean {
  return pattern === '*' || wildcardMatch(pattern, resource, dialect === 'acs');
}

function listApplies(list: PatternList, test: (p: string) => boolean): boolean {
  return list.patterns.some(test) !== list.negated;
}

const ref = (s: PolicyStatement, i: number): StatementRef => s.sid ?? i;

/** Identity-based evaluation of one request against the policies attached to the caller. */
export function evaluatePermissions(policies: { name: string; doc: PolicyDocument }[], request: { action: string; resource: string }): PermissionDecision {
  let allow: PermissionDecision | undefined;
  for (const { name, doc } of policies) {
    if (doc.kind !== 'permission') throw new Error(`policy ${name} is a trust policy; evaluatePermissions takes permission policies`);
    for (const [i, s] of doc.statements.entries()) {
      if (!listApplies(s.action, (p) => actionMatches(p, request.action))) continue;
      if (!listApplies(s.resource!, (p) => resourceMatches(p, request.resource, doc.dialect))) continue;
      if (s.effect === 'Deny') return { decision: 'ExplicitDeny', policy: name, statement: ref(s, i) };
      allow ??= { decision: 'Allow', policy: name, statement: ref(s, i) };
    }
  }
  return allow ?? { decision: 'ImplicitDeny' };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Role names compare case-insensitively in both clouds (names are unique regardless of case); session names exactly. */
function principalMatches(e: PrincipalEntry, who: Principal): boolean {
  switch (e.kind) {
    case 'anyone':
      return true;
    case 'any':
      return who.type !== 'service';
    case 'account':
      // The account's root trusts every identity of that account; whether the
      // identity may call sts:AssumeRole is its own permission policies' business.
      return who.type !== 'service' && who.accountId === e.accountId;
    case 'role':
      return who.type === 'role' && who.accountId === e.accountId && same(who.roleName, e.roleName);
    case 'session':
      return who.type === 'role' && who.accountId === e.accountId && same(who.roleName, e.roleName) && who.sessionName === e.sessionName;
    case 'service':
      return who.type === 'service' && same(who.service, e.service);
  }
}

/**
 * Whether a role's trust policy lets `principal` assume it (sts:AssumeRole).
 * A statement with a Resource is matched against `opts.roleArn`; without one,
 * such an Allow is not counted and such a Deny is, so leaving it out never grants more.
 */
export function trustAllows(trust: PolicyDocument, principal: Principal, opts: { roleArn?: string } = {}): TrustDecision {
  if (trust.kind !== 'trust') throw new Error('trustAllows takes a trust policy');
  let allowedBy: StatementRef | undefined;
  for (const [i, s] of trust.statements.entries()) {
    if (!listApplies(s.action, (p) => actionMatches(p, 'sts:AssumeRole'))) continue;
    if (s.resource) {
      const { roleArn } = opts;
      const applies = roleArn === undefined ? s.effect === 'Deny' : listApplies(s.resource, (p) => resourceMatches(p, roleArn, trust.dialect));
      if (!applies) continue;
    }
    if (!s.principals!.some((e) => principalMatches(e, principal))) continue;
    if (s.effect === 'Deny') return { allowed: false, deniedBy: ref(s, i) };
    allowedBy ??= ref(s, i);
  }
  return allowedBy === undefined ? { allowed: false } : { allowed: true, allowedBy };
}
