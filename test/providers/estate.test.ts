import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { freshDb } from '../helpers/db.js';
import { MGMT, sgEstate } from '../helpers/estate.js';
import { aliasBomb } from '../helpers/yaml-bomb.js';
import { EstateError, SandboxCloud, parseEstateText, readEstateFile, validateEstate } from '../../src/providers/sandbox/index.js';

const BAD_YAML = `accounts:
  - { id: "100931896542", name: management, regions: [cn-hangzhou] }
  - { id: "12345", name: short, regions: [cn-hangzhou] }
resources:
  - account: "100931896542"
    region: cn-hangzhou
    type: ACS::ECS::SecurityGroup
    id: sg-ok
    configuration: { SecurityGroupName: ok }
  - account: "100931896542"
    region: eu-nowhere-9
    type: ACS::ECS::SecurityGroup
    id: sg-wrong-region
  - account: "100931896542"
    region: cn-hangzhou
    type: ACS::ECS::Toaster
    id: t-1
  - account: "100931896542"
    region: cn-hangzhou
    type: ACS::ECS::SecurityGroup
    id: sg-bad-port
    configuration:
      Permissions:
        Permission:
          - { IpProtocol: TCP, PortRange: "22" }
`;

test('a bad estate is refused whole, every problem named with its line and entry', () => {
  const { raw, lineOf } = parseEstateText(BAD_YAML, 'bad.yaml');
  let err: EstateError | undefined;
  try {
    validateEstate(raw, 'bad.yaml', lineOf);
  } catch (e) {
    err = e as EstateError;
  }
  assert.ok(err instanceof EstateError);
  const byPath = Object.fromEntries(err.issues.map((i) => [i.path.join('.'), i]));
  assert.equal(byPath['accounts.1.id']?.line, 3);
  assert.match(byPath['accounts.1.id']!.message, /12-digit/);
  assert.equal(byPath['resources.1.region']?.line, 11);
  assert.match(byPath['resources.1.region']!.message, /not one of account 100931896542's regions/);
  assert.equal(byPath['resources.2.type']?.line, 16);
  assert.match(byPath['resources.2.type']!.message, /unknown resource type "ACS::ECS::Toaster"/);
  const port = err.issues.find((i) => i.path.join('.').startsWith('resources.3.configuration'));
  assert.ok(port, 'the bad port range is reported');
  assert.match(port.message, /sg-bad-port/);
  assert.ok(port.line && port.line >= 22, `line of the bad port range (${port.line})`);
  assert.match(err.message, /^estate bad.yaml refused \(\d+ problems\); nothing was loaded/);
  assert.match(err.message, /bad\.yaml:3: accounts\[1\]\.id/);
});

test('YAML syntax errors and JSON errors name the file and line', async () => {
  assert.throws(
    () => parseEstateText('accounts: [\n  {id: 1', 'broken.yaml'),
    (e: EstateError) => e instanceof EstateError && e.issues[0]!.line !== undefined,
  );
  assert.throws(() => parseEstateText('{"accounts": [', 'broken.json'), /broken\.json: .*not valid JSON/);
  await assert.rejects(readEstateFile('/nonexistent/estate.yaml'), /cannot read estate file \/nonexistent\/estate.yaml: no such file/);
});

test('loading a refused estate writes nothing, not even its valid accounts', async () => {
  const db = await freshDb();
  try {
    const sandbox = new SandboxCloud(db);
    const { raw } = parseEstateText(BAD_YAML, 'bad.yaml');
    await assert.rejects(sandbox.loadEstate(raw), EstateError);
    assert.equal((await sandbox.listAccounts()).length, 0);
    const ok = await sandbox.loadEstate(sgEstate());
    assert.deepEqual([ok.accounts, ok.resources, ok.created], [2, 3, 3]);
    // Resources may refer to accounts loaded earlier.
    const more = await sandbox.loadEstate({ resources: [{ account: MGMT, region: 'us-east-1', type: 'ACS::ECS::SecurityGroup', id: 'sg-later' }] });
    assert.equal(more.created, 1);
    const same = await sandbox.loadEstate(sgEstate());
    assert.deepEqual([same.created, same.updated, same.unchanged], [0, 0, 3]);
  } finally {
    await db.close();
  }
});

test('an estate declaring the same resource twice, or a mismatched id, is refused', () => {
  const e = sgEstate();
  e.resources.push({ ...e.resources[0]! });
  (e.resources[1]!.configuration as Record<string, unknown>).SecurityGroupId = 'sg-other';
  assert.throws(
    () => validateEstate(e),
    (err: EstateError) => err.issues.some((i) => /declared twice/.test(i.message)) && err.issues.some((i) => /differs from the entry's id/.test(i.message)),
  );
});

test('an estate file on disk is read and refused with its name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'confix-estate-'));
  const f = join(dir, 'e.yaml');
  writeFileSync(f, BAD_YAML);
  const { raw, lineOf } = await readEstateFile(f);
  assert.throws(() => validateEstate(raw, f, lineOf), new RegExp(`${f.replace(/[/.]/g, '\\$&')}:3: accounts\\[1\\]\\.id`));
});

test('loading an estate adds regions to an existing account unless replacing', async () => {
  const db = await freshDb();
  try {
    const sandbox = new SandboxCloud(db);
    await sandbox.loadEstate(sgEstate());
    await sandbox.loadEstate({ accounts: [{ id: MGMT, name: 'management', regions: ['eu-west-1'] }] });
    assert.deepEqual((await sandbox.listAccounts()).find((a) => a.accountId === MGMT)!.regions, ['cn-hangzhou', 'eu-west-1', 'us-east-1']);
    await sandbox.loadEstate({ accounts: [{ id: MGMT, name: 'management', regions: ['eu-west-1'] }] }, { replace: true });
    assert.deepEqual((await sandbox.listAccounts()).find((a) => a.accountId === MGMT)!.regions, ['eu-west-1']);
  } finally {
    await db.close();
  }
});

test('an alias bomb is refused at once, naming the file and why; nothing is expanded', async () => {
  const text = aliasBomb();
  assert.ok(text.length < 600, `${text.length} bytes`);
  const dir = mkdtempSync(join(tmpdir(), 'confix-estate-'));
  const f = join(dir, 'bomb.yaml');
  writeFileSync(f, text);
  const started = Date.now();
  let err: unknown;
  try {
    await readEstateFile(f);
  } catch (e) {
    err = e;
  }
  const ms = Date.now() - started;
  assert.ok(ms < 2000, `refused in ${ms} ms`);
  assert.ok(err instanceof EstateError, String(err));
  assert.equal(err.source, f);
  assert.match(err.message, new RegExp(`^estate ${f.replace(/[/.]/g, '\\$&')} refused \\(1 problem\\); nothing was loaded`));
  assert.match(err.message, /too many YAML aliases: they would stand for more than 100 values/);
});

test('an estate sharing a few blocks by alias still loads', async () => {
  const text = `accounts:
  - &acct { id: "${MGMT}", name: management, regions: &regions [cn-hangzhou, us-east-1] }
resources:
  - account: "${MGMT}"
    region: cn-hangzhou
    type: ACS::ECS::SecurityGroup
    id: sg-a
    tags: &tags { env: prod, team: web }
    configuration:
      SecurityGroupName: a
      Permissions: { Permission: &https [{ SecurityGroupRuleId: sgr-https, Direction: ingress, IpProtocol: TCP, PortRange: 443/443, SourceCidrIp: 0.0.0.0/0 }] }
  - account: "${MGMT}"
    region: us-east-1
    type: ACS::ECS::SecurityGroup
    id: sg-b
    tags: *tags
    configuration: { SecurityGroupName: b, Permissions: { Permission: *https } }
  - account: "${MGMT}"
    region: cn-hangzhou
    type: ACS::ECS::SecurityGroup
    id: sg-c
    tags: *tags
    configuration: { SecurityGroupName: c, Permissions: { Permission: *https } }
`;
  const { raw, lineOf } = parseEstateText(text, 'shared.yaml');
  validateEstate(raw, 'shared.yaml', lineOf);
  const db = await freshDb();
  try {
    const load = await new SandboxCloud(db).loadEstate(raw);
    assert.deepEqual([load.accounts, load.resources, load.created], [1, 3, 3]);
    const res = raw as { resources: { tags: Record<string, string> }[] };
    assert.deepEqual(res.resources[1]!.tags, { env: 'prod', team: 'web' });
  } finally {
    await db.close();
  }
});
