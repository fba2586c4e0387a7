/**
 * Stopping and starting an instance, in either cloud's vocabulary: one shape
 * for ACS-ECS-StopInstance, ACS-ECS-StartInstance and AWS-StopEC2Instance.
 * Rollback undoes only a change apply made: an instance that already was as
 * asked stays as it is.
 */
import { z } from 'zod';
import { diffConfigurations } from '../../inventory/diff.js';
import type { Configuration } from '../../providers/types.js';
import type { RemediationAction } from '../types.js';
import { gone, priorOf, readNow, refused, reread, text, wrongRegion, wrongResource } from './common.js';

type Verb = [present: string, past: string];

export interface PowerSpec<P>
  extends Pick<RemediationAction<P>, 'name' | 'description' | 'resourceTypes' | 'parameters' | 'resourceParameter' | 'defaultBindings' | 'permissions'> {
  /** The instance id the parameters name, and the region when they name one. */
  target(p: P): { id: string; regionId?: string };
  statusOf(c: Configuration): string;
  withStatus(c: Configuration, status: string): Configuration;
  /** apply takes the instance from `from` to `to`; rollback goes back only if it was `from`. */
  from: string;
  to: string;
  verbs: { to: Verb; from: Verb };
  /** The API call that takes the instance to a status. */
  request(status: string, id: string): [action: string, params: Record<string, unknown>];
  /** Statuses the call must not be made in, with the reason. */
  refuse?(status: string, id: string): string | undefined;
}

const prior = z.object({ instanceId: z.string(), status: z.string() });

export function powerAction<P>(s: PowerSpec<P>): RemediationAction<P> {
  const check = (ctx: Parameters<RemediationAction['preview']>[0], c: Configuration, p: P) => {
    const t = s.target(p);
    return (
      wrongResource(ctx, s.resourceParameter, t.id) ?? (t.regionId !== undefined ? wrongRegion(ctx, t.regionId) : undefined) ?? s.refuse?.(s.statusOf(c), t.id)
    );
  };
  const noop = (id: string, status: string) => `nothing to do: instance ${id} is already ${status}`;
  return {
    name: s.name,
    description: s.description,
    resourceTypes: s.resourceTypes,
    parameters: s.parameters,
    resourceParameter: s.resourceParameter,
    ...(s.defaultBindings ? { defaultBindings: s.defaultBindings } : {}),
    permissions: s.permissions,

    async preview(ctx, p) {
      const c = ctx.resource.configuration;
      const why = check(ctx, c, p);
      if (why) return refused(why);
      const { id } = s.target(p);
      const status = s.statusOf(c);
      if (status === s.to) return { summary: noop(id, status), changes: [], noop: true };
      return { summary: `${s.verbs.to[0]} instance ${id} (${status} → ${s.to})`, changes: diffConfigurations(c, s.withStatus(c, s.to)) };
    },

    async apply(ctx, p) {
      const c = await reread(ctx);
      const why = check(ctx, c, p);
      if (why) throw new Error(why);
      const { id } = s.target(p);
      const status = s.statusOf(c);
      const priorState = { instanceId: id, status };
      if (status === s.to) return { summary: noop(id, status), priorState };
      const [action, params] = s.request(s.to, id);
      await ctx.call(action, params);
      return { summary: `${s.verbs.to[1]} instance ${id} (it was ${status})`, priorState };
    },

    async verify(ctx, p) {
      const c = await readNow(ctx);
      if (!c) return gone(ctx);
      const { id } = s.target(p);
      const status = s.statusOf(c);
      return status === s.to ? { ok: true, message: `instance ${id} is ${status}` } : { ok: false, message: `instance ${id} is ${status}, not ${s.to}` };
    },

    async rollback(ctx, priorState) {
      const { instanceId: id, status: was } = priorOf(prior, priorState, s.name);
      if (was !== s.from) return { summary: `nothing to restore: instance ${id} was ${was} before, not ${s.from}` };
      const now = s.statusOf(await reread(ctx));
      if (now === s.from) return { summary: `nothing to restore: instance ${id} is ${now} again` };
      const [action, params] = s.request(s.from, id);
      await ctx.call(action, params);
      return { summary: `${s.verbs.from[1]} instance ${id} again (it was ${was})` };
    },
  };
}

// --- ECS: Status is Running or Stopped ---------------------------------------

const ecsParameters = z.strictObject({ regionId: text(), instanceId: text() });
type EcsParams = z.output<typeof ecsParameters>;

/** ACS-ECS-StopInstance (to Stopped) and ACS-ECS-StartInstance (to Running). */
export function ecsPowerAction(name: string, description: string, to: 'Stopped' | 'Running'): RemediationAction<EcsParams> {
  const stop: Verb = ['stop', 'stopped'];
  const start: Verb = ['start', 'started'];
  return powerAction<EcsParams>({
    name,
    description,
    resourceTypes: ['ACS::ECS::Instance'],
    parameters: ecsParameters,
    resourceParameter: 'instanceId',
    defaultBindings: { regionId: 'REGION_ID' },
    permissions: ['ecs:DescribeInstances', 'ecs:StopInstance', 'ecs:StartInstance'],
    target: (p) => ({ id: p.instanceId, regionId: p.regionId }),
    statusOf: (c) => String(c.Status ?? ''),
    withStatus: (c, Status) => ({ ...c, Status }),
    from: to === 'Stopped' ? 'Running' : 'Stopped',
    to,
    verbs: to === 'Stopped' ? { to: stop, from: start } : { to: start, from: stop },
    request: (status, InstanceId) => [status === 'Stopped' ? 'ecs:StopInstance' : 'ecs:StartInstance', { InstanceId }],
  });
}
