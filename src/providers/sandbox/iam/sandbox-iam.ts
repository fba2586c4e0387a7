/**
 * The sandbox cloud's IAM, enforced on every call made with credentials:
 * who the caller is (an account's own access key, or a session from
 * AssumeRole), whether its policies allow the action on the resource, and
 * AssumeRole itself, which checks both the caller's permission and the role's
 * trust policy and hands out short-lived credentials. Secrets are stored only
 * as hashes; each is shown once, when it is made.
 */
import type { ProviderCredentials } from '../../types.js';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, Queryable } from '../../../store/index.js';
import { SandboxError, type Dialect } from '../errors.js';
import type { Estate, NormalizedOrganization } from '../estate.js';
import { writeDirectory } from '../directory.js';
import { describeDenial, evaluatePermissions, parsePolicyDocumentOrThrow, trustAllows, type PermissionDecision, type TrustDecision } from './policy.js';
import { parseRoleArn, principalArn, roleArn, type Principal } from './arn.js';
import { truncate } from '../../../util/text.js';
import { ARN_MAX } from './denial.js';

/** A policy document as written (kept so that it shows as the operator wrote it). */
export type PolicyJson = Record<string, unknown>;

function denied(dialect: Dialect, action: string, resource: string, principal: Principal, decision: PermissionDecision | TrustDecision): SandboxError {
  const d = describeDenial({ dialect, action, resource, principal, decision });
  return new SandboxError(d.code, d.message, d.status);
}

/** Nobody acts in another account with its own credentials: it assumes a role there. */
function crossAccount(dialect: Dialect, action: string, resource: string, principal: Principal): SandboxError {
  const who = truncate(principalArn(principal, dialect), ARN_MAX);
  const [act, res] = [truncate(action), truncate(resource, ARN_MAX)];
  return dialect === 'acs'
    ? new SandboxError(
        'NoPermission',
        `You are not authorized to do this action. Action: ${act}, Resource: ${res}, Principal: ${who}, reason: the resource belongs to another account; assume a role in that account`,
        403,
      )
    : new SandboxError(
        action.startsWith('ec2:') ? 'UnauthorizedOperation' : 'AccessDenied',
        `User: ${who} is not authorized to perform: ${act} on resource: ${res} because the resource belongs to another account; assume a role in that account`,
        403,
      );
}

/** An access key, or the temporary credentials AssumeRole returns (with their security token). */
export type Credentials = ProviderCredentials;

import type { AssumedCredentials } from '../../types.js';
export type { AssumedCredentials };

export const hashSecret = (s: string) => createHash('sha256').update(s).digest('hex');

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

const MIN_SESSION_SECONDS = 900;

export class SandboxIam {
  constructor(private readonly db: Db) {}

  /** Writes the estate's organization, access keys, policies and roles (in the load's transaction). */
  async load(tx: Queryable, accounts: Estate['accounts'], organization: NormalizedOrganization | undefined): Promise<void> {
    for (const a of accounts) {
      for (const k of a.accessKeys)
        await tx.query(
          `INSERT INTO sandbox_access_keys (access_key_id, account_id, secret_hash) VALUES ($1, $2, $3)
           ON CONFLICT (access_key_id) DO UPDATE SET account_id = EXCLUDED.account_id, secret_hash = EXCLUDED.secret_hash`,
          [k.accessKeyId, a.id, hashSecret(k.accessKeySecret)],
        );
      // validateEstate has parsed and checked the documents already.
      for (const p of a.iam.policies) await this.putPolicy(a.id, p.name, p.document as PolicyJson, tx);
      for (const r of a.iam.roles)
        await this.putRole(
          a.id,
          { name: r.name, trustPolicy: r.trustPolicy as PolicyJson, policies: r.policies, maxSessionDuration: r.maxSessionDuration },
          tx,
        );
    }
    if (organization) await writeDirectory(tx, organization);
  }

  /** Creates or replaces a permission policy (a new version when its document changes). */
  async putPolicy(accountId: string, name: string, document: PolicyJson, q: Queryable = this.db): Promise<void> {
    await q.query(
      `INSERT INTO sandbox_iam_policies (account_id, name, document) VALUES ($1, $2, $3)
       ON CONFLICT (account_id, name) DO UPDATE SET document = EXCLUDED.document, version = sandbox_iam_policies.version + 1, updated_at = now()
         WHERE sandbox_iam_policies.document IS DISTINCT FROM EXCLUDED.document`,
      [accountId, name, JSON.stringify(document)],
    );
  }

  async putRole(
    accountId: string,
    r: { name: string; trustPolicy: PolicyJson; policies: string[]; maxSessionDuration?: number },
    q: Queryable = this.db,
  ): Promise<void> {
    await q.query(
      `INSERT INTO sandbox_iam_roles (account_id, name_key, name, trust_policy, policies, max_session_seconds) VALUES ($1, lower($2), $2, $3, $4, $5)
       ON CONFLICT (account_id, name_key) DO UPDATE SET name = EXCLUDED.name, trust_policy = EXCLUDED.trust_policy, policies = EXCLUDED.policies,
         max_session_seconds = EXCLUDED.max_session_seconds, updated_at = now()`,
      [accountId, r.name, JSON.stringify(r.trustPolicy), r.policies, r.maxSessionDuration ?? 3600],
    );
  }

  async policy(accountId: string, name: string): Promise<{ document: PolicyJson; version: number } | undefined> {
    const [r] = await this.db.query<{ document: PolicyJson; version: number }>(
      'SELECT document, version FROM sandbox_iam_policies WHERE account_id = $1 AND name = $2',
      [accountId, name],
    );
    return r;
  }

  async roles(accountId?: string): Promise<{ accountId: string; name: string; policies: string[]; trustPolicy: PolicyJson; maxSessionDuration: number }[]> {
    const rows = await this.db.query<{ account_id: string; name: string; policies: string[]; trust_policy: PolicyJson; max_session_seconds: number }>(
      `SELECT account_id, name, policies, trust_policy, max_session_seconds FROM sandbox_iam_roles ${accountId ? 'WHERE account_id = $1' : ''} ORDER BY account_id, name_key`,
      accountId ? [accountId] : [],
    );
    return rows.map((r) => ({
      accountId: r.account_id,
      name: r.name,
      policies: r.policies,
      trustPolicy: r.trust_policy,
      maxSessionDuration: r.max_session_seconds,
    }));
  }

  async policies(accountId?: string): Promise<{ accountId: string; name: string; version: number; document: PolicyJson }[]> {
    const rows = await this.db.query<{ account_id: string; name: string; version: number; document: PolicyJson }>(
      `SELECT account_id, name, version, document FROM sandbox_iam_policies ${accountId ? 'WHERE account_id = $1' : ''} ORDER BY account_id, name`,
      accountId ? [accountId] : [],
    );
    return rows.map((r) => ({ accountId: r.account_id, name: r.name, version: r.version, document: r.document }));
  }

  /** Who holds these credentials; refuses unknown keys, wrong secrets and expired sessions in the cloud's words. */
  async authenticate(c: Credentials, dialect: Dialect): Promise<Principal> {
    if (c.securityToken !== undefined) {
      const [s] = await this.db.query<{
        secret_hash: string;
        token_hash: string;
        account_id: string;
        role_name: string;
        session_name: string;
        expires_at: Date;
      }>('SELECT secret_hash, token_hash, account_id, role_name, session_name, expires_at FROM sandbox_sessions WHERE access_key_id = $1', [c.accessKeyId]);
      if (!s || !sameHash(s.secret_hash, hashSecret(c.accessKeySecret)) || !sameHash(s.token_hash, hashSecret(c.securityToken)))
        throw dialect === 'acs'
          ? new SandboxError('InvalidSecurityToken.Malformed', 'The security token you provided is invalid.', 400)
          : new SandboxError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
      if (new Date(s.expires_at) <= new Date())
        throw dialect === 'acs'
          ? new SandboxError('InvalidSecurityToken.Expired', `The security token you provided has expired (at ${new Date(s.expires_at).toISOString()}).`, 400)
          : new SandboxError('ExpiredToken', `The security token included in the request is expired (at ${new Date(s.expires_at).toISOString()}).`, 400);
      return { type: 'role', accountId: s.account_id, roleName: s.role_name, sessionName: s.session_name };
    }
    const [k] = await this.db.query<{ account_id: string; secret_hash: string }>(
      'SELECT account_id, secret_hash FROM sandbox_access_keys WHERE access_key_id = $1',
      [c.accessKeyId],
    );
    if (!k)
      throw dialect === 'acs'
        ? new SandboxError('InvalidAccessKeyId.NotFound', `Specified access key is not found: ${truncate(c.accessKeyId)}.`, 404)
        : new SandboxError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    if (!sameHash(k.secret_hash, hashSecret(c.accessKeySecret)))
      throw new SandboxError(
        'SignatureDoesNotMatch',
        `The request signature does not conform to the cloud's standards: the secret does not match access key ${truncate(c.accessKeyId)}.`,
        400,
      );
    return { type: 'root', accountId: k.account_id };
  }

  /**
   * May this principal do `action` on `resource` (an ARN in `accountId`)?
   * An account's own credentials may do anything in it; a role what its
   * policies allow; nobody acts in another account without assuming a role there.
   */
  async authorize(principal: Principal, action: string, resource: { arn: string; accountId: string }, dialect: Dialect): Promise<void> {
    if (principal.type === 'service' || principal.accountId !== resource.accountId) throw crossAccount(dialect, action, resource.arn, principal);
    if (principal.type === 'root') return;
    const verdict = await this.evaluateRole(principal.accountId, principal.roleName, action, resource.arn);
    if (verdict.decision !== 'Allow') throw denied(dialect, action, resource.arn, principal, verdict);
  }

  private async evaluateRole(accountId: string, roleName: string, action: string, resource: string) {
    const rows = await this.db.query<{ name: string; document: PolicyJson }>(
      `SELECT p.name, p.document FROM sandbox_iam_roles r JOIN sandbox_iam_policies p ON p.account_id = r.account_id AND p.name = ANY(r.policies)
       WHERE r.account_id = $1 AND r.name_key = lower($2)`,
      [accountId, roleName],
    );
    return evaluatePermissions(
      rows.map((r) => ({ name: r.name, doc: parsePolicyDocumentOrThrow(r.document, 'permission') })),
      { action, resource },
    );
  }

  /**
   * AssumeRole: the caller must be allowed sts:AssumeRole on the role (an
   * account's own credentials always are), and the role's trust policy must
   * trust the caller. The session lasts `durationSeconds` (900 up to the
   * role's maximum; default 3600 or that maximum if lower).
   */
  async assumeRole(caller: Principal, req: { roleArn: string; sessionName: string; durationSeconds?: number }, dialect: Dialect): Promise<AssumedCredentials> {
    const target = parseRoleArn(req.roleArn);
    if (!target)
      throw new SandboxError(
        dialect === 'acs' ? 'InvalidParameter.RoleArn' : 'ValidationError',
        `"${truncate(req.roleArn, ARN_MAX)}" is not a role ARN (acs:ram::ACCOUNT:role/NAME or arn:aws:iam::ACCOUNT:role/NAME).`,
        400,
      );
    if (!/^[A-Za-z0-9_.@=,-]{2,64}$/.test(req.sessionName))
      throw new SandboxError(
        dialect === 'acs' ? 'InvalidParameter.RoleSessionName' : 'ValidationError',
        `RoleSessionName "${truncate(req.sessionName)}" must be 2 to 64 letters, digits or _.@=,-.`,
        400,
      );
    const [role] = await this.db.query<{ name: string; trust_policy: PolicyJson; max_session_seconds: number }>(
      'SELECT name, trust_policy, max_session_seconds FROM sandbox_iam_roles WHERE account_id = $1 AND name_key = lower($2)',
      [target.accountId, target.roleName],
    );
    const arn = roleArn(dialect, target.accountId, role?.name ?? target.roleName);
    // The caller's own permission first (as the clouds check it), then the trust.
    if (caller.type === 'role') {
      const verdict = await this.evaluateRole(caller.accountId, caller.roleName, 'sts:AssumeRole', arn);
      if (verdict.decision !== 'Allow') throw denied(dialect, 'sts:AssumeRole', arn, caller, verdict);
    }
    if (!role)
      throw dialect === 'acs'
        ? new SandboxError('EntityNotExist.Role', `The role ${truncate(arn, ARN_MAX)} does not exist.`, 404)
        : new SandboxError('NoSuchEntity', `The role with name ${truncate(target.roleName)} cannot be found in account ${target.accountId}.`, 404);
    const trust = trustAllows(parsePolicyDocumentOrThrow(role.trust_policy, 'trust'), caller, { roleArn: arn });
    if (!trust.allowed) throw denied(dialect, 'sts:AssumeRole', arn, caller, trust);
    const max = role.max_session_seconds;
    const duration = req.durationSeconds ?? Math.min(3600, max);
    if (duration < MIN_SESSION_SECONDS || duration > max)
      throw new SandboxError(
        dialect === 'acs' ? 'InvalidParameter.DurationSeconds' : 'ValidationError',
        `DurationSeconds ${duration} must be between ${MIN_SESSION_SECONDS} and the role's maximum session duration, ${max}.`,
        400,
      );
    const creds = {
      accessKeyId: `STS.${randomBytes(12).toString('hex').toUpperCase()}`,
      accessKeySecret: randomBytes(24).toString('base64url'),
      securityToken: `CAIS${randomBytes(48).toString('base64url')}`,
      expiration: new Date(Date.now() + duration * 1000).toISOString(),
      assumedRoleArn: principalArn({ type: 'role', accountId: target.accountId, roleName: role.name, sessionName: req.sessionName }, dialect),
    };
    await this.db.query(
      `INSERT INTO sandbox_sessions (access_key_id, secret_hash, token_hash, account_id, role_name, session_name, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [creds.accessKeyId, hashSecret(creds.accessKeySecret), hashSecret(creds.securityToken), target.accountId, role.name, req.sessionName, creds.expiration],
    );
    // Old sessions go with new ones: no table grows without end.
    await this.db.query("DELETE FROM sandbox_sessions WHERE expires_at < now() - interval '1 day'");
    return creds;
  }
}
