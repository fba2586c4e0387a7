// confix.yaml: the providers to govern, validated whole with located errors;
// without a file, the sandbox alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseConfig, rediscoveryPeriods } from '../../src/providers/config.js';

test('a configuration names the sandbox and AWS organizations, with defaults filled', () => {
  const c = parseConfig(
    `providers:
  - type: sandbox
  - type: aws
    name: aws-prod
    profile: prod
    regions: [us-east-1, eu-central-1]
    organization: { roleName: OrganizationAccountAccessRole, externalId: confix-7f3a }
    events: { queueUrl: https://sqs.us-east-1.amazonaws.com/123456789012/confix-events }
    concurrency: 8
    rediscoverEvery: 2h
`,
    'confix.yaml',
  );
  assert.equal(c.providers.length, 2);
  const aws = c.providers[1]!;
  assert.equal(aws.type, 'aws');
  if (aws.type !== 'aws') return;
  assert.deepEqual(
    [aws.name, aws.profile, aws.regions, aws.organization, aws.concurrency],
    ['aws-prod', 'prod', ['us-east-1', 'eu-central-1'], { roleName: 'OrganizationAccountAccessRole', externalId: 'confix-7f3a' }, 8],
  );
  assert.deepEqual(
    [...rediscoveryPeriods(c)],
    [
      ['sandbox', undefined],
      ['aws-prod', 7_200_000],
    ],
  );
  const minimal = parseConfig('providers: [{ type: aws, organization: false }]\n', 'c.yaml');
  assert.deepEqual(minimal.providers[0], { type: 'aws', name: 'aws', organization: false, rediscoverEvery: '30m' });
});

test('a bad configuration is refused whole, every problem at its line, and names no secret field', () => {
  const text = `providers:
  - type: aws
    regions: [us-east-1, mars-1]
    accessKeySecret: nope
  - type: aws
  - type: azure
`;
  let err: ConfigError | undefined;
  try {
    parseConfig(text, 'confix.yaml');
  } catch (e) {
    err = e as ConfigError;
  }
  assert.ok(err instanceof ConfigError);
  const lines = err.issues.map((i) => [i.path.join('.'), i.line]);
  assert.ok(
    lines.some(([p, l]) => p === 'providers.0.regions.1' && l === 3),
    JSON.stringify(lines),
  );
  assert.ok(lines.some(([p, l]) => p === 'providers.0' && l === 2) || lines.some(([p]) => String(p).startsWith('providers.0')), JSON.stringify(lines));
  assert.ok(
    err.issues.some((i) => /accessKeySecret/.test(i.message)),
    'the unknown key is named',
  );
  assert.ok(
    lines.some(([p]) => p === 'providers.2.type'),
    JSON.stringify(lines),
  );
  assert.match(err.message, /^confix\.yaml: \d+ problems, nothing was started:/);
  assert.throws(() => parseConfig('providers:\n  - type: aws\n  - type: aws\n', 'c.yaml'), /two providers are named aws/);
  assert.throws(() => parseConfig('providers: [{ type: aws, rediscoverEvery: 5s }]\n', 'c.yaml'), /at least a minute/);
});

test('without a file the sandbox alone governs; a named file must exist; ./confix.yaml is read when present', () => {
  const dir = mkdtempSync(join(tmpdir(), 'confix-config-'));
  assert.deepEqual(loadConfig(undefined, dir), { config: DEFAULT_CONFIG });
  assert.throws(() => loadConfig('nope.yaml', dir), /nope\.yaml: .*no such file/);
  writeFileSync(join(dir, 'confix.yaml'), 'providers: [{ type: sandbox }, { type: aws, name: prod, organization: false }]\n');
  const found = loadConfig(undefined, dir);
  assert.equal(found.file, join(dir, 'confix.yaml'));
  assert.deepEqual(
    found.config.providers.map((p) => p.name ?? p.type),
    ['sandbox', 'prod'],
  );
});

test('the README’s confix.yaml (Governing AWS) is one confix reads', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Governing AWS'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'a yaml block in Governing AWS');
  const config = parseConfig(block, 'README.md');
  assert.deepEqual(
    config.providers.map((p) => p.type),
    ['sandbox', 'aws'],
  );
  const aws = config.providers[1]!;
  assert.equal(aws.type === 'aws' && aws.name, 'aws-prod');
  assert.equal(rediscoveryPeriods(config).get('aws-prod'), 30 * 60_000);
});
