/** Seed 000's estate (examples/estates/seed-000.yaml) as the tests name it. */
import { fileURLToPath } from 'node:url';

export const SEED_000 = fileURLToPath(new URL('../../examples/estates/seed-000.yaml', import.meta.url));
/** The management account, the member in the group, and the member outside it. */
export const A = '100931896542';
export const B = '178366182654';
export const C = '139876543210';
/** A's access key secret: no log line or API answer may contain it. */
export const A_SECRET = 'seed000-management-secret-do-not-print';
export const POLICY = 'ConfigCustomRemediationPolicy';
export const RULE = 'ecs-instance-monitor-enabled';
export const INSTANCE_B = 'i-bp1seed000memberb001';
export const INSTANCE_B2 = 'i-bp1seed000memberb002';
export const INSTANCE_C = 'i-bp1seed000outsidec01';

/** ConfigCustomRemediationPolicy allowing these actions (and sts:AssumeRole, as the seed's does). */
export const seedPolicy = (actions: string[]) => ({
  Version: '1',
  Statement: [...actions.map((a) => ({ Effect: 'Allow', Action: a, Resource: '*' })), { Action: 'sts:AssumeRole', Effect: 'Allow', Resource: '*' }],
});
