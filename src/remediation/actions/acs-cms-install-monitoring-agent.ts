// ACS-CMS-InstallMonitoringAgent: installs the CloudMonitor agent on ECS instances where it is not running.
import { z } from 'zod';
import { diffConfigurations } from '../../inventory/diff.js';
import type { Configuration } from '../../providers/types.js';
import { registerAction } from '../registry.js';
import type { ActionContext, Preview } from '../types.js';
import { count, refused, text, wrongRegion } from './common.js';

const TYPE = 'ACS::ECS::Instance';

const parameters = z.strictObject({
  regionId: text(),
  // The resource id is bound here as a plain string: it becomes a list of one.
  instanceIds: z.union([text().transform((id) => [id]), z.array(text()).min(1, 'give at least one instance id')]).transform((ids) => [...new Set(ids)]),
  force: z.boolean().default(false),
});
type Params = z.output<typeof parameters>;

const agentOf = (c: Configuration) => String(c.MonitoringAgentStatus ?? 'not_installed');

interface Plan {
  refusal?: string;
  /** Instances to install on, with the agent status each had. */
  todo: [id: string, status: string][];
  prior: Record<string, string>;
}

/** `read` gives each instance's configuration: the context's for the resource in preview, fresh ones in apply. */
async function plan(ctx: ActionContext, p: Params, read: (id: string) => Promise<Configuration | null>): Promise<Plan> {
  const out: Plan = { refusal: wrongRegion(ctx, p.regionId), todo: [], prior: {} };
  if (out.refusal) return out;
  for (const id of p.instanceIds) {
    const c = await read(id);
    if (!c) return { ...out, refusal: `instance ${id} does not exist in account ${ctx.resource.accountId}, region ${ctx.resource.regionId}` };
    out.prior[id] = agentOf(c);
    if (agentOf(c) === 'running' && !p.force) continue;
    // CloudMonitor installs only on running instances; refusing beats installing on some of the list.
    if (c.Status !== 'Running')
      return { ...out, refusal: `instance ${id} is ${String(c.Status)}: the agent can only be installed on a running instance (start it first)` };
    out.todo.push([id, agentOf(c)]);
  }
  return out;
}

const listed = (todo: Plan['todo']) => `${count(todo.length, 'instance')}: ${todo.map(([id, s]) => `${id} (${s})`).join(', ')}`;
const nothing = (p: Params) => `nothing to install: the agent is already running on ${p.instanceIds.join(', ')}`;

registerAction<Params>({
  name: 'ACS-CMS-InstallMonitoringAgent',
  description:
    'Installs the CloudMonitor agent on ECS instances (by default the one it runs on) where it is not installed or ' +
    'stopped, so that operating-system metrics are collected and alarms can fire. Instances must be running; with force, ' +
    'the agent is reinstalled even where it runs. The agent statuses before are recorded; uninstalling the agent is not ' +
    'offered, so there is no rollback.',
  resourceTypes: [TYPE],
  parameters,
  resourceParameter: 'instanceIds',
  defaultBindings: { regionId: 'REGION_ID' },
  permissions: ['ecs:DescribeInstances', 'cms:DescribeMonitoringAgentStatuses', 'cms:InstallMonitoringAgent'],

  async preview(ctx, p): Promise<Preview> {
    const self = ctx.resource;
    const pl = await plan(ctx, p, async (id) => (id === self.resourceId ? self.configuration : ctx.describe(TYPE, id)));
    if (pl.refusal) return refused(pl.refusal);
    if (!pl.todo.length) return { summary: nothing(p), changes: [], noop: true };
    // The changes are the resource's own; other listed instances are in the summary.
    const mine = pl.todo.some(([id]) => id === self.resourceId);
    const after = mine ? { ...self.configuration, MonitoringAgentStatus: 'running' } : self.configuration;
    return { summary: `install the CloudMonitor agent on ${listed(pl.todo)}`, changes: diffConfigurations(self.configuration, after) };
  },

  async apply(ctx, p) {
    const pl = await plan(ctx, p, (id) => ctx.describe(TYPE, id));
    if (pl.refusal) throw new Error(pl.refusal);
    const priorState = { statuses: pl.prior };
    if (!pl.todo.length) return { summary: nothing(p), priorState };
    // One call per instance: a failure names the instance it failed on.
    for (const [id] of pl.todo) await ctx.call('cms:InstallMonitoringAgent', { InstanceIds: [id], Force: p.force });
    return { summary: `installed the CloudMonitor agent on ${listed(pl.todo)}`, priorState };
  },

  async verify(ctx, p) {
    const bad: string[] = [];
    for (const id of p.instanceIds) {
      const c = await ctx.describe(TYPE, id);
      if (!c) bad.push(`${id} no longer exists`);
      else if (agentOf(c) !== 'running') bad.push(`the agent is ${agentOf(c)} on ${id}`);
    }
    return bad.length ? { ok: false, message: bad.join('; ') } : { ok: true, message: `the agent is running on ${p.instanceIds.join(', ')}` };
  },
});
