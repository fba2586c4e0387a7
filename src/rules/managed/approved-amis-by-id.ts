// approved-amis-by-id: every instance runs an approved image.
import { z } from 'zod';
import { registerManagedRule } from '../registry.js';
import type { EvaluationInput, Verdict } from '../types.js';
import { show } from './show.js';

const EXPECTED = 'a comma-separated list of image ids';

/** "ami-1, ami-2" (or ["ami-1", "ami-2"]) → the ids; undefined when empty or an item is not an id. */
function parseIds(v: unknown): string[] | undefined {
  let items: unknown[];
  if (typeof v === 'string') items = v.split(',');
  else if (Array.isArray(v)) items = v.flatMap((x) => (typeof x === 'string' ? x.split(',') : [x]));
  else return undefined;
  const ids: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') return undefined;
    const id = item.trim();
    if (id === '' || /\s/.test(id)) return undefined;
    if (!ids.includes(id)) ids.push(id);
  }
  return ids.length > 0 ? ids : undefined;
}

const parameters = z.strictObject({
  amiIds: z
    .unknown()
    .optional()
    .transform((v, ctx): Set<string> => {
      if (v === undefined) {
        ctx.issues.push({ code: 'custom', message: `required: ${EXPECTED}, at least one`, input: v });
        return z.NEVER;
      }
      const ids = parseIds(v);
      if (ids) return new Set(ids);
      ctx.issues.push({ code: 'custom', message: `${show(v)} is not ${EXPECTED} (at least one, no spaces inside an id)`, input: v });
      return z.NEVER;
    })
    .meta({
      description: 'The approved image ids (AMI ids for EC2, image ids for ECS): a comma-separated list with at least one id.',
      required: true,
      example: 'ami-0c55b159cbfafe1f0,ubuntu_22_04_x64_20G_alibase_20240710.vhd',
    }),
});

export type ApprovedAmisParams = z.output<typeof parameters>;

function listed(ids: Set<string>): string {
  const all = [...ids];
  return all.length <= 5 ? all.join(', ') : `${all.slice(0, 5).join(', ')} and ${all.length - 5} more`;
}

function evaluate(resource: EvaluationInput, params: ApprovedAmisParams): Verdict {
  const image = resource.configuration?.ImageId;
  if (typeof image !== 'string' || image === '') return { complianceType: 'INSUFFICIENT_DATA', annotation: 'the configuration has no ImageId' };
  if (params.amiIds.has(image)) return { complianceType: 'COMPLIANT', annotation: `image ${image} is approved` };
  return { complianceType: 'NON_COMPLIANT', annotation: `image ${image} is not approved (approved: ${listed(params.amiIds)})` };
}

registerManagedRule<ApprovedAmisParams>({
  identifier: 'approved-amis-by-id',
  description:
    'Checks that every instance was launched from an approved image. An EC2 or ECS instance is non-compliant when its ' +
    'ImageId is not in the amiIds list, whether it is running or stopped: a stopped instance can be started again at ' +
    'any time, so stopping it does not make it compliant.',
  resourceTypes: ['AWS::EC2::Instance', 'ACS::ECS::Instance'],
  parameters,
  defaultRiskLevel: 2,
  evaluate,
});
