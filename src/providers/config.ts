/**
 * The configuration file (`confix.yaml`): which clouds confix governs. It
 * names the providers and where their credentials come from, never a secret:
 *
 *   providers:
 *     - type: sandbox                     # the embedded emulated cloud (the default without a file)
 *     - type: aws
 *       name: aws-prod                    # on every recorded resource (default aws)
 *       profile: prod                     # a profile of ~/.aws/config (else AWS_PROFILE, the SDK's chain)
 *       regions: [us-east-1, eu-central-1]   # default: every region enabled in each account
 *       organization:                     # or false: only the account of the credentials
 *         roleName: OrganizationAccountAccessRole
 *         externalId: confix-7f3a         # when the role's trust policy asks for one
 *       events:
 *         queueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/confix-events
 *       concurrency: 4                    # requests in flight per account
 *       rediscoverEvery: 30m              # full discovery, to catch what events miss
 *
 * Validated whole: a bad file is refused with every problem at its line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { parseDuration } from '../util/duration.js';
import type { SandboxCloud } from './sandbox/index.js';
import type { Provider } from './types.js';
import type { Logger } from '../util/log.js';
import { ConfixError } from '../errors.js';

const name = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'a name of lower-case letters, digits and -, starting with a letter');
const duration = z.string().refine((s) => {
  const ms = parseDuration(s);
  return ms !== undefined && ms >= 60_000;
}, 'a duration of at least a minute, such as 30m, 2h or 1d');

const sandboxEntry = z.strictObject({
  type: z.literal('sandbox'),
  name: z.literal('sandbox').optional(),
  rediscoverEvery: duration.optional(),
});

const awsEntry = z.strictObject({
  type: z.literal('aws'),
  name: name.default('aws'),
  profile: z.string().min(1).max(128).optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1')
    .optional(),
  regions: z
    .array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'))
    .min(1)
    .optional(),
  organization: z
    .union([
      z.literal(false),
      z.strictObject({
        roleName: z
          .string()
          .regex(/^[\w+=,.@-]{1,64}$/, 'an IAM role name')
          .optional(),
        externalId: z.string().min(2).max(1224).optional(),
        sessionName: z
          .string()
          .regex(/^[\w+=,.@-]{2,64}$/, 'an STS session name')
          .optional(),
      }),
    ])
    .optional(),
  events: z.strictObject({ queueUrl: z.string().url('the queue URL, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME') }).optional(),
  endpoint: z.string().url().optional(),
  concurrency: z.int().min(1).max(64).optional(),
  rediscoverEvery: duration.default('30m'),
});

export const configSchema = z.strictObject({
  providers: z.array(z.discriminatedUnion('type', [sandboxEntry, awsEntry])).min(1, 'name at least one provider'),
});

export type ConfixConfig = z.output<typeof configSchema>;
export type ProviderEntry = ConfixConfig['providers'][number];

/** What governs without a file: the sandbox alone, as before there was one. */
export const DEFAULT_CONFIG: ConfixConfig = { providers: [{ type: 'sandbox' }] };

export class ConfigError extends ConfixError {
  constructor(
    readonly file: string,
    override readonly issues: { path: (string | number)[]; message: string; line?: number }[],
  ) {
    super(
      'InvalidConfig',
      'invalid',
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}, nothing was started:\n` +
        issues.map((i) => `  ${file}${i.line ? `:${i.line}` : ''}: ${i.path.join('.') || '(file)'}: ${i.message}`).join('\n'),
      { issues },
    );
  }
}

/** Parses and validates configuration text; every problem is reported at its line. */
export function parseConfig(text: string, file: string): ConfixConfig {
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length)
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({ path: [], message: e.message.split('\n')[0] ?? e.message, line: e.linePos?.[0]?.line })),
    );
  const lineOf = (path: (string | number)[]) => {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = p.length ? doc.getIn(p, true) : doc.contents;
      if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
      if (!p.length) return undefined;
    }
  };
  const parsed = configSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success)
    throw new ConfigError(
      file,
      parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message, line: lineOf(i.path as (string | number)[]) })),
    );
  const names = new Set<string>();
  const dup: { path: (string | number)[]; message: string; line?: number }[] = [];
  parsed.data.providers.forEach((p, i) => {
    const n = p.name ?? p.type;
    if (names.has(n))
      dup.push({ path: ['providers', i, 'name'], message: `two providers are named ${n}; give each its own name`, line: lineOf(['providers', i]) });
    names.add(n);
  });
  if (dup.length) throw new ConfigError(file, dup);
  return parsed.data;
}

/**
 * The configuration to use: `file` when given (it must exist), else
 * ./confix.yaml when present, else the default (the sandbox alone).
 */
export function loadConfig(file?: string, cwd = process.cwd()): { config: ConfixConfig; file?: string } {
  const path = file ? resolve(cwd, file) : resolve(cwd, 'confix.yaml');
  if (!existsSync(path)) {
    if (file) throw new ConfigError(file, [{ path: [], message: 'no such file' }]);
    return { config: DEFAULT_CONFIG };
  }
  return { config: parseConfig(readFileSync(path, 'utf8'), file ?? 'confix.yaml'), file: path };
}

/**
 * The providers a configuration names, as a factory for createEngine (the
 * sandbox is the engine's own). The AWS SDK is loaded only when an aws entry
 * asks for it.
 */
export async function buildProviders(config: ConfixConfig, log?: Logger): Promise<(sandbox: SandboxCloud) => Provider[]> {
  const AwsProvider = config.providers.some((p) => p.type === 'aws') ? (await import('./aws/index.js')).AwsProvider : undefined;
  return (sandbox) =>
    config.providers.map((p) => {
      if (p.type === 'sandbox') return sandbox;
      return new AwsProvider!({
        name: p.name,
        profile: p.profile,
        region: p.region,
        regions: p.regions,
        organization: p.organization,
        eventsQueueUrl: p.events?.queueUrl,
        concurrencyPerAccount: p.concurrency,
        endpoint: p.endpoint,
        log: log?.child({ component: p.name }),
      });
    });
}

/** How often each provider is discovered again in full (ms; the sandbox's default is the service's discovery interval). */
export function rediscoveryPeriods(config: ConfixConfig): Map<string, number | undefined> {
  return new Map(config.providers.map((p) => [p.name ?? p.type, p.rediscoverEvery ? parseDuration(p.rediscoverEvery) : undefined]));
}
