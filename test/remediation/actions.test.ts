import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { freshDb } from '../helpers/db.js';
import { MEMBER, MGMT } from '../helpers/estate.js';
import { SandboxCloud, parseEstateText } from '../../src/providers/sandbox/index.js';
import { DEMO_ESTATE } from '../../src/service.js';
import '../../src/remediation/actions/index.js';
import { allActions, remediationAction } from '../../src/remediation/registry.js';
import type { ActionContext, ApplyOutcome, Preview, RemediationAction } from '../../src/remediation/types.js';
import type { DiffOp } from '../../src/inventory/diff.js';
import type { Configuration } from '../../src/providers/types.js';
import type { Db } from '../../src/store/index.js';

let db: Db;
let sandbox: SandboxCloud;
let estate: any;

before(async () => {
  db = await freshDb();
  sandbox = new SandboxCloud(db);
  estate = parseEstateText(readFileSync(DEMO_ESTATE, 'utf8'), DEMO_ESTATE).raw;
  // Two resources the demo lacks: a bucket with Block Public Access on, a group mixing world and private sources.
  estate.resources.push(
    {
      account: MGMT,
      region: 'cn-hangzhou',
      type: 'ACS::OSS::Bucket',
      id: 'confix-test-blocked',
      configuration: { AccessControlList: { Grant: 'private' }, BlockPublicAccess: true },
    },
    {
      account: MEMBER,
      region: 'us-east-1',
      type: 'AWS::EC2::SecurityGroup',
      id: 'sg-0mixed0000000000',
      configuration: {
        GroupName: 'mixed',
        Description: 'world and office sources',
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: '0.0.0.0/0', Description: 'oops' }, { CidrIp: '10.0.0.0/8' }] },
          { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: '::/0' }], IpRanges: [{ CidrIp: '203.0.113.0/24' }] },
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
          { IpProtocol: 'icmp', FromPort: -1, ToPort: -1, IpRanges: [{ CidrIp: '0.0.0.0/0' }] },
        ],
      },
    },
  );
});
// Every test starts from the estate as written: loading it again puts back every changed configuration.
beforeEach(async () => {
  await sandbox.loadEstate(structuredClone(estate));
});
after(async () => {
  await db.close();
});

type Ctx = ActionContext & { calls: { action: string; params: Record<string, unknown> }[] };

/** An execution context for a resource of the sandbox, recording the calls made through it. */
async function ctxFor(resourceType: string, resourceId: string): Promise<Ctx> {
  const [row] = await db.query<{ account_id: string; region_id: string }>(
    'SELECT account_id, region_id FROM sandbox_resources WHERE resource_type = $1 AND resource_id = $2',
    [resourceType, resourceId],
  );
  assert.ok(row, `${resourceType} ${resourceId} is in the estate`);
  const key = { accountId: row.account_id, regionId: row.region_id, resourceType, resourceId };
  const state = await sandbox.describe(key);
  assert.ok(state);
  const calls: Ctx['calls'] = [];
  return {
    resource: { ...key, configuration: state.configuration, tags: state.tags },
    calls,
    async call(action, params) {
      calls.push({ action, params });
      const r = await sandbox.call(action, { accountId: key.accountId, regionId: key.regionId }, params);
      return { changed: r.changed, result: r.result };
    },
    async describe(type, id) {
      return (await sandbox.describe({ accountId: key.accountId, regionId: key.regionId, resourceType: type, resourceId: id }))?.configuration ?? null;
    },
  };
}

const config = async (type: string, id: string): Promise<any> => (await ctxFor(type, id)).resource.configuration;
const changeCount = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sandbox_changes'))[0]!.n;

function action(name: string): RemediationAction {
  const a = remediationAction(name);
  assert.ok(a, `${name} is registered`);
  return a;
}

/** Parameter errors as an engine would show them: "path: message". */
function paramErrors(name: string, raw: Record<string, unknown>): string[] {
  const r = action(name).parameters.safeParse(raw);
  assert.ok(!r.success, `${JSON.stringify(raw)} is refused`);
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

function assertNamed(name: string, raw: Record<string, unknown>, param: string): void {
  const errors = paramErrors(name, raw);
  assert.ok(
    errors.some((e) => e.includes(param)),
    `an error names ${param}: ${errors.join('; ')}`,
  );
}

/** Applies JSON Patch operations (add, remove, replace) to a copy of doc. */
function patched(doc: unknown, ops: DiffOp[]): any {
  const out = structuredClone(doc) as any;
  for (const o of ops) {
    const segs = o.path
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const key = segs.pop()!;
    const parent = segs.reduce((cur, s) => cur[s], out);
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key);
      if (o.op === 'add') parent.splice(i, 0, o.value);
      else if (o.op === 'remove') parent.splice(i, 1);
      else parent[i] = o.value;
    } else if (o.op === 'remove') delete parent[key];
    else parent[key] = o.value;
  }
  return out;
}

/**
 * The life of one successful remediation: preview changes nothing and shows
 * exactly the change apply then makes; verify passes; a second run is a noop
 * that makes no call; rollback (when the action has one) is returned for the
 * caller to check. Returns what the caller asserts on.
 */
async function lifecycle(name: string, type: string, id: string, raw: Record<string, unknown>) {
  const a = action(name);
  const params = a.parameters.parse(raw);
  const ctx = await ctxFor(type, id);
  const before: Configuration = ctx.resource.configuration;
  const n0 = await changeCount();

  const preview: Preview = await a.preview(ctx, params);
  assert.equal(preview.refusal, undefined, `no refusal: ${preview.refusal}`);
  assert.ok(!preview.noop, `there is something to do: ${preview.summary}`);
  assert.ok(preview.changes.length > 0 || raw.force === true, 'the preview shows changes');
  assert.deepEqual(await config(type, id), before, 'preview changed nothing');
  assert.equal(await changeCount(), n0, 'preview wrote no change');
  assert.equal(ctx.calls.length, 0, 'preview made no call');

  const outcome: ApplyOutcome = await a.apply(ctx, params);
  assert.ok(ctx.calls.length > 0, 'apply made a call');
  const afterApply = await config(type, id);
  assert.deepEqual(afterApply, patched(before, preview.changes), 'apply made exactly the previewed change');
  const fresh = await ctxFor(type, id);
  const v = await a.verify(fresh, params);
  assert.equal(v.ok, true, v.message);

  // Again, on a fresh read: nothing to do, no call, nothing changes.
  const again = await ctxFor(type, id);
  const p2 = await a.preview(again, params);
  assert.equal(p2.noop, true, `second preview is a noop: ${p2.summary}`);
  assert.deepEqual(p2.changes, []);
  const o2 = await a.apply(again, params);
  assert.equal(again.calls.length, 0, 'second apply made no call');
  assert.match(o2.summary, /^nothing to/);
  assert.deepEqual(await config(type, id), afterApply);
  assert.equal((await a.verify(again, params)).ok, true);

  const rollback = async () => {
    assert.ok(a.rollback, `${name} has a rollback`);
    const r = await a.rollback(await ctxFor(type, id), outcome.priorState);
    return { summary: r.summary, after: await config(type, id) };
  };
  return { a, params, ctx, before, preview, outcome, afterApply, rollback };
}

const ids = (c: any): string[] => c.Permissions.Permission.map((p: any) => p.SecurityGroupRuleId);
/** ACS rules without what the cloud assigns (ids, creation times), in a stable order. */
const acsRulesOf = (c: any) => c.Permissions.Permission.map(({ SecurityGroupRuleId: _i, CreateTime: _t, ...r }: any) => JSON.stringify(r)).sort();
const removedIds = (changes: DiffOp[]) =>
  changes
    .filter((o) => o.op === 'remove')
    .map((o) => (o.previousValue as any).SecurityGroupRuleId)
    .sort();

// --- registration -------------------------------------------------------------

test('all eight actions are registered, with their resource parameter and bindings in their parameter schema', () => {
  assert.deepEqual(
    allActions()
      .map((a) => a.name)
      .sort(),
    [
      'ACS-CMS-InstallMonitoringAgent',
      'ACS-ECS-RevokeSecurityGroupRules',
      'ACS-ECS-StartInstance',
      'ACS-ECS-StopInstance',
      'ACS-OSS-PutBucketAcl',
      'AWS-DisablePublicAccessForSecurityGroup',
      'AWS-DisableS3BucketPublicReadWrite',
      'AWS-StopEC2Instance',
    ],
  );
  for (const a of allActions()) {
    const keys = Object.keys((a.parameters as z.ZodObject).shape);
    assert.ok(keys.includes(a.resourceParameter), `${a.name}: ${a.resourceParameter} in ${keys.join(', ')}`);
    for (const k of Object.keys(a.defaultBindings ?? {})) assert.ok(keys.includes(k), `${a.name}: binding ${k}`);
    assert.ok(a.permissions.length >= 2 && a.description.length > 80, a.name);
    // Unknown parameters are refused, by name.
    assertNamed(a.name, { [a.resourceParameter]: 'x', regionId: 'cn-hangzhou', bogusParam: 1 }, 'bogusParam');
  }
});

// --- ACS-ECS-RevokeSecurityGroupRules -------------------------------------------

const REVOKE = 'ACS-ECS-RevokeSecurityGroupRules';
const SG = 'ACS::ECS::SecurityGroup';

test('RevokeSecurityGroupRules without ids revokes exactly the SSH and RDP world rules; rollback authorizes them again', async () => {
  const r = await lifecycle(REVOKE, SG, 'sg-debug-open', { regionId: 'cn-hangzhou', securityGroupId: 'sg-debug-open' });
  assert.deepEqual(removedIds(r.preview.changes), ['sgr-debug-rdp-world', 'sgr-debug-ssh-world']);
  assert.ok(r.preview.changes.every((o) => o.op === 'remove' && o.path.startsWith('/Permissions/Permission/')));
  assert.equal(
    r.preview.summary,
    'revoke 2 ingress rules open to the Internet: sgr-debug-ssh-world (TCP 22/22 from 0.0.0.0/0), sgr-debug-rdp-world (TCP 3389/3389 from 0.0.0.0/0)',
  );
  assert.deepEqual(r.ctx.calls, [
    { action: 'ecs:RevokeSecurityGroup', params: { SecurityGroupId: 'sg-debug-open', SecurityGroupRuleId: ['sgr-debug-ssh-world', 'sgr-debug-rdp-world'] } },
  ]);
  assert.deepEqual(ids(r.afterApply), ['sgr-debug-http']);
  assert.deepEqual(
    (r.outcome.priorState as any).permissions.map((p: any) => p.SecurityGroupRuleId),
    ['sgr-debug-ssh-world', 'sgr-debug-rdp-world'],
  );
  assert.equal((r.outcome.priorState as any).permissions[0].Description, 'temporary debug', 'prior state holds the full rules');

  const back = await r.rollback();
  assert.deepEqual(acsRulesOf(back.after), acsRulesOf(r.before), 'rollback restores the rules (with new ids)');
  assert.equal(back.after.Permissions.Permission.length, 3);
  assert.match(back.summary, /authorized again 2 ingress rules/);
  // Rolling back twice adds nothing: authorizing ignores rules already there.
  await action(REVOKE).rollback!(await ctxFor(SG, 'sg-debug-open'), r.outcome.priorState);
  assert.equal((await config(SG, 'sg-debug-open')).Permissions.Permission.length, 3);
});

test('RevokeSecurityGroupRules with rule ids revokes only those; ids not in the group are ignored', async () => {
  const r = await lifecycle(REVOKE, SG, 'sg-debug-open', {
    regionId: 'cn-hangzhou',
    securityGroupId: 'sg-debug-open',
    securityGroupRuleIds: ['sgr-debug-ssh-world'],
  });
  assert.deepEqual(removedIds(r.preview.changes), ['sgr-debug-ssh-world']);
  assert.deepEqual(ids(r.afterApply), ['sgr-debug-rdp-world', 'sgr-debug-http']);
  const back = await r.rollback();
  assert.deepEqual(acsRulesOf(back.after), acsRulesOf(r.before));

  // A comma-separated string works too; a missing id is named and skipped.
  const a = action(REVOKE);
  const params = a.parameters.parse({ regionId: 'cn-hangzhou', securityGroupId: 'sg-debug-open', securityGroupRuleIds: 'sgr-debug-http, sgr-nope' });
  assert.deepEqual(params.securityGroupRuleIds, ['sgr-debug-http', 'sgr-nope']);
  const ctx = await ctxFor(SG, 'sg-debug-open');
  const p = await a.preview(ctx, params);
  assert.match(p.summary, /^revoke 1 ingress rule: sgr-debug-http \(TCP 80\/80 from 0\.0\.0\.0\/0\) \(not in the group, ignored: sgr-nope\)$/);
  await a.apply(ctx, params);
  assert.ok(!ids(await config(SG, 'sg-debug-open')).includes('sgr-debug-http'));

  // None of the ids exist: noop, no call.
  const none = a.parameters.parse({ regionId: 'cn-hangzhou', securityGroupId: 'sg-debug-open', securityGroupRuleIds: ['sgr-nope'] });
  const ctx2 = await ctxFor(SG, 'sg-debug-open');
  assert.equal((await a.preview(ctx2, none)).noop, true);
  await a.apply(ctx2, none);
  assert.equal(ctx2.calls.length, 0);
});

test('RevokeSecurityGroupRules refuses a service-managed group, an egress rule id and another resource', async () => {
  const a = action(REVOKE);
  const ctx = await ctxFor(SG, 'sg-ack-managed');
  const params = a.parameters.parse({ regionId: 'cn-hangzhou', securityGroupId: 'sg-ack-managed' });
  const p = await a.preview(ctx, params);
  assert.match(p.refusal ?? '', /service-managed/);
  assert.deepEqual(p.changes, []);
  await assert.rejects(a.apply(ctx, params), (e: Error) => e.message === p.refusal);
  assert.equal(ctx.calls.length, 0);
  assert.equal((await config(SG, 'sg-ack-managed')).Permissions.Permission.length, 1);

  const web = await ctxFor(SG, 'sg-web-prod');
  const egress = await a.preview(
    web,
    a.parameters.parse({ regionId: 'cn-hangzhou', securityGroupId: 'sg-web-prod', securityGroupRuleIds: ['sgr-web-egress'] }),
  );
  assert.match(egress.refusal ?? '', /sgr-web-egress is an egress rule/);
  const other = await a.preview(web, a.parameters.parse({ regionId: 'cn-hangzhou', securityGroupId: 'sg-debug-open' }));
  assert.match(other.refusal ?? '', /securityGroupId "sg-debug-open" is not the resource/);
  const region = await a.preview(web, a.parameters.parse({ regionId: 'cn-shanghai', securityGroupId: 'sg-web-prod' }));
  assert.match(region.refusal ?? '', /regionId "cn-shanghai"/);
  // Nothing open on 22/3389 in sg-web-prod (443 is not a listed port; SSH is from the office).
  const noop = await a.preview(web, a.parameters.parse({ regionId: 'cn-hangzhou', securityGroupId: 'sg-web-prod' }));
  assert.equal(noop.noop, true, noop.summary);
});

test('RevokeSecurityGroupRules counts an IPv6 ::/0 range covering a port, and honours ports', async () => {
  const r = await lifecycle(REVOKE, SG, 'sg-member-db', { regionId: 'cn-hangzhou', securityGroupId: 'sg-member-db' });
  assert.deepEqual(removedIds(r.preview.changes), ['sgr-db-range-world']);
  assert.match(r.preview.summary, /sgr-db-range-world \(TCP 20\/25 from ::\/0\)/);
  assert.deepEqual(ids(r.afterApply), ['sgr-db-mysql']);
  const back = await r.rollback();
  assert.deepEqual(acsRulesOf(back.after), acsRulesOf(r.before));

  const http = await lifecycle(REVOKE, SG, 'sg-debug-open', { regionId: 'cn-hangzhou', securityGroupId: 'sg-debug-open', ports: '80' });
  assert.deepEqual(ids(http.afterApply), ['sgr-debug-ssh-world', 'sgr-debug-rdp-world']);
});

test('RevokeSecurityGroupRules parameter errors name the parameter', () => {
  assertNamed(REVOKE, { regionId: 'cn-hangzhou' }, 'securityGroupId');
  assertNamed(REVOKE, { securityGroupId: 'sg-x' }, 'regionId');
  assertNamed(REVOKE, { regionId: 'cn-hangzhou', securityGroupId: 'sg-x', ports: '22,http' }, 'ports');
  assertNamed(REVOKE, { regionId: 'cn-hangzhou', securityGroupId: 'sg-x', securityGroupRuleIds: [] }, 'securityGroupRuleIds');
  assertNamed(REVOKE, { regionId: 'cn-hangzhou', securityGroupId: 'sg-x', securityGroupRuleIds: 7 }, 'securityGroupRuleIds');
  assert.deepEqual(action(REVOKE).parameters.parse({ regionId: 'r', securityGroupId: 'sg-x' }).ports, [22, 3389]);
});

// --- ACS-OSS-PutBucketAcl -----------------------------------------------------------

const ACL = 'ACS-OSS-PutBucketAcl';
const OSS = 'ACS::OSS::Bucket';

test('PutBucketAcl makes a public bucket private; rollback makes it public-read again', async () => {
  const r = await lifecycle(ACL, OSS, 'confix-demo-public-assets', { regionId: 'cn-hangzhou', bucketName: 'confix-demo-public-assets' });
  assert.deepEqual(r.preview.changes, [{ op: 'replace', path: '/AccessControlList/Grant', value: 'private', previousValue: 'public-read' }]);
  assert.equal(r.afterApply.AccessControlList.Grant, 'private');
  assert.deepEqual(r.outcome.priorState, { bucketName: 'confix-demo-public-assets', acl: 'public-read' });
  const back = await r.rollback();
  assert.deepEqual(back.after, r.before);

  // A private bucket elsewhere is already fine; a public ACL on a blocked bucket is refused.
  const a = action(ACL);
  const logs = await ctxFor(OSS, 'confix-demo-logs');
  assert.equal((await a.preview(logs, a.parameters.parse({ regionId: 'ap-southeast-1', bucketName: 'confix-demo-logs' }))).noop, true);
  const blocked = await ctxFor(OSS, 'confix-test-blocked');
  const params = a.parameters.parse({ regionId: 'cn-hangzhou', bucketName: 'confix-test-blocked', acl: 'public-read' });
  const p = await a.preview(blocked, params);
  assert.match(p.refusal ?? '', /Block Public Access is on/);
  await assert.rejects(a.apply(blocked, params), (e: Error) => e.message === p.refusal);
  assert.equal(blocked.calls.length, 0);
});

test('PutBucketAcl parameter errors name the parameter', () => {
  assertNamed(ACL, { regionId: 'r', bucketName: 'b', acl: 'public' }, 'acl');
  assertNamed(ACL, { regionId: 'r' }, 'bucketName');
  assertNamed(ACL, { regionId: 'r', bucketName: '  ' }, 'bucketName');
  assert.equal(action(ACL).parameters.parse({ regionId: 'r', bucketName: 'b' }).acl, 'private');
});

// --- ACS-ECS-StopInstance / StartInstance ----------------------------------------

const ECS = 'ACS::ECS::Instance';

test('StopInstance stops a running instance; rollback starts it; an instance already stopped stays so', async () => {
  const r = await lifecycle('ACS-ECS-StopInstance', ECS, 'i-bp1mgmtweb000000001', { regionId: 'cn-hangzhou', instanceId: 'i-bp1mgmtweb000000001' });
  assert.deepEqual(r.preview.changes, [{ op: 'replace', path: '/Status', value: 'Stopped', previousValue: 'Running' }]);
  assert.deepEqual(r.ctx.calls, [{ action: 'ecs:StopInstance', params: { InstanceId: 'i-bp1mgmtweb000000001' } }]);
  assert.deepEqual(r.outcome.priorState, { instanceId: 'i-bp1mgmtweb000000001', status: 'Running' });
  const back = await r.rollback();
  assert.deepEqual(back.after, r.before);

  // Stopping the stopped batch instance: nothing to do, and rollback must not start it.
  const a = action('ACS-ECS-StopInstance');
  const params = a.parameters.parse({ regionId: 'cn-hangzhou', instanceId: 'i-bp1memberbatch00001' });
  const ctx = await ctxFor(ECS, 'i-bp1memberbatch00001');
  assert.equal((await a.preview(ctx, params)).noop, true);
  const o = await a.apply(ctx, params);
  await a.rollback!(await ctxFor(ECS, 'i-bp1memberbatch00001'), o.priorState);
  assert.equal(ctx.calls.length, 0);
  assert.equal((await config(ECS, 'i-bp1memberbatch00001')).Status, 'Stopped');
});

test('StartInstance starts a stopped instance; rollback stops it; a running one is left running', async () => {
  const r = await lifecycle('ACS-ECS-StartInstance', ECS, 'i-bp1memberbatch00001', { regionId: 'cn-hangzhou', instanceId: 'i-bp1memberbatch00001' });
  assert.deepEqual(r.preview.changes, [{ op: 'replace', path: '/Status', value: 'Running', previousValue: 'Stopped' }]);
  assert.equal(r.afterApply.Status, 'Running');
  const back = await r.rollback();
  assert.deepEqual(back.after, r.before);

  const a = action('ACS-ECS-StartInstance');
  const params = a.parameters.parse({ regionId: 'cn-hangzhou', instanceId: 'i-bp1mgmtweb000000001' });
  const o = await a.apply(await ctxFor(ECS, 'i-bp1mgmtweb000000001'), params);
  const rb = await a.rollback!(await ctxFor(ECS, 'i-bp1mgmtweb000000001'), o.priorState);
  assert.match(rb.summary, /^nothing to restore/);
  assert.equal((await config(ECS, 'i-bp1mgmtweb000000001')).Status, 'Running');
  assertNamed('ACS-ECS-StartInstance', { regionId: 'r' }, 'instanceId');
  assertNamed('ACS-ECS-StopInstance', { regionId: 'r', instanceId: 42 }, 'instanceId');
});

// --- ACS-CMS-InstallMonitoringAgent -------------------------------------------------

const CMS = 'ACS-CMS-InstallMonitoringAgent';

test('InstallMonitoringAgent installs the agent where it is missing; refuses stopped instances; has no rollback', async () => {
  const a = action(CMS);
  assert.equal(a.rollback, undefined);
  // The resource id is bound as a string: it becomes a list of one.
  const r = await lifecycle(CMS, ECS, 'i-bp1memberapp0000001', { regionId: 'cn-hangzhou', instanceIds: 'i-bp1memberapp0000001' });
  assert.deepEqual(r.params.instanceIds, ['i-bp1memberapp0000001']);
  assert.deepEqual(r.preview.changes, [{ op: 'replace', path: '/MonitoringAgentStatus', value: 'running', previousValue: 'not_installed' }]);
  assert.deepEqual(r.ctx.calls, [{ action: 'cms:InstallMonitoringAgent', params: { InstanceIds: ['i-bp1memberapp0000001'], Force: false } }]);
  assert.deepEqual(r.outcome.priorState, { statuses: { 'i-bp1memberapp0000001': 'not_installed' } });

  // The stopped batch instance (agent stopped) cannot get it: refused, before any call.
  const batch = await ctxFor(ECS, 'i-bp1memberbatch00001');
  const both = a.parameters.parse({ regionId: 'cn-hangzhou', instanceIds: ['i-bp1memberapp0000001', 'i-bp1memberbatch00001'] });
  const p = await a.preview(batch, both);
  assert.match(p.refusal ?? '', /i-bp1memberbatch00001 is Stopped/);
  await assert.rejects(a.apply(batch, both), (e: Error) => e.message === p.refusal);
  assert.equal(batch.calls.length, 0);
  assert.equal((await a.verify(batch, both)).ok, false, 'verify fails while the batch agent is stopped');

  // Force reinstalls a running agent: one call, no configuration change.
  const web = await ctxFor(ECS, 'i-bp1mgmtweb000000001');
  const plain = a.parameters.parse({ regionId: 'cn-hangzhou', instanceIds: 'i-bp1mgmtweb000000001' });
  assert.equal((await a.preview(web, plain)).noop, true);
  const forced = a.parameters.parse({ regionId: 'cn-hangzhou', instanceIds: 'i-bp1mgmtweb000000001', force: true });
  const fp = await a.preview(web, forced);
  assert.ok(!fp.noop);
  assert.deepEqual(fp.changes, []);
  await a.apply(web, forced);
  assert.equal(web.calls.length, 1);
  assert.deepEqual(await config(ECS, 'i-bp1mgmtweb000000001'), web.resource.configuration);
});

test('InstallMonitoringAgent parameter errors name the parameter', () => {
  assertNamed(CMS, { regionId: 'r', instanceIds: [] }, 'instanceIds');
  assertNamed(CMS, { regionId: 'r', instanceIds: ['i-1'], force: 'yes' }, 'force');
  assertNamed(CMS, { instanceIds: ['i-1'] }, 'regionId');
  assert.equal(action(CMS).parameters.parse({ regionId: 'r', instanceIds: ['i-1'] }).force, false);
});

// --- AWS-StopEC2Instance ----------------------------------------------------------------

test('AWS-StopEC2Instance stops a running instance and accepts AutomationAssumeRole; rollback starts it', async () => {
  const r = await lifecycle('AWS-StopEC2Instance', 'AWS::EC2::Instance', 'i-0a1b2c3d4e5f60001', {
    InstanceId: 'i-0a1b2c3d4e5f60001',
    AutomationAssumeRole: 'arn:aws:iam::100931896542:role/remediation',
  });
  assert.deepEqual(
    [...r.preview.changes].sort((x, y) => x.path.localeCompare(y.path)),
    [
      { op: 'replace', path: '/State/Code', value: 80, previousValue: 16 },
      { op: 'replace', path: '/State/Name', value: 'stopped', previousValue: 'running' },
    ],
  );
  assert.deepEqual(r.ctx.calls, [{ action: 'ec2:StopInstances', params: { InstanceIds: ['i-0a1b2c3d4e5f60001'] } }]);
  const back = await r.rollback();
  assert.deepEqual(back.after, r.before);
  assertNamed('AWS-StopEC2Instance', {}, 'InstanceId');
  assertNamed('AWS-StopEC2Instance', { InstanceId: 'i-1', AutomationAssumeRole: 5 }, 'AutomationAssumeRole');
});

// --- AWS-DisablePublicAccessForSecurityGroup --------------------------------------------

const DPA = 'AWS-DisablePublicAccessForSecurityGroup';
const EC2SG = 'AWS::EC2::SecurityGroup';
/** EC2 permissions compared as sets: the order of permissions, and of sources within one, is not meaningful. */
const byCidr = (a: any, b: any) => String(a.CidrIp ?? a.CidrIpv6).localeCompare(String(b.CidrIp ?? b.CidrIpv6));
const permsOf = (c: any) =>
  c.IpPermissions.map((p: any) => JSON.stringify({ ...p, IpRanges: [...p.IpRanges].sort(byCidr), Ipv6Ranges: [...p.Ipv6Ranges].sort(byCidr) })).sort();

test('DisablePublicAccessForSecurityGroup revokes RDP open to the world; rollback authorizes it again', async () => {
  const r = await lifecycle(DPA, EC2SG, 'sg-0123456789abcdef0', { GroupId: 'sg-0123456789abcdef0' });
  assert.equal(r.preview.summary, 'revoke 1 ingress permission open to the Internet: TCP 3389 from 0.0.0.0/0');
  assert.deepEqual(
    r.preview.changes.map((o) => [o.op, o.path]),
    [['remove', '/IpPermissions/0']],
  );
  assert.deepEqual(r.afterApply.IpPermissions, []);
  assert.deepEqual(r.afterApply.IpPermissionsEgress, r.before.IpPermissionsEgress, 'egress untouched');
  const back = await r.rollback();
  assert.deepEqual(permsOf(back.after), permsOf(r.before));
  // Nothing missing any more: a second rollback makes no call (EC2 would refuse the duplicate).
  const ctx = await ctxFor(EC2SG, 'sg-0123456789abcdef0');
  assert.match((await action(DPA).rollback!(ctx, r.outcome.priorState)).summary, /^nothing to restore/);
  assert.equal(ctx.calls.length, 0);

  // HTTPS open to the world is not this action's business.
  const lb = await ctxFor(EC2SG, 'sg-0fedcba9876543210');
  assert.equal((await action(DPA).preview(lb, { GroupId: 'sg-0fedcba9876543210' })).noop, true);
});

test('DisablePublicAccessForSecurityGroup revokes only the world sources of ranges covering 22/3389', async () => {
  const r = await lifecycle(DPA, EC2SG, 'sg-0mixed0000000000', { GroupId: 'sg-0mixed0000000000' });
  assert.equal(r.preview.summary, 'revoke 2 ingress permissions open to the Internet: TCP 0-65535 from 0.0.0.0/0, TCP 22 from ::/0');
  const after = Object.fromEntries(
    r.afterApply.IpPermissions.map((p: any) => [
      `${p.IpProtocol} ${p.FromPort}`,
      [...p.IpRanges.map((x: any) => x.CidrIp), ...p.Ipv6Ranges.map((x: any) => x.CidrIpv6)],
    ]),
  );
  assert.deepEqual(after, { 'tcp 0': ['10.0.0.0/8'], 'tcp 22': ['203.0.113.0/24'], 'tcp 443': ['0.0.0.0/0'], 'icmp -1': ['0.0.0.0/0'] });
  const back = await r.rollback();
  assert.deepEqual(permsOf(back.after), permsOf(r.before), 'the world sources come back, descriptions included');
  assertNamed(DPA, {}, 'GroupId');
  assertNamed(DPA, { GroupId: 'sg-1', IpAddressToBlock: '0.0.0.0/0' }, 'IpAddressToBlock');
});

// --- AWS-DisableS3BucketPublicReadWrite ---------------------------------------------------

const S3 = 'AWS-DisableS3BucketPublicReadWrite';

test('DisableS3BucketPublicReadWrite turns the public access block on; rollback puts the old values back', async () => {
  const r = await lifecycle(S3, 'AWS::S3::Bucket', 'confix-demo-website', { S3BucketName: 'confix-demo-website' });
  assert.deepEqual(r.preview.changes.map((o) => [o.path, o.previousValue, o.value]).sort(), [
    ['/PublicAccessBlockConfiguration/BlockPublicAcls', false, true],
    ['/PublicAccessBlockConfiguration/BlockPublicPolicy', false, true],
    ['/PublicAccessBlockConfiguration/IgnorePublicAcls', false, true],
    ['/PublicAccessBlockConfiguration/RestrictPublicBuckets', false, true],
  ]);
  assert.deepEqual(r.ctx.calls[0]?.action, 's3:PutBucketPublicAccessBlock');
  assert.deepEqual(r.afterApply.Acl, r.before.Acl, 'the ACL itself is left alone');
  const back = await r.rollback();
  assert.deepEqual(back.after, r.before);

  const backups = await ctxFor('AWS::S3::Bucket', 'confix-demo-backups');
  assert.equal((await action(S3).preview(backups, { S3BucketName: 'confix-demo-backups' })).noop, true);
  assertNamed(S3, {}, 'S3BucketName');
  assertNamed(S3, { S3BucketName: ['a'] }, 'S3BucketName');
});

test('a rollback with an unusable prior state says so instead of acting', async () => {
  const ctx = await ctxFor('AWS::S3::Bucket', 'confix-demo-website');
  await assert.rejects(action(S3).rollback!(ctx, { bucket: 'confix-demo-website' }), /prior state is not usable \(previous:/);
  assert.equal(ctx.calls.length, 0);
});
