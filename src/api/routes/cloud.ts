/**
 * The clouds' APIs through confix, whichever provider owns the account: one
 * API action by its IAM name, and AssumeRole. Functions' context.cloud calls
 * these, signed with their role's temporary credentials in the x-cloud-*
 * headers, so the same function code fixes a sandbox resource or an AWS one.
 * The cloud authorises a signed call; an unsigned one acts with confix's own
 * access to the account (an admin's to lend, see src/security/access.ts).
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { bounded, credentialsFromHeaders } from '../credential-headers.js';
import { CLOUD_CREDENTIAL_HEADERS as H } from '../../security/signed-headers.js';
import { CallResultSchema, errorResponses, json, jsonBody } from '../schemas.js';
import { parseRoleArn, type Provider } from '../../providers/index.js';

const LIMITS = { action: 128, arn: 2048, sessionName: 64, externalId: 1224 } as const;

const ProviderName = z
  .string()
  .min(1)
  .max(64)
  .optional()
  .openapi({ description: "The provider's name (sandbox, aws, …); by default the one that governs the account" });

const callAction = createRoute({
  method: 'post',
  path: '/cloud/actions/{action}',
  tags: ['cloud'],
  summary: 'Call one cloud API action by its IAM name (ec2:RevokeSecurityGroupIngress, ecs:RevokeSecurityGroup) in the provider that governs the account',
  description: `Parameters use the cloud API's own names. Sign the call with ${H.accessKeyId}, ${H.accessKeySecret} and (for temporary credentials) ${H.securityToken}: the cloud's IAM then decides, and a refusal is its own code (UnauthorizedOperation, NoPermission). The answer comes once the change is recorded in the inventory.`,
  request: {
    params: z.object({ action: z.string().max(LIMITS.action).openapi({ example: 'ec2:RevokeSecurityGroupIngress' }) }),
    body: jsonBody(
      z.object({
        provider: ProviderName,
        accountId: z.string().max(64).optional(),
        regionId: z.string().max(64).optional(),
        parameters: z.record(z.string(), z.unknown()).default({}),
      }),
    ),
  },
  responses: {
    200: json(CallResultSchema.extend({ provider: z.string() }), 'The call result, with the provider that made it'),
    400: errorResponses[400],
    403: errorResponses[403],
    404: errorResponses[404],
  },
});

const assumeRole = createRoute({
  method: 'post',
  path: '/cloud/sts/assume-role',
  tags: ['cloud'],
  summary: "STS AssumeRole in the provider that governs the role's account, signed with the caller's credentials",
  description: `Send the caller's credentials in ${H.accessKeyId}, ${H.accessKeySecret} and ${H.securityToken}. The answer's credentials carry both clouds' names (secretAccessKey and accessKeySecret, sessionToken and securityToken).`,
  request: {
    body: jsonBody(
      z.object({
        provider: ProviderName,
        roleArn: z.string().openapi({ example: 'arn:aws:iam::123456789012:role/confix-remediation' }),
        roleSessionName: z.string().default('confix-session'),
        durationSeconds: z.number().int().min(900).max(43_200).optional(),
        externalId: z.string().optional(),
      }),
    ),
  },
  responses: {
    200: json(
      z.object({
        provider: z.string(),
        credentials: z.object({
          accessKeyId: z.string(),
          secretAccessKey: z.string(),
          sessionToken: z.string(),
          accessKeySecret: z.string(),
          securityToken: z.string(),
          expiration: z.string(),
        }),
        assumedRoleUser: z.object({ arn: z.string() }),
      }),
      'Temporary credentials',
    ),
    400: errorResponses[400],
    403: errorResponses[403],
    404: errorResponses[404],
  },
});

/** The provider named, or the account's, or (with neither) the first. */
async function providerFor(deps: AppDeps, name: string | undefined, accountId: string | undefined): Promise<Provider> {
  if (name) {
    if (!deps.providers.has(name))
      throw new ApiError(
        404,
        'ProviderNotFound',
        `no provider named ${name}; the providers are ${deps.providers
          .all()
          .map((p) => p.name)
          .join(', ')}`,
      );
    return deps.providers.get(name);
  }
  if (!accountId) return deps.providers.primary();
  try {
    return await deps.providers.forAccount(accountId);
  } catch (err) {
    throw new ApiError(404, 'AccountNotFound', (err as Error).message);
  }
}

export function cloudRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(callAction, async (c) => {
    const { action } = c.req.valid('param');
    const body = c.req.valid('json');
    const provider = await providerFor(deps, body.provider, body.accountId);
    const credentials = credentialsFromHeaders((n) => c.req.header(n), H);
    const result = await provider.call(action, { accountId: body.accountId, regionId: body.regionId }, body.parameters, credentials);
    // Answer once the inventory has the change, so a client that reads it next sees it.
    let configurationItemId: number | null = null;
    if (result.changed) {
      configurationItemId = await deps.recorder.recordOne(provider.name, result);
      // null: a change feed recorded it first.
      configurationItemId ??= (await deps.inventory.history(result, { limit: 1, withConfiguration: false }))[0]?.id ?? null;
    }
    const { requestId, accountId, regionId, resourceType, resourceId, changed } = result;
    return c.json(
      {
        provider: provider.name,
        requestId,
        action: result.action,
        accountId,
        regionId,
        resourceType,
        resourceId,
        changed,
        result: result.result,
        configurationItemId,
      },
      200,
    );
  });

  app.openapi(assumeRole, async (c) => {
    const caller = credentialsFromHeaders((n) => c.req.header(n), H);
    if (!caller) throw new ApiError(400, 'MissingCredentials', `AssumeRole needs the caller's credentials: send ${H.accessKeyId} and ${H.accessKeySecret}`);
    const body = c.req.valid('json');
    bounded('roleArn', body.roleArn, LIMITS.arn);
    bounded('roleSessionName', body.roleSessionName, LIMITS.sessionName);
    bounded('externalId', body.externalId, LIMITS.externalId);
    const role = parseRoleArn(body.roleArn);
    if (!role) throw new ApiError(400, 'InvalidParameter', 'roleArn: not a role ARN (arn:aws:iam::<account>:role/<name> or acs:ram::<account>:role/<name>)');
    const provider = await providerFor(deps, body.provider, role.accountId);
    const { assumedRoleArn, ...creds } = await provider.assumeRole(caller, {
      roleArn: body.roleArn,
      sessionName: body.roleSessionName,
      ...(body.durationSeconds !== undefined ? { durationSeconds: body.durationSeconds } : {}),
      ...(body.externalId !== undefined ? { externalId: body.externalId } : {}),
    });
    return c.json(
      {
        provider: provider.name,
        credentials: {
          accessKeyId: creds.accessKeyId,
          secretAccessKey: creds.accessKeySecret,
          sessionToken: creds.securityToken,
          accessKeySecret: creds.accessKeySecret,
          securityToken: creds.securityToken,
          expiration: creds.expiration,
        },
        assumedRoleUser: { arn: assumedRoleArn },
      },
      200,
    );
  });
}
