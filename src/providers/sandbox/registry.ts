import type { z } from 'zod';
import type { Configuration, Tags } from '../types.js';
import type { Rng } from '../../util/random.js';
import type { Dialect } from './errors.js';

/** What a resource type's generator is asked to make. */
export interface GenerateContext {
  accountId: string;
  regionId: string;
  /** Position of this resource in the estate, for unique, readable names. */
  index: number;
  /** Make it break this type's seed rule (port 22 open to the world, public bucket, …). */
  misconfigured: boolean;
  /** Image ids the generator treats as approved (AMIs / ECS images). */
  approvedImages: { acs: string[]; aws: string[] };
  /** Ids of security groups already generated in this account and region, to attach instances to. */
  securityGroupIds: string[];
}

export interface GeneratedResource {
  id: string;
  tags: Tags;
  configuration: Configuration;
}

/** A resource type of the sandbox cloud: one small file under types/ registers one. */
export interface SandboxResourceType {
  /** As the clouds spell it: ACS::ECS::SecurityGroup, AWS::S3::Bucket, … */
  type: string;
  dialect: Dialect;
  /** One line for help texts. */
  description: string;
  /** Validates an estate's configuration (extra fields are kept: clouds add fields over time). */
  schema: z.ZodType;
  /** The configuration field holding the resource id. */
  idField: string;
  /** The human name of the resource, if the cloud has one. */
  nameOf(configuration: Configuration): string | undefined;
  /**
   * Completes a configuration given in an estate or by a create call: fills
   * defaults, assigns ids to sub-items (rule ids), and writes the tags into
   * the configuration where the cloud's describe API shows them.
   */
  normalize(input: { id: string; accountId: string; regionId: string; tags: Tags; configuration: Configuration }): Configuration;
  /** A realistic resource for the generator. */
  generate(rng: Rng, ctx: GenerateContext): GeneratedResource;
  /** Share of the generated estate that is of this type (weights are relative). */
  weight: number;
  /** How the live demo breaks a resource of this type, the way people do (none: it is never broken). */
  drifts?: { what: string; action: string; params: (resourceId: string) => Record<string, unknown> }[];
}

export interface OperationContext {
  accountId: string;
  regionId: string;
  /** The id of the resource acted on (as returned by the operation's target()). */
  resourceId: string;
  now: Date;
  /** A fresh cloud-style id with this prefix, e.g. newId('sg-'). */
  newId(prefix: string): string;
}

export interface CurrentResource {
  resourceId: string;
  tags: Tags;
  configuration: Configuration;
}

export interface OperationOutcome {
  /** The new configuration; null deletes the resource; undefined leaves it as it is. */
  configuration?: Configuration | null;
  tags?: Tags;
  /** What the API call returns to the caller (cloud-shaped). */
  result: Record<string, unknown>;
}

/** One API action of the sandbox cloud, named as in the cloud's IAM (service:Action). */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds entries of every parameter type; each is checked where it is registered
export interface SandboxOperation<P = any> {
  action: string;
  resourceType: string;
  kind: 'create' | 'update' | 'delete';
  description: string;
  /** Parameters in the cloud API's own names. */
  params: z.ZodType<P>;
  /** The id of the resource the call acts on (for create: the id to give the new resource). */
  target(params: P, ctx: Omit<OperationContext, 'resourceId'>): string;
  /** Computes the change; throws SandboxError when the cloud would refuse. */
  apply(current: CurrentResource | null, params: P, ctx: OperationContext): OperationOutcome;
}

const types = new Map<string, SandboxResourceType>();
const operations = new Map<string, SandboxOperation>();

export function registerResourceType(def: SandboxResourceType): void {
  if (types.has(def.type)) throw new Error(`resource type ${def.type} registered twice`);
  types.set(def.type, def);
}

export function registerOperation<P>(op: SandboxOperation<P>): void {
  if (operations.has(op.action)) throw new Error(`operation ${op.action} registered twice`);
  operations.set(op.action, op as SandboxOperation);
}

export function resourceType(type: string): SandboxResourceType | undefined {
  return types.get(type);
}

export function allResourceTypes(): SandboxResourceType[] {
  return [...types.values()];
}

export function operation(action: string): SandboxOperation | undefined {
  return operations.get(action);
}

export function allOperations(): SandboxOperation[] {
  return [...operations.values()];
}
