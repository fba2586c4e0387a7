import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import { z as zod } from 'zod';
import type { AppDeps } from '../deps.js';
import { credentialsFromHeaders } from '../credential-headers.js';
import { allOperations, allResourceTypes } from '../../providers/sandbox/index.js';
import { CallResultSchema, SnapshotSummarySchema, errorResponses, json } from '../schemas.js';
import { groupProblems } from '../../accounts/groups.js';

const LoadSummarySchema = z
  .object({
    accounts: z.number().int(),
    resources: z.number().int(),
    created: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    deleted: z.number().int(),
    accountIds: z.array(z.string()),
    organization: z
      .object({
        changed: z.boolean(),
        before: z.object({ managementAccount: z.string(), delegatedAdministrators: z.array(z.string()), folders: z.array(z.string()) }).nullable(),
        after: z.object({ managementAccount: z.string(), delegatedAdministrators: z.array(z.string()), folders: z.array(z.string()) }),
        removed: z.object({ folders: z.array(z.string()), delegatedAdministrators: z.array(z.string()), managementAccount: z.string().optional() }),
      })
      .optional()
      .openapi({ description: "What the estate's organization did to the resource directory (absent when it declares none)" }),
  })
  .openapi('EstateLoadSummary');

const loadEstate = createRoute({
  method: 'post',
  path: '/sandbox/estate',
  tags: ['sandbox'],
  summary: 'Load an estate (accounts and resources) into the sandbox cloud, then snapshot the accounts it touched',
  description: 'The estate is validated whole first: any problem refuses it, with every problem listed by path, and nothing is loaded.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({
            estate: z
              .object({ accounts: z.array(z.unknown()).optional(), resources: z.array(z.unknown()).optional() })
              .passthrough()
              .openapi({ description: 'The estate document, as in an estate file' }),
            replace: z.boolean().optional().openapi({
              description:
                "Delete resources of the estate's accounts that it does not list, and let an estate's organization replace the current one even where account groups depend on what it removes",
            }),
          }),
        },
      },
    },
  },
  responses: {
    200: json(z.object({ load: LoadSummarySchema, snapshot: SnapshotSummarySchema }), 'Loaded and recorded'),
    400: errorResponses[400],
  },
});

const listActions = createRoute({
  method: 'get',
  path: '/sandbox/actions',
  tags: ['sandbox'],
  summary: "The sandbox cloud's API actions and resource types",
  responses: {
    200: json(
      z.object({
        actions: z.array(z.object({ action: z.string(), resourceType: z.string(), kind: z.string(), description: z.string(), parameters: z.unknown() })),
        resourceTypes: z.array(z.object({ type: z.string(), dialect: z.string(), description: z.string(), idField: z.string() })),
      }),
      'Actions',
    ),
  },
});

const callAction = createRoute({
  method: 'post',
  path: '/sandbox/actions/{action}',
  tags: ['sandbox'],
  summary: 'Call one sandbox cloud API action, e.g. ecs:AuthorizeSecurityGroup',
  description:
    "Parameters use the cloud API's own names. For an existing resource, accountId and regionId may be left out when its id is unique. The response comes once the change is recorded in the inventory.",
  request: {
    params: z.object({ action: z.string().openapi({ example: 'ecs:AuthorizeSecurityGroup' }) }),
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z.object({
            accountId: z.string().optional(),
            regionId: z.string().optional(),
            parameters: z.record(z.string(), z.unknown()).default({}),
          }),
        },
      },
    },
  },
  responses: {
    200: json(CallResultSchema, 'The call result'),
    400: errorResponses[400],
    404: errorResponses[404],
  },
});

export function sandboxRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(loadEstate, async (c) => {
    const { estate, replace } = c.req.valid('json');
    // Read before the load's transaction (the embedded store has one connection): the check runs inside it.
    const [groups, rules] = await Promise.all([deps.groups.list(), deps.rules.list()]);
    const load = await deps.sandbox.loadEstate(estate, {
      replace,
      // Account groups the new directory would break (and the rules scoped to them) refuse the load, unless replacing.
      checkOrganization: (before, after) => {
        const out: string[] = [];
        for (const g of groups) {
          const had = new Set(groupProblems(g, before));
          const now = groupProblems(g, after).filter((p) => !had.has(p));
          if (!now.length) continue;
          const users = rules.filter((r) => r.scope.accountGroup === g.name).map((r) => r.name);
          out.push(`account group ${g.name}${users.length ? ` (rules ${users.join(', ')})` : ''}: ${now.join('; ')}`);
        }
        return out;
      },
    });
    // The organization may have changed: accounts joining or leaving a folder join or leave its groups.
    await deps.evaluator.refreshGroups();
    const snapshot = await deps.recorder.snapshot(deps.sandbox.name, { accountIds: load.accountIds });
    return c.json({ load, snapshot }, 200);
  });

  app.openapi(listActions, (c) =>
    c.json(
      {
        actions: allOperations().map((o) => ({
          action: o.action,
          resourceType: o.resourceType,
          kind: o.kind,
          description: o.description,
          parameters: zod.toJSONSchema(o.params, { io: 'input', unrepresentable: 'any' }),
        })),
        resourceTypes: allResourceTypes().map((t) => ({ type: t.type, dialect: t.dialect, description: t.description, idField: t.idField })),
      },
      200,
    ),
  );

  app.openapi(callAction, async (c) => {
    const { action } = c.req.valid('param');
    const body = c.req.valid('json');
    // With credentials in the x-sandbox-* headers the call is authorised by the sandbox's IAM.
    const result = await deps.sandbox.call(
      action,
      body,
      body.parameters,
      credentialsFromHeaders((n) => c.req.header(n)),
    );
    // Answer once the recorder has the change, so a client that reads the
    // inventory next sees it.
    let configurationItemId: number | null = null;
    if (result.changed) {
      await deps.recorder.drain(deps.sandbox.name);
      const [ci] = await deps.inventory.history(result, { limit: 1, withConfiguration: false });
      configurationItemId = ci?.id ?? null;
    }
    return c.json({ ...result, configurationItemId }, 200);
  });
}
