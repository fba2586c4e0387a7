/**
 * Generates a realistic estate, deterministic for a seed: accounts with
 * regions of both clouds, a weighted mix of every registered resource type,
 * and a stated share of resources misconfigured the way people do it.
 */
import { Rng } from '../../util/random.js';
import { allResourceTypes, type SandboxResourceType } from './registry.js';
import type { EstateInput } from './estate.js';
import './types/index.js';

export interface GenerateOptions {
  accounts: number;
  resources: number;
  seed: number;
  /** Share of resources (0..1) made to break their type's seed rule. Default 0.2. */
  misconfiguredShare?: number;
  /** Called every 1,000 resources, for progress display. */
  onProgress?: (done: number, total: number) => void;
}

/** Images the generator treats as approved; the examples' approved-amis rules list the same. */
export const APPROVED_IMAGES = {
  acs: ['ubuntu_22_04_x64_20G_alibase_20240710.vhd', 'aliyun_3_x64_20G_alibase_20240528.vhd'],
  aws: ['ami-0c55b159cbfafe1f0', 'ami-0a0e5d9c7acc336f1'],
};

const ACS_REGIONS = ['cn-hangzhou', 'cn-shanghai', 'cn-beijing', 'cn-shenzhen', 'ap-southeast-1'];
const AWS_REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-northeast-1'];
const TEAMS = ['payments', 'identity', 'search', 'data', 'platform', 'mobile', 'ml', 'billing', 'growth', 'infra'];
const STAGES = ['prod', 'staging', 'dev', 'sandbox'];

export function generateEstate(opts: GenerateOptions): EstateInput {
  if (!Number.isInteger(opts.accounts) || opts.accounts < 1) throw new Error('--accounts must be a whole number of at least 1');
  if (!Number.isInteger(opts.resources) || opts.resources < 0) throw new Error('--resources must be a whole number of at least 0');
  const share = opts.misconfiguredShare ?? 0.2;
  if (!(share >= 0 && share <= 1)) throw new Error('--misconfigured must be between 0 and 1');
  const rng = new Rng(opts.seed);
  const accounts = Array.from({ length: opts.accounts }, (_, i) => {
    const acs = pickSome(rng, ACS_REGIONS, rng.int(1, 2));
    const aws = pickSome(rng, AWS_REGIONS, rng.int(1, 2));
    return {
      id: i === 0 ? '100931896542' : rng.digits(12),
      name: i === 0 ? 'management' : `${rng.pick(TEAMS)}-${rng.pick(STAGES)}-${i}`,
      regions: [...acs, ...aws],
    };
  });
  const types = allResourceTypes();
  const totalWeight = types.reduce((s, t) => s + t.weight, 0);
  const pickType = (): SandboxResourceType => {
    let x = rng.int(0, totalWeight * 1000 - 1) / 1000;
    for (const t of types) if ((x -= t.weight) < 0) return t;
    return types[types.length - 1]!;
  };
  const groups = new Map<string, string[]>();
  const resources: EstateInput['resources'] = [];
  const used = new Set<string>();
  for (let index = 0; index < opts.resources; index++) {
    const account = rng.pick(accounts);
    const def = pickType();
    const candidates = account.regions.filter((r) => (def.dialect === 'acs' ? ACS_REGIONS : AWS_REGIONS).includes(r));
    const regionId = rng.pick(candidates);
    const sgKey = `${account.id}/${regionId}/${def.dialect}`;
    const securityGroupIds = groups.get(sgKey) ?? [];
    const g = def.generate(rng, {
      accountId: account.id,
      regionId,
      index,
      misconfigured: rng.chance(share),
      approvedImages: APPROVED_IMAGES,
      securityGroupIds,
    });
    const key = `${account.id}/${regionId}/${def.type}/${g.id}`;
    if (used.has(key)) continue; // a random id collided; vanishingly rare
    used.add(key);
    if (def.type.endsWith('::SecurityGroup')) groups.set(sgKey, [...securityGroupIds.slice(-20), g.id]);
    resources.push({ account: account.id, region: regionId, type: def.type, id: g.id, tags: g.tags, configuration: g.configuration });
    if (opts.onProgress && (index + 1) % 1000 === 0) opts.onProgress(index + 1, opts.resources);
  }
  opts.onProgress?.(opts.resources, opts.resources);
  return { accounts, resources };
}

function pickSome<T>(rng: Rng, items: readonly T[], n: number): T[] {
  const pool = [...items];
  const out: T[] = [];
  while (out.length < n && pool.length) out.push(pool.splice(rng.int(0, pool.length - 1), 1)[0]!);
  return out;
}
