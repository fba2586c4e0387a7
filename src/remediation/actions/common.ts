/** What every built-in action needs: parameter shapes, the target checks, fresh reads, prior-state parsing. */
import { z } from 'zod';
import type { Configuration } from '../../providers/types.js';
import type { ActionContext, Preview } from '../types.js';

/** A required string parameter; blanks are refused rather than sent to the cloud. */
export const text = () => z.string().trim().min(1, 'must not be empty');

/** "1 rule", "2 rules". */
export const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Actions act on the resource they run on (ctx.resource); a parameter naming
 * another one would make the preview describe one resource and the calls
 * change another, so it is refused.
 */
export function wrongResource(ctx: ActionContext, param: string, value: string): string | undefined {
  const r = ctx.resource;
  if (value !== r.resourceId) return `${param} "${value}" is not the resource this action runs on (${r.resourceType} ${r.resourceId})`;
  return undefined;
}

/** The calls go to the resource's region whatever regionId says, so a different one is refused. */
export function wrongRegion(ctx: ActionContext, regionId: string): string | undefined {
  if (regionId !== ctx.resource.regionId) return `regionId "${regionId}" is not the region of ${ctx.resource.resourceId} (${ctx.resource.regionId})`;
  return undefined;
}

export function refused(reason: string): Preview {
  return { summary: `refused: ${reason}`, changes: [], refusal: reason };
}

/** The resource as the cloud has it now, or null when it is gone. */
export function readNow(ctx: ActionContext): Promise<Configuration | null> {
  return ctx.describe(ctx.resource.resourceType, ctx.resource.resourceId);
}

/** apply works from a fresh read, so a stale context cannot make it repeat a change already made. */
export async function reread(ctx: ActionContext): Promise<Configuration> {
  const c = await readNow(ctx);
  if (!c) throw new Error(`${ctx.resource.resourceType} ${ctx.resource.resourceId} no longer exists`);
  return c;
}

export const gone = (ctx: ActionContext) => ({ ok: false, message: `${ctx.resource.resourceType} ${ctx.resource.resourceId} no longer exists` });

/** Prior state comes back from storage as plain JSON: check it before acting on it. */
export function priorOf<T>(schema: z.ZodType<T>, priorState: unknown, action: string): T {
  const parsed = schema.safeParse(priorState);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new Error(`${action}: the recorded prior state is not usable (${i.path.join('.') || 'priorState'}: ${i.message})`);
  }
  return parsed.data;
}
