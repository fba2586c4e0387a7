/**
 * Accounts, the organization (resource directory) and account groups
 * (aggregators): who administers what, which accounts a group holds, and the
 * group's compliance broken down by account.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { Description, Id, Name, bounded, text, errorResponses, json } from '../schemas.js';
import { LIMITS } from '../limits.js';
import { groupProblems, resolveMembers, type AccountGroup } from '../../accounts/groups.js';
import type { Organization } from '../../providers/index.js';

const ROLES = ['management', 'delegated-administrator', 'member', 'none'] as const;
type OrganizationRole = (typeof ROLES)[number];

const OrganizationSchema = z
  .object({
    managementAccount: z.string().openapi({ example: '100931896542' }),
    delegatedAdministrators: z.array(z.string()),
    folders: z.array(z.object({ path: z.string().openapi({ example: 'production/web' }), name: z.string(), parentPath: z.string().nullable() })),
    accounts: z.array(z.object({ accountId: z.string(), name: z.string(), folderPath: z.string().nullable() })),
  })
  .openapi('Organization');

const AccountSchema = z
  .object({
    accountId: z.string().openapi({ example: '178366182654' }),
    name: z.string(),
    regions: z.array(z.string()),
    resources: z.number().int().openapi({ description: 'Live resources recorded in the account' }),
    folderPath: z.string().nullable().openapi({ description: "The account's folder in the organization (null: at the root, or no organization)" }),
    organizationRole: z.enum(ROLES).openapi({ description: 'management, delegated-administrator, member, or none when there is no organization' }),
    credentials: z.boolean().openapi({ description: 'Whether confix holds an access key for the account (never shown)' }),
    groups: z.array(z.string()).openapi({ description: 'The account groups the account belongs to' }),
  })
  .openapi('Account');

const MembersSchema = z
  .union([z.object({ accounts: z.array(z.string()) }), z.object({ folder: z.string() }), z.object({ organization: z.literal(true) })])
  .openapi('AccountGroupMembers', { description: 'Listed accounts, a folder (path or name; its sub-folders count too), or the whole organization' });

const GroupSchema = z
  .object({
    name: z.string().openapi({ example: 'production' }),
    description: z.string(),
    ownerAccountId: z
      .string()
      .openapi({ description: 'The management account or a delegated administrator: rules in the group are evaluated and remediated from it' }),
    members: MembersSchema,
    readRole: z.string().optional().openapi({ description: 'The role discovery assumes in each member account' }),
    origin: z.enum(['api', 'policy']),
    createdAt: z.string(),
    updatedAt: z.string(),
    memberAccounts: z.array(z.string()).openapi({ description: 'The member accounts, resolved against the organization now' }),
    rules: z.array(z.string()).openapi({ description: 'The rules scoped to the group' }),
    problems: z
      .array(z.string())
      .openapi({ description: 'What is no longer right since the organization changed (owner no longer an administrator, folder gone, …)' }),
  })
  .openapi('AccountGroup');

const GroupInput = bounded(
  z
    .object({
      description: Description().optional(),
      ownerAccountId: Id().optional().openapi({ description: "Default: the organization's management account" }),
      members: z.unknown().openapi({
        description: '{ accounts: [ID, …] }, { folder: PATH_OR_NAME } or { organization: true }',
        example: { accounts: ['100931896542', '178366182654'] },
      }),
      readRole: text(LIMITS.text.url).optional(),
    })
    .passthrough(),
  // members is checked by the group store; here only its size.
  { fields: { members: { fields: { accounts: { items: LIMITS.list, each: LIMITS.text.id }, folder: LIMITS.text.query } } } },
).openapi('AccountGroupInput');

const CountsFields = { compliant: z.number().int(), nonCompliant: z.number().int(), notApplicable: z.number().int(), insufficientData: z.number().int() };
const RuleCounts = z.object({ ruleName: z.string(), ruleId: z.string(), ...CountsFields });
const Totals = z.object({ ...CountsFields, nonCompliantResources: z.number().int() });
const GroupComplianceSchema = z
  .object({
    group: z.string(),
    accounts: z.array(z.object({ accountId: z.string(), name: z.string().nullable(), rules: z.array(RuleCounts), totals: Totals })),
    rules: z.array(RuleCounts),
    totals: Totals,
  })
  .openapi('AccountGroupCompliance');

const nameParam = z.object({ name: Name().openapi({ example: 'production' }) });
const accountParam = z.object({ accountId: Id().openapi({ example: '178366182654' }) });

function roleOf(org: Organization | null, accountId: string): OrganizationRole {
  if (!org) return 'none';
  if (org.managementAccount === accountId) return 'management';
  if (org.delegatedAdministrators.includes(accountId)) return 'delegated-administrator';
  return org.accounts.some((a) => a.accountId === accountId) ? 'member' : 'none';
}

export function accountRoutes(app: OpenAPIHono, deps: AppDeps) {
  /** A group as the API shows it: with its members now, the rules using it and what is wrong. */
  async function describeGroups(groups: AccountGroup[]) {
    const org = await deps.sandbox.organization();
    const rules = await deps.rules.list();
    return groups.map((g) => ({
      ...g,
      memberAccounts: resolveMembers(g.members, org),
      rules: rules.filter((r) => r.scope.accountGroup === g.name).map((r) => r.name),
      problems: groupProblems(g, org),
    }));
  }

  async function getGroup(name: string): Promise<AccountGroup> {
    const g = await deps.groups.get(name);
    if (!g) throw new ApiError(404, 'AccountGroupNotFound', `no account group named "${name}"`);
    return g;
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/accounts',
      tags: ['accounts'],
      summary: 'Accounts with their regions, resource counts, place and role in the organization, stored credentials and account groups',
      responses: { 200: json(z.object({ items: z.array(AccountSchema) }), 'Accounts') },
    }),
    async (c) => {
      const [accounts, counts, org, credentials, groups] = await Promise.all([
        deps.sandbox.listAccounts(),
        deps.inventory.summary().then((s) => s.byAccount),
        deps.sandbox.organization(),
        deps.credentials.list(),
        deps.groups.groupsByAccount(),
      ]);
      const withKey = new Set(credentials.map((x) => x.accountId));
      const folders = new Map(org?.accounts.map((a) => [a.accountId, a.folderPath]) ?? []);
      const items = accounts.map((a) => ({
        ...a,
        resources: counts[a.accountId] ?? 0,
        folderPath: folders.get(a.accountId) ?? null,
        organizationRole: roleOf(org, a.accountId),
        credentials: withKey.has(a.accountId),
        groups: (groups.get(a.accountId) ?? []).sort(),
      }));
      return c.json({ items }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/organization',
      tags: ['accounts'],
      summary: 'The organization (resource directory): management account, delegated administrators, folders and member accounts',
      responses: { 200: json(OrganizationSchema, 'The organization'), 404: errorResponses[404] },
    }),
    async (c) => {
      const org = await deps.sandbox.organization();
      if (!org)
        throw new ApiError(
          404,
          'OrganizationNotFound',
          'there is no organization (resource directory); declare one in the estate file (organization: { managementAccount: …, folders: … })',
        );
      return c.json(org, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/organization/delegated-administrators',
      tags: ['accounts'],
      summary: 'Register a member account as a delegated administrator (it may then own account groups)',
      request: { body: { required: true, content: { 'application/json': { schema: z.object({ accountId: Id().min(1) }) } } } },
      responses: {
        201: json(OrganizationSchema, 'Registered; the organization as it is now'),
        400: errorResponses[400],
        404: errorResponses[404],
        409: errorResponses[409],
      },
    }),
    async (c) => {
      const { accountId } = c.req.valid('json');
      const org = await deps.sandbox.registerDelegatedAdministrator(accountId);
      deps.log.info('delegated administrator registered', { accountId });
      return c.json(org, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/organization/delegated-administrators/{accountId}',
      tags: ['accounts'],
      summary: 'Deregister a delegated administrator; refused while it owns account groups',
      request: { params: accountParam },
      responses: { 200: json(OrganizationSchema, 'Deregistered; the organization as it is now'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { accountId } = c.req.valid('param');
      const owned = (await deps.groups.list()).filter((g) => g.ownerAccountId === accountId).map((g) => g.name);
      if (owned.length)
        throw new ApiError(
          409,
          'DelegatedAdministratorInUse',
          `account ${accountId} owns account group${owned.length === 1 ? '' : 's'} ${owned.join(', ')}; give ${owned.length === 1 ? 'it' : 'them'} another owner (for example the management account) or delete ${owned.length === 1 ? 'it' : 'them'} first`,
          { groups: owned },
        );
      const org = await deps.sandbox.deregisterDelegatedAdministrator(accountId);
      deps.log.info('delegated administrator deregistered', { accountId });
      return c.json(org, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/account-groups',
      tags: ['accounts'],
      summary: 'Account groups with their member accounts and the rules scoped to them',
      responses: { 200: json(z.object({ items: z.array(GroupSchema) }), 'Account groups') },
    }),
    async (c) => c.json({ items: await describeGroups(await deps.groups.list()) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/account-groups/{name}',
      tags: ['accounts'],
      summary: 'One account group, with its member accounts resolved against the organization',
      request: { params: nameParam },
      responses: { 200: json(GroupSchema, 'The group'), 404: errorResponses[404] },
    }),
    async (c) => c.json((await describeGroups([await getGroup(c.req.valid('param').name)]))[0]!, 200),
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/account-groups/{name}',
      tags: ['accounts'],
      summary: 'Create or replace an account group; the rules scoped to it are evaluated again over its new members',
      description:
        'Only the management account or a delegated administrator may own a group (default owner: the management account). Listed accounts must be in the organization and a folder must exist; every problem is named by field.',
      request: { params: nameParam, body: { required: true, content: { 'application/json': { schema: GroupInput } } } },
      responses: { 201: json(GroupSchema, 'Created'), 200: json(GroupSchema, 'Replaced'), 400: errorResponses[400] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      if (body.name !== undefined && body.name !== name)
        throw new ApiError(
          400,
          'InvalidRequest',
          `name: the body names "${String(body.name)}" but the path "${name}"; a group is renamed by creating the new one and deleting the old`,
        );
      const { created, ...group } = await deps.groups.put({ ...body, name });
      // The store's change event re-evaluates the group's rules; answer once that is done.
      await deps.evaluator.idle();
      deps.log.info(created ? 'account group created' : 'account group replaced', { group: name });
      return c.json((await describeGroups([group]))[0]!, created ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/account-groups/{name}',
      tags: ['accounts'],
      summary: 'Delete an account group; refused while a rule is scoped to it',
      request: { params: nameParam },
      responses: { 200: json(z.object({ deleted: z.string() }), 'Deleted'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await deps.groups.remove(name);
      deps.log.info('account group deleted', { group: name });
      return c.json({ deleted: name }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/account-groups/{name}/compliance',
      tags: ['accounts', 'compliance'],
      summary: "The group's compliance by member account: per rule scoped to the group, and in total",
      request: { params: nameParam },
      responses: { 200: json(GroupComplianceSchema, 'Compliance by account'), 404: errorResponses[404] },
    }),
    async (c) => {
      const g = await getGroup(c.req.valid('param').name);
      const [org, rules] = await Promise.all([deps.sandbox.organization(), deps.rules.list()]);
      const members = resolveMembers(g.members, org);
      const scoped = rules.filter((r) => r.scope.accountGroup === g.name).map((r) => ({ ruleId: r.ruleId, name: r.name }));
      const view = await deps.compliance.byAccountWithin(scoped, members);
      const names = new Map(org?.accounts.map((a) => [a.accountId, a.name]) ?? []);
      return c.json({ group: g.name, ...view, accounts: view.accounts.map((a) => ({ ...a, name: names.get(a.accountId) ?? null })) }, 200);
    },
  );
}
