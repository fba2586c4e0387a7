/**
 * The sandbox cloud's IAM and STS over HTTP: roles and permission policies per
 * account (as RAM and IAM show them), changing a policy as an operator does in
 * the console, and AssumeRole with the caller's credentials in headers. These
 * are the sandbox's own APIs, not confix's: confix reaches accounts through
 * its credential broker.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { truncate } from '../../util/text.js';
import { errorResponses, json } from '../schemas.js';
import { parsePolicyDocument, formatIssuePath, roleArn, dialectOfResourceType, type Dialect } from '../../providers/sandbox/index.js';
import { bounded, credentialsFromHeaders } from '../credential-headers.js';
import { SANDBOX_CREDENTIAL_HEADERS as CREDENTIAL_HEADERS } from '../../security/signed-headers.js';

const accountParam = z.object({
  accountId: z
    .string()
    .regex(/^\d{12}$/, 'a 12-digit account id')
    .openapi({ example: '178366182654' }),
});
const PolicyDocument = z.record(z.string(), z.unknown()).openapi({ description: 'A policy document as the cloud writes it: Version and Statement[]' });

const Role = z
  .object({
    name: z.string(),
    arn: z.string(),
    trustPolicy: PolicyDocument,
    policies: z.array(z.string()),
    maxSessionDuration: z.number().int(),
  })
  .openapi('SandboxRole');
const Policy = z.object({ name: z.string(), version: z.number().int(), document: PolicyDocument }).openapi('SandboxPolicy');

/**
 * The largest inputs these routes take, in characters: a policy document
 * (as written, or as JSON when sent as an object; RAM allows 6,144, IAM up to
 * 10,240 inline, bucket policies 20 KB), an ARN, a session name (both clouds
 * allow 64), a policy name. Longer is refused with 400 InvalidParameter
 * naming the field and the limit, without repeating the value.
 */
export const SANDBOX_IAM_LIMITS = { document: 20_480, arn: 2048, sessionName: 64, policyName: 128, policies: 100 } as const;

/** Refuses a document that is not a valid policy, with every issue by path. */
function checkedDocument(raw: unknown, kind: 'permission' | 'trust', field: string): Record<string, unknown> {
  bounded(field, typeof raw === 'string' ? raw : JSON.stringify(raw), SANDBOX_IAM_LIMITS.document);
  const parsed = parsePolicyDocument(raw, kind);
  if (parsed.issues) {
    const issues = parsed.issues.map((i) => ({ path: `${field}.${formatIssuePath(i.path)}`, pathSegments: [field, ...i.path], message: i.message }));
    throw new ApiError(
      400,
      'MalformedPolicyDocument',
      `${field}: ${issues.length} problem${issues.length === 1 ? '' : 's'}: ${issues[0]!.path}: ${issues[0]!.message}`,
      // The sandbox cloud's own refusal, in RAM's and IAM's words.
      { issues, provider: 'sandbox' },
    );
  }
  return (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>;
}

async function requireAccount(deps: AppDeps, accountId: string): Promise<void> {
  if (!(await deps.sandbox.listAccounts()).some((a) => a.accountId === accountId))
    throw new ApiError(404, 'AccountNotFound', `the sandbox has no account ${accountId}`);
}

/** How the account's role ARNs are spelt: AWS when it holds only AWS resources, else Alibaba Cloud's. */
async function accountDialect(deps: AppDeps, accountId: string): Promise<Dialect> {
  const types = await deps.db.query<{ resource_type: string }>('SELECT DISTINCT resource_type FROM sandbox_resources WHERE account_id = $1', [accountId]);
  return types.length && types.every((t) => dialectOfResourceType(t.resource_type) === 'aws') ? 'aws' : 'acs';
}

export function sandboxIamRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/sandbox/iam/{accountId}',
      tags: ['sandbox'],
      summary: "An account's roles (with trust policies) and permission policies",
      request: { params: accountParam },
      responses: { 200: json(z.object({ accountId: z.string(), roles: z.array(Role), policies: z.array(Policy) }), 'IAM'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { accountId } = c.req.valid('param');
      await requireAccount(deps, accountId);
      const dialect = await accountDialect(deps, accountId);
      const roles = (await deps.sandbox.iam.roles(accountId)).map((r) => ({
        name: r.name,
        arn: roleArn(dialect, accountId, r.name),
        trustPolicy: r.trustPolicy,
        policies: r.policies,
        maxSessionDuration: r.maxSessionDuration,
      }));
      const policies = (await deps.sandbox.iam.policies(accountId)).map((p) => ({ name: p.name, version: p.version, document: p.document }));
      return c.json({ accountId, roles, policies }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/sandbox/iam/{accountId}/policies/{name}',
      tags: ['sandbox'],
      summary: 'Create or replace a permission policy (a new version); roles that attach it get the change at once',
      request: {
        params: accountParam.extend({ name: z.string().min(1).max(128) }),
        body: { required: true, content: { 'application/json': { schema: z.object({ document: z.union([PolicyDocument, z.string()]) }) } } },
      },
      responses: { 200: json(Policy, 'The policy as stored'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const { accountId, name } = c.req.valid('param');
      await requireAccount(deps, accountId);
      const document = checkedDocument(c.req.valid('json').document, 'permission', 'document');
      await deps.sandbox.iam.putPolicy(accountId, name, document);
      const stored = (await deps.sandbox.iam.policy(accountId, name))!;
      deps.log.info('sandbox policy written', { accountId, policy: name, version: stored.version });
      return c.json({ name, version: stored.version, document: stored.document }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/sandbox/iam/{accountId}/roles/{name}',
      tags: ['sandbox'],
      summary: 'Create or replace a role: its trust policy and the permission policies attached to it',
      request: {
        params: accountParam.extend({ name: z.string().regex(/^[\w+=,.@-]{1,64}$/, 'letters, digits and +=,.@-_ (at most 64)') }),
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                trustPolicy: z.union([PolicyDocument, z.string()]),
                policies: z.array(z.string().min(1)).default([]),
                maxSessionDuration: z.number().int().min(900).max(43_200).optional(),
              }),
            },
          },
        },
      },
      responses: { 200: json(Role, 'The role as stored'), 400: errorResponses[400], 404: errorResponses[404] },
    }),
    async (c) => {
      const { accountId, name } = c.req.valid('param');
      await requireAccount(deps, accountId);
      const body = c.req.valid('json');
      const trustPolicy = checkedDocument(body.trustPolicy, 'trust', 'trustPolicy');
      if (body.policies.length > SANDBOX_IAM_LIMITS.policies)
        throw new ApiError(400, 'InvalidParameter', `policies: ${body.policies.length} items; the limit is ${SANDBOX_IAM_LIMITS.policies}.`);
      body.policies.forEach((p, i) => {
        bounded(`policies[${i}]`, p, SANDBOX_IAM_LIMITS.policyName);
      });
      const known = new Set((await deps.sandbox.iam.policies(accountId)).map((p) => p.name));
      const missing = body.policies.filter((p) => !known.has(p));
      if (missing.length)
        throw new ApiError(400, 'NoSuchPolicy', `policies: account ${accountId} has no policy ${truncate(missing.join(', '), 300)}; create it first`, {
          provider: 'sandbox',
        });
      await deps.sandbox.iam.putRole(accountId, { name, trustPolicy, policies: body.policies, maxSessionDuration: body.maxSessionDuration });
      const role = (await deps.sandbox.iam.roles(accountId)).find((r) => r.name.toLowerCase() === name.toLowerCase())!;
      deps.log.info('sandbox role written', { accountId, role: name });
      return c.json(
        {
          name: role.name,
          arn: roleArn(await accountDialect(deps, accountId), accountId, role.name),
          trustPolicy: role.trustPolicy,
          policies: role.policies,
          maxSessionDuration: role.maxSessionDuration,
        },
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/sandbox/sts/assume-role',
      tags: ['sandbox'],
      summary: "STS AssumeRole, signed with the caller's credentials in the x-sandbox-* headers",
      description:
        'The caller must be allowed sts:AssumeRole on the role and the role must trust the caller; a refusal names the action, the role and the caller. The answer holds short-lived credentials for the role.',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                roleArn: z.string().openapi({ example: 'acs:ram::178366182654:role/configcustomremediationrole' }),
                roleSessionName: z.string().default('sandbox-session'),
                durationSeconds: z.number().int().optional(),
              }),
            },
          },
        },
      },
      responses: {
        200: json(
          z.object({
            credentials: z.object({ accessKeyId: z.string(), accessKeySecret: z.string(), securityToken: z.string(), expiration: z.string() }),
            assumedRoleUser: z.object({ arn: z.string() }),
          }),
          'Temporary credentials',
        ),
        400: errorResponses[400],
        403: errorResponses[403],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const caller = credentialsFromHeaders((n) => c.req.header(n));
      if (!caller)
        throw new ApiError(
          400,
          'MissingCredentials',
          `AssumeRole needs the caller's credentials: send ${CREDENTIAL_HEADERS.accessKeyId} and ${CREDENTIAL_HEADERS.accessKeySecret}`,
        );
      const body = c.req.valid('json');
      bounded('roleArn', body.roleArn, SANDBOX_IAM_LIMITS.arn);
      bounded('roleSessionName', body.roleSessionName, SANDBOX_IAM_LIMITS.sessionName);
      const creds = await deps.sandbox.assumeRole(caller, { roleArn: body.roleArn, sessionName: body.roleSessionName, durationSeconds: body.durationSeconds });
      const { assumedRoleArn, ...credentials } = creds;
      return c.json({ credentials, assumedRoleUser: { arn: assumedRoleArn } }, 200);
    },
  );
}
