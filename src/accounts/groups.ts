/**
 * Account groups (the clouds' aggregators): a named set of an organization's
 * accounts — listed explicitly, a folder (with its sub-folders), or the whole
 * organization — that rules are scoped to. Only the organization's management
 * account or a delegated administrator may own one; rules in the group are
 * evaluated and remediated from the owner.
 *
 * Members are stored as declared and resolved against the organization when
 * asked, so an account moved into a folder joins the folder's groups without
 * a change here. The store emits 'changed' (with the group names) after every
 * write, so the evaluator re-resolves memberships and re-evaluates the rules
 * scoped to the changed groups.
 */
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Db, Queryable } from '../store/index.js';
import type { Organization } from '../providers/index.js';
import { RuleValidationError, type RuleSpec } from '../rules/model.js';
import { ConfixError } from '../errors.js';

export type AccountGroupMembers = { accounts: string[] } | { folder: string } | { organization: true };

/** A group as written and stored (validated, folder given as its path). */
export interface AccountGroupSpec {
  name: string;
  description: string;
  ownerAccountId: string;
  members: AccountGroupMembers;
  /** The role discovery assumes in each member account (a role name every member has). */
  readRole?: string;
}

export interface AccountGroup extends AccountGroupSpec {
  origin: 'api' | 'policy';
  createdAt: string;
  updatedAt: string;
}

/** Where the organization comes from: the sandbox cloud (or, later, a real cloud's directory). */
export interface OrganizationSource {
  organization(): Promise<Organization | null>;
}

export interface GroupIssue {
  path: (string | number)[];
  message: string;
}

/** A group refused as given; `issues` name each field that is wrong. */
export class AccountGroupValidationError extends ConfixError {
  constructor(
    readonly groupName: string | undefined,
    override readonly issues: GroupIssue[],
  ) {
    super(
      'InvalidAccountGroup',
      'invalid',
      `account group${groupName ? ` ${groupName}` : ''} is invalid: ` + issues.map((i) => `${i.path.join('.') || '(group)'}: ${i.message}`).join('; '),
      { issues },
    );
  }
  /** The first field at fault ("members", "ownerAccountId", …). */
  get field(): string {
    return String(this.issues[0]?.path[0] ?? '');
  }
}

export class AccountGroupNotFoundError extends ConfixError {
  constructor(readonly groupName: string) {
    super('AccountGroupNotFound', 'not_found', `no account group named "${groupName}"`);
  }
}

export class AccountGroupInUseError extends ConfixError {
  constructor(
    readonly groupName: string,
    readonly rules: string[],
  ) {
    super(
      'AccountGroupInUse',
      'conflict',
      `account group "${groupName}" is used by rule${rules.length === 1 ? '' : 's'} ${rules.join(', ')}; ` +
        `scope ${rules.length === 1 ? 'that rule' : 'those rules'} to other accounts or delete ${rules.length === 1 ? 'it' : 'them'} first`,
      { details: { rules } },
    );
  }
}

export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ACCOUNT_ID = /^\d{12}$/;
const ROLE_NAME = /^[A-Za-z0-9_.+=,@-]{1,64}$/;
const MEMBERS_FORMS = 'one of { accounts: [ACCOUNT_ID, …] }, { folder: PATH_OR_NAME } or { organization: true }';

const accountId = z.string().regex(ACCOUNT_ID, 'a 12-digit account id (quote it in YAML: "100931896542")');

/** Members as written: exactly one of the three forms, each checked with a path to what is wrong. */
const membersSchema = z.unknown().transform((v, ctx): AccountGroupMembers => {
  const fail = (message: string, path: (string | number)[] = []) => {
    ctx.addIssue({ code: 'custom', message, path });
    return z.NEVER;
  };
  if (v === undefined || v === null) return fail(`required: ${MEMBERS_FORMS}`);
  if (typeof v !== 'object' || Array.isArray(v)) return fail(MEMBERS_FORMS);
  const keys = Object.keys(v);
  if (keys.length !== 1) return fail(`${keys.length ? `${keys.join(' and ')}: give only` : 'give'} ${MEMBERS_FORMS}`);
  const m = v as Record<string, unknown>;
  if ('accounts' in m) {
    const list = m.accounts;
    if (!Array.isArray(list) || list.length === 0) return fail('a list of at least one account id', ['accounts']);
    const seen = new Set<string>();
    let bad = false;
    list.forEach((a, i) => {
      if (typeof a !== 'string' || !ACCOUNT_ID.test(a)) {
        bad = true;
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(a)} is not a 12-digit account id (quote it in YAML: "100931896542")`,
          path: ['accounts', i],
        });
      } else if (seen.has(a)) {
        bad = true;
        ctx.addIssue({ code: 'custom', message: `account ${a} is listed twice`, path: ['accounts', i] });
      }
      if (typeof a === 'string') seen.add(a);
    });
    return bad ? z.NEVER : { accounts: [...seen].sort() };
  }
  if ('folder' in m) {
    if (typeof m.folder !== 'string' || !m.folder.trim()) return fail('a folder path like "production/web", or a folder name', ['folder']);
    return { folder: m.folder.trim().replace(/^\/+|\/+$/g, '') };
  }
  if ('organization' in m) {
    if (m.organization !== true) return fail('true: every account of the organization', ['organization']);
    return { organization: true };
  }
  return fail(`unknown form "${keys[0]}": ${MEMBERS_FORMS}`, [keys[0]!]);
});

/** The shape of a group as people write it (API bodies, policy files). */
export const accountGroupSchema = z.strictObject({
  name: z.string().regex(GROUP_NAME, 'a name of letters, digits, ".", "_" and "-" (at most 128)'),
  description: z.string().max(1000, 'at most 1000 characters').default(''),
  ownerAccountId: accountId.optional(),
  members: membersSchema,
  readRole: z.string().regex(ROLE_NAME, 'a role name (letters, digits and _.+=,@-, at most 64) that each member account has').optional(),
});

export type AccountGroupInput = z.input<typeof accountGroupSchema>;

const ROLE_ADVICE = 'only the management account or a delegated administrator may own an account group';

function describeAdmins(org: Organization): string {
  const d = org.delegatedAdministrators;
  return `the management account is ${org.managementAccount}; delegated administrators: ${d.length ? d.join(', ') : 'none'}`;
}

/** The folder a group names, by path or (when unique) by name; a string when there is no such folder. */
function findFolder(org: Organization, given: string): { path: string } | string {
  if (org.folders.some((f) => f.path === given)) return { path: given };
  const byName = org.folders.filter((f) => f.name === given);
  if (byName.length === 1) return { path: byName[0]!.path };
  if (byName.length > 1) return `folder name "${given}" is ambiguous (${byName.map((f) => f.path).join(', ')}); give its path`;
  const known = org.folders.map((f) => f.path);
  return `no folder "${given}" in the organization; its folders are ${known.length ? known.join(', ') : '(none)'}`;
}

/**
 * Checks a group as written against the organization: the owner must
 * administer it, listed accounts must belong to it, a folder must exist.
 * Every problem is reported, each with its path.
 */
export function checkAccountGroup(raw: unknown, org: Organization | null): { spec?: AccountGroupSpec; issues: GroupIssue[] } {
  const parsed = accountGroupSchema.safeParse(raw);
  if (!parsed.success) return { issues: parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })) };
  const g = parsed.data;
  if (!org)
    return {
      issues: [
        {
          path: [],
          message:
            'there is no organization (resource directory) to group accounts of; declare one in the estate file (organization: { managementAccount: …, folders: … })',
        },
      ],
    };
  const issues: GroupIssue[] = [];
  const owner = g.ownerAccountId ?? org.managementAccount;
  if (owner !== org.managementAccount && !org.delegatedAdministrators.includes(owner)) {
    const inOrg = org.accounts.some((a) => a.accountId === owner);
    issues.push({
      path: ['ownerAccountId'],
      message: `account ${owner} ${inOrg ? 'is neither the management account nor a delegated administrator' : 'is not in the organization'}: ${ROLE_ADVICE} (${describeAdmins(org)})${inOrg ? `; register it with \`confix organization delegate ${owner}\`` : ''}`,
    });
  }
  let members = g.members;
  if ('accounts' in members) {
    const known = new Set(org.accounts.map((a) => a.accountId));
    members.accounts.forEach((a, i) => {
      if (!known.has(a)) issues.push({ path: ['members', 'accounts', i], message: `account ${a} is not in the organization` });
    });
  } else if ('folder' in members) {
    const f = findFolder(org, members.folder);
    if (typeof f === 'string') issues.push({ path: ['members', 'folder'], message: f });
    else members = { folder: f.path };
  }
  if (issues.length) return { issues };
  const spec: AccountGroupSpec = { name: g.name, description: g.description, ownerAccountId: owner, members };
  if (g.readRole) spec.readRole = g.readRole;
  return { spec, issues };
}

/** The accounts a group holds in the organization as it is now (sorted). */
export function resolveMembers(members: AccountGroupMembers, org: Organization | null): string[] {
  if (!org) return [];
  if ('organization' in members) return org.accounts.map((a) => a.accountId).sort();
  if ('folder' in members) {
    const p = members.folder;
    return org.accounts
      .filter((a) => a.folderPath !== null && (a.folderPath === p || a.folderPath.startsWith(`${p}/`)))
      .map((a) => a.accountId)
      .sort();
  }
  const known = new Set(org.accounts.map((a) => a.accountId));
  return members.accounts.filter((a) => known.has(a)).sort();
}

/**
 * What is no longer right about a stored group after the organization
 * changed (an estate reloaded, an administrator deregistered): for people.
 */
export function groupProblems(g: AccountGroupSpec, org: Organization | null): string[] {
  if (!org) return ['there is no organization any more: the group holds no accounts'];
  const out: string[] = [];
  if (g.ownerAccountId !== org.managementAccount && !org.delegatedAdministrators.includes(g.ownerAccountId))
    out.push(`owner ${g.ownerAccountId} is no longer the management account or a delegated administrator (${describeAdmins(org)})`);
  if ('folder' in g.members && !org.folders.some((f) => 'folder' in g.members && f.path === g.members.folder))
    out.push(`folder ${g.members.folder} no longer exists: the group holds no accounts`);
  if ('accounts' in g.members) {
    const known = new Set(org.accounts.map((a) => a.accountId));
    const gone = g.members.accounts.filter((a) => !known.has(a));
    if (gone.length) out.push(`account${gone.length === 1 ? '' : 's'} ${gone.join(', ')} ${gone.length === 1 ? 'is' : 'are'} no longer in the organization`);
  }
  return out;
}

/** Why a rule cannot name this group: for people, with what exists. */
export function noSuchGroup(name: string, known: string[], where = ''): string {
  return `no account group named "${name}"${where}; ${known.length ? `the groups are ${known.join(', ')}` : 'there are none yet'} (create it with \`confix account-group put ${name} …\`, or a kind: AccountGroup document)`;
}

/** The fields that make two groups different (what plan compares). */
export function groupSpecOf(g: AccountGroupSpec): AccountGroupSpec {
  const spec: AccountGroupSpec = { name: g.name, description: g.description, ownerAccountId: g.ownerAccountId, members: g.members };
  if (g.readRole) spec.readRole = g.readRole;
  return spec;
}

interface Row {
  name: string;
  description: string;
  owner_account_id: string;
  members: AccountGroupMembers;
  read_role: string | null;
  origin: 'api' | 'policy';
  created_at: Date | string;
  updated_at: Date | string;
}

function toGroup(r: Row): AccountGroup {
  const g: AccountGroup = {
    name: r.name,
    description: r.description,
    ownerAccountId: r.owner_account_id,
    members: r.members,
    origin: r.origin,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
  if (r.read_role) g.readRole = r.read_role;
  return g;
}

export class AccountGroupStore extends EventEmitter {
  constructor(
    private readonly db: Db,
    private readonly org: OrganizationSource,
  ) {
    super();
    this.setMaxListeners(100);
  }

  /** The organization as it is now (null when there is none). */
  organization(): Promise<Organization | null> {
    return this.org.organization();
  }

  /** Validates a group as written against the organization; throws AccountGroupValidationError naming every problem. */
  async validate(raw: unknown, org?: Organization | null): Promise<AccountGroupSpec> {
    const { spec, issues } = checkAccountGroup(raw, org === undefined ? await this.org.organization() : org);
    if (!spec)
      throw new AccountGroupValidationError(typeof (raw as { name?: unknown })?.name === 'string' ? (raw as { name: string }).name : undefined, issues);
    return spec;
  }

  /**
   * Creates or replaces a group (validated here). Inside a caller's
   * transaction (q), the caller announces the change with notifyChanged().
   */
  async put(raw: unknown, origin: AccountGroup['origin'] = 'api', q?: Queryable): Promise<AccountGroup & { created: boolean }> {
    const spec = await this.validate(raw);
    return this.write(spec, origin, q);
  }

  /** Writes an already validated group (policy apply validates the whole plan first). */
  async write(spec: AccountGroupSpec, origin: AccountGroup['origin'], q?: Queryable): Promise<AccountGroup & { created: boolean }> {
    const [row] = await (q ?? this.db).query<Row & { inserted: boolean }>(
      `INSERT INTO account_groups (name, description, owner_account_id, members, read_role, origin)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, owner_account_id = EXCLUDED.owner_account_id,
         members = EXCLUDED.members, read_role = EXCLUDED.read_role, origin = EXCLUDED.origin, updated_at = now()
       RETURNING *, (xmax = 0) AS inserted`,
      [spec.name, spec.description, spec.ownerAccountId, JSON.stringify(spec.members), spec.readRole ?? null, origin],
    );
    if (!q) this.notifyChanged([spec.name]);
    const { inserted, ...rest } = row!;
    return { ...toGroup(rest), created: inserted };
  }

  /** One group, or undefined. */
  async get(name: string, q: Queryable = this.db): Promise<AccountGroup | undefined> {
    const [row] = await q.query<Row>('SELECT * FROM account_groups WHERE name = $1', [name]);
    return row ? toGroup(row) : undefined;
  }

  async list(q: Queryable = this.db): Promise<AccountGroup[]> {
    return (await q.query<Row>('SELECT * FROM account_groups ORDER BY name')).map(toGroup);
  }

  /** The rules scoped to a group, by name. */
  async rulesUsing(name: string, q: Queryable = this.db): Promise<string[]> {
    const rows = await q.query<{ name: string }>(`SELECT name FROM rules WHERE scope ->> 'accountGroup' = $1 ORDER BY name`, [name]);
    return rows.map((r) => r.name);
  }

  /** Deletes a group; refused while a rule is scoped to it. */
  async remove(name: string, q?: Queryable): Promise<void> {
    const run = async (tx: Queryable) => {
      const using = await this.rulesUsing(name, tx);
      if (using.length) throw new AccountGroupInUseError(name, using);
      const rows = await tx.query('DELETE FROM account_groups WHERE name = $1 RETURNING 1', [name]);
      if (!rows.length) throw new AccountGroupNotFoundError(name);
    };
    if (q) return run(q);
    await this.db.transaction(run);
    this.notifyChanged([name]);
  }

  /** The group's member accounts in the organization as it is now. */
  async members(name: string): Promise<string[]> {
    const g = await this.get(name);
    if (!g) throw new AccountGroupNotFoundError(name);
    return resolveMembers(g.members, await this.org.organization());
  }

  /** Every group's member accounts (for the evaluator). */
  async resolveAll(): Promise<Map<string, Set<string>>> {
    const [groups, org] = await Promise.all([this.list(), this.org.organization()]);
    return new Map(groups.map((g) => [g.name, new Set(resolveMembers(g.members, org))]));
  }

  /** The groups each account belongs to (account id → group names). */
  async groupsByAccount(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const [name, members] of await this.resolveAll()) for (const a of members) out.set(a, [...(out.get(a) ?? []), name]);
    return out;
  }

  /**
   * Refuses a rule scoped to a group that does not exist (where rules are
   * created and changed through the API), as a RuleValidationError.
   */
  async checkRuleScope(spec: Pick<RuleSpec, 'name' | 'scope'>): Promise<void> {
    const name = spec.scope.accountGroup;
    if (name === undefined || (await this.get(name))) return;
    const known = (await this.list()).map((g) => g.name);
    throw new RuleValidationError(spec.name, [{ path: ['scope', 'accountGroup'], message: noSuchGroup(name, known) }]);
  }

  /** Announce changes made inside a caller's transaction (policy apply), once it committed. */
  notifyChanged(names: string[]): void {
    if (names.length) this.emit('changed', names);
  }
}
