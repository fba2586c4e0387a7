/**
 * Remediation actions: one small file under actions/ registers one. An action
 * fixes one resource through the provider's API, and knows how to show what
 * it would change (touching nothing), whether it worked, and how to undo it.
 */
import type { z } from 'zod';
import type { Configuration, ResourceKey } from '../providers/types.js';
import type { DiffOp } from '../inventory/diff.js';

/** What an action runs with: the resource as re-read now, and the provider's API as the execution's principal. */
export interface ActionContext {
  resource: ResourceKey & { configuration: Configuration; tags: Record<string, string> };
  /** Calls one provider API action (service:Action, the cloud's parameter names) in the resource's account and region. */
  call(action: string, params: Record<string, unknown>): Promise<{ changed: boolean; result: Record<string, unknown> }>;
  /** Re-reads a resource of the same account and region (null when it no longer exists). */
  describe(resourceType: string, resourceId: string): Promise<Configuration | null>;
}

export interface Preview {
  /** One line for people: what would be done. */
  summary: string;
  /** The configuration change, as JSON Patch operations with previous values. */
  changes: DiffOp[];
  /** Set when the action must not act on this resource, with the reason (a service-managed group, …). */
  refusal?: string;
  /** Nothing to do: the resource is already as the action would leave it. */
  noop?: boolean;
}

export interface ApplyOutcome {
  summary: string;
  /** What rollback needs to restore the resource as it was (JSON). */
  priorState: unknown;
}

export interface Verification {
  ok: boolean;
  message: string;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds entries of every parameter type; each is checked where it is registered
export interface RemediationAction<P = any> {
  /** As the clouds name their automation documents: ACS-ECS-RevokeSecurityGroupRules, AWS-StopEC2Instance. */
  name: string;
  description: string;
  /** Resource types it fixes. */
  resourceTypes: string[];
  /** Typed parameters with defaults; errors name the parameter. */
  parameters: z.ZodType<P>;
  /** The parameter bound to the resource id by default (securityGroupId, bucketName, InstanceId, …). */
  resourceParameter: string;
  /** Parameters bound to the resource's region or account by default, e.g. { regionId: 'REGION_ID' }. */
  defaultBindings?: Record<string, 'RESOURCE_ID' | 'REGION_ID' | 'ACCOUNT_ID'>;
  /** The provider API actions it calls, as IAM names them (for the permissions an execution role needs). */
  permissions: string[];
  /** What would change, touching nothing. */
  preview(ctx: ActionContext, params: P): Promise<Preview>;
  /** Makes the change. Idempotent: applying twice is harmless. */
  apply(ctx: ActionContext, params: P): Promise<ApplyOutcome>;
  /** The postcondition, checked on a fresh read after apply. */
  verify(ctx: ActionContext, params: P): Promise<Verification>;
  /** Restores the prior state recorded by apply; absent when the action cannot be undone. */
  rollback?(ctx: ActionContext, priorState: unknown): Promise<{ summary: string }>;
}
