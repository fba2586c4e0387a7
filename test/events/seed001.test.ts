// Seed 001 end to end on the running service: Cloud Config's non-compliance
// notification goes to the MNS topic MNSTestConfig, whose subscription
// invokes the seed's function (examples/seed-001/oss-repair-acl.ts, the
// Python ported) with the base64 message; the function, running as
// AliyunFCLogExecutionRole, makes the bucket private; the rule turns
// COMPLIANT. An event of another rule is ignored by the function's filter
// ('fail'); a function that fails is retried, then dead-lettered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testService } from '../helpers/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { readPolicyDocuments } from '../../src/policy/files.js';
import { FunctionInUseError } from '../../src/functions/store.js';
import type { AttemptRecord, Delivery } from '../../src/events/deliveries.js';
import type { Invocation } from '../../src/functions/invocations.js';
import { until } from '../helpers/wait.js';

const ESTATE = 'examples/estates/seed-001.yaml';
const POLICY = 'examples/seed-001/policy.yaml';
const CODE = 'examples/seed-001/oss-repair-acl.ts';
const RULE = 'test-oss-bucket-public-read-prohibited';
const OTHER_RULE = 'oss-public-read-audit';
const FN = 'oss_repair_acl_trigger';
const TOPIC = 'MNSTestConfig';
const SUB = 'ConfigRuleNonComplianceMNSTrigger';
const BUCKET = 'config-snapshot';

/** The Cloud Config notification an invocation was given (the base64 MNS message body). */
function notification(inv: Invocation): any {
  assert.equal(typeof inv.input, 'string', 'an MNS trigger passes the message body, a string');
  return JSON.parse(Buffer.from(inv.input as string, 'base64').toString('utf8'));
}

const ruleOf = (inv: Invocation) => notification(inv).evaluationResultIdentifier.evaluationResultQualifier.configRuleName as string;
const attemptsOf = (d: Delivery) => d.attempts as AttemptRecord[];

test('seed 001: a public bucket is made private by the function subscribed to the MNS topic; other rules are ignored; failures retry and dead-letter', async (t) => {
  const svc = await testService({ demo: false });
  try {
    const { raw } = parseEstateText(readFileSync(ESTATE, 'utf8'), ESTATE);
    const load = await svc.api('/sandbox/estate', { json: { estate: raw } });
    assert.equal(load.status, 200, JSON.stringify(load.body));

    const acl = async () => (await svc.api(`/resources/${BUCKET}`)).body.configuration.AccessControlList.Grant as string;
    const result = async (rule: string) => (await svc.api(`/compliance?rule=${rule}&resourceId=${BUCKET}`)).body.items[0]?.complianceType as string | undefined;
    const delivered = async (subscription: string, n: number) => {
      const ds = await svc.deliveries.list({ topic: TOPIC, subscription, status: 'DELIVERED' });
      return ds.length >= n ? ds : undefined;
    };
    const invocations = async (ds: Delivery[]) => Promise.all(ds.map((d) => svc.invocations.get(attemptsOf(d).at(-1)!.invocationId!)));
    assert.equal(await acl(), 'public-read');

    // confix function deploy oss_repair_acl_trigger --file … --role AliyunFCLogExecutionRole --env prepareRuleName=…
    await svc.functions.deploy({
      name: FN,
      fileName: 'oss-repair-acl.ts',
      source: readFileSync(CODE, 'utf8'),
      role: 'AliyunFCLogExecutionRole',
      env: { prepareRuleName: RULE },
    });
    // confix topic put MNSTestConfig --filter …: non-compliance only, as Cloud Config sends to MNS.
    await svc.topics.putTopic({
      name: TOPIC,
      filter: { type: ['io.confix.compliance.changed.v1'], data: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } },
    });

    await t.test('a function endpoint must name a deployed function, and gets no secret', async () => {
      await assert.rejects(
        svc.topics.putSubscription({ topic: TOPIC, name: 'x', format: 'mns', endpoint: { function: 'oss_repair_acl' } }),
        (err: Error & { path?: string }) => {
          assert.equal(err.path, 'endpoint.function');
          assert.match(err.message, /no function named "oss_repair_acl"; deploy it first with `confix function deploy oss_repair_acl --file …`/);
          return true;
        },
      );
      await assert.rejects(
        svc.topics.putSubscription({ topic: TOPIC, name: 'x', endpoint: { function: FN, secret: 'a-long-enough-secret-1234' } }),
        /endpoint/,
      );
      const sub = await svc.topics.putSubscription({ topic: TOPIC, name: SUB, format: 'mns', endpoint: { function: FN } });
      assert.deepEqual(sub.endpoint, { type: 'function', function: FN });
      assert.equal(sub.secret, undefined);
      assert.equal((await svc.topics.target(TOPIC, SUB))!.secret, undefined);
      svc.publisher.invalidate();
      await assert.rejects(
        svc.functions.remove(FN),
        (err: Error) => err instanceof FunctionInUseError && /subscription MNSTestConfig\/ConfigRuleNonComplianceMNSTrigger/.test(err.message),
      );
    });

    await t.test('applying the rule finds the bucket public; the function makes it private; the rule turns COMPLIANT', async () => {
      const docs = readPolicyDocuments([POLICY]).map(({ source, kind, body }) => ({ source, kind, body }));
      const applied = await svc.api('/policy/apply', { json: { documents: docs } });
      assert.equal(applied.status, 200, JSON.stringify(applied.body));

      const [d] = await until('the delivery to the function', () => delivered(SUB, 1));
      const a = attemptsOf(d!);
      assert.equal(a.length, 1);
      assert.equal(a[0]!.ok, true);
      assert.match(a[0]!.invocationId!, /^inv-/, 'the attempt names its invocation');
      const inv = await svc.invocations.get(a[0]!.invocationId!);
      assert.equal(inv.status, 'SUCCEEDED', JSON.stringify(inv.error));
      assert.equal(inv.result, 'success');
      assert.equal(inv.functionName, FN);
      assert.deepEqual(inv.source, { type: 'subscription', id: d!.deliveryId, subscription: `${TOPIC}/${SUB}` });
      assert.equal(inv.idempotencyKey, `delivery:${d!.deliveryId}:1`);
      const n = notification(inv);
      assert.equal(n.dataType, 'NonCompliantNotification');
      assert.deepEqual(
        [
          n.evaluationResultIdentifier.evaluationResultQualifier.configRuleName,
          n.evaluationResultIdentifier.evaluationResultQualifier.resourceId,
          n.evaluationResultIdentifier.evaluationResultQualifier.regionId,
        ],
        [RULE, BUCKET, 'ap-southeast-1'],
      );
      const logs = inv.logs.map((l) => l.message).join('\n');
      assert.match(logs, /mns_topic trigger event = eyJ/);
      assert.match(logs, /bucket config-snapshot in ap-southeast-1 acl remedy succ\./);

      assert.equal(await acl(), 'private');
      await until('the rule to turn COMPLIANT', async () => ((await result(RULE)) === 'COMPLIANT' ? true : undefined));
    });

    await t.test("an event of another rule is left alone by the function's rule-name filter", async () => {
      const other = {
        source: 'test',
        kind: 'Rule',
        body: {
          name: OTHER_RULE,
          source: { managed: 'oss-bucket-public-read-prohibited' },
          scope: { resourceTypes: ['ACS::OSS::Bucket'] },
          triggers: ['ConfigurationChange'],
          riskLevel: 3,
        },
      };
      assert.equal((await svc.api('/policy/apply', { json: { documents: [other] } })).status, 200);
      assert.equal(await result(OTHER_RULE), 'COMPLIANT');

      // Someone makes the bucket public again: both rules find it; only the seed's rule gets it fixed.
      const put = await svc.api('/sandbox/actions/oss:PutBucketAcl', { json: { parameters: { BucketName: BUCKET, Acl: 'public-read' } } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const ds = await until('the deliveries of both rules', () => delivered(SUB, 3));
      const invs = await invocations(ds);
      const mine = invs.filter((i) => ruleOf(i) === RULE);
      const theirs = invs.filter((i) => ruleOf(i) === OTHER_RULE);
      assert.equal(mine.length, 2);
      assert.equal(theirs.length, 1);
      assert.deepEqual(
        mine.map((i) => [i.status, i.result]),
        [
          ['SUCCEEDED', 'success'],
          ['SUCCEEDED', 'success'],
        ],
      );
      assert.equal(theirs[0]!.status, 'SUCCEEDED');
      assert.equal(theirs[0]!.result, 'fail', "the seed's filter: configRuleName is not prepareRuleName");
      assert.doesNotMatch(theirs[0]!.logs.map((l) => l.message).join('\n'), /remedy/, 'it touched nothing');
      assert.equal(await acl(), 'private');
      await until('both rules to turn COMPLIANT', async () =>
        (await result(RULE)) === 'COMPLIANT' && (await result(OTHER_RULE)) === 'COMPLIANT' ? true : undefined,
      );
    });

    await t.test('a function that fails is retried with backoff, dead-lettered, and runs again when redelivered by hand', async () => {
      // Subscribed in the wrong format: the function gets an EventBridge object, and base64-decoding it raises, as in Python.
      const wrong = 'wrong-format';
      await svc.topics.putSubscription({
        topic: TOPIC,
        name: wrong,
        format: 'eventbridge',
        maxAttempts: 2,
        filter: { detail: { configRuleName: [RULE] } },
        endpoint: { function: FN },
      });
      svc.publisher.invalidate();
      await svc.api('/sandbox/actions/oss:PutBucketAcl', { json: { parameters: { BucketName: BUCKET, Acl: 'public-read' } } });

      const [dead] = await until('the dead letter', async () => {
        await svc.db.query(`UPDATE deliveries SET not_before = now() WHERE status = 'QUEUED' AND subscription = $1`, [wrong]);
        const d = await svc.deliveries.list({ topic: TOPIC, subscription: wrong, status: 'DEAD' });
        return d.length ? d : undefined;
      });
      const a = attemptsOf(dead!);
      assert.equal(a.length, 2);
      assert.deepEqual(
        a.map((x) => [x.attempt, x.ok]),
        [
          [1, false],
          [2, false],
        ],
      );
      assert.match(dead!.lastError!, /^TypeError: argument should be a bytes-like object or ASCII string, not 'dict'/);
      const invs = await Promise.all(a.map((x) => svc.invocations.get(x.invocationId!)));
      assert.deepEqual(
        invs.map((i) => i.status),
        ['FAILED', 'FAILED'],
      );
      assert.deepEqual(
        invs.map((i) => i.idempotencyKey),
        [`delivery:${dead!.deliveryId}:1`, `delivery:${dead!.deliveryId}:2`],
        'one invocation per attempt',
      );
      assert.equal((invs[0]!.input as { 'detail-type': string })['detail-type'], 'Config Rules Compliance Change');

      // The right subscription fixed the bucket meanwhile.
      await until('the bucket to be private again', async () => ((await acl()) === 'private' ? true : undefined));

      // Redelivered by hand, the function runs again (a new invocation, not the failed one answered again).
      await svc.deliveries.redeliver([dead!.deliveryId]);
      svc.deliveryWorker.wake();
      const again = await until('the redelivered attempt', async () => {
        const d = await svc.deliveries.get(dead!.deliveryId);
        return d.attempts.length >= 3 ? d : undefined;
      });
      const third = attemptsOf(again).at(-1)!;
      assert.equal(third.attempt, 1);
      assert.ok(third.invocationId && !a.some((x) => x.invocationId === third.invocationId));
      assert.equal((await svc.invocations.get(third.invocationId)).idempotencyKey, `delivery:${dead!.deliveryId}:3`);
      await svc.topics.removeSubscription(TOPIC, wrong);
      svc.publisher.invalidate();
    });

    await t.test("the call is authorised by the role's policy: without oss:PutBucketAcl it is refused, and the function answers 'fail'", async () => {
      const account = '160048723791';
      const policy = `/sandbox/iam/${account}/policies/OssRepairBucketAclPolicy`;
      const narrow = { Version: '1', Statement: [{ Effect: 'Allow', Action: 'oss:GetBucketInfo', Resource: `acs:oss:*:${account}:*` }] };
      assert.equal((await svc.api(policy, { method: 'PUT', json: { document: narrow } })).status, 200);
      await svc.api('/sandbox/actions/oss:PutBucketAcl', { json: { parameters: { BucketName: BUCKET, Acl: 'public-read' } } });
      // The seed catches the error and answers 'fail': the invocation SUCCEEDED, the delivery counts as delivered.
      const inv = await until('the refused remedy', async () =>
        (await invocations((await delivered(SUB, 0))!)).find((i) => ruleOf(i) === RULE && i.result === 'fail'),
      );
      assert.equal(inv.status, 'SUCCEEDED');
      const logs = inv.logs.map((l) => l.message).join('\n');
      assert.match(logs, /remedy fail!/);
      assert.match(logs, /NoPermission/);
      assert.match(logs, /oss:PutBucketAcl/);
      assert.equal(await acl(), 'public-read');
      assert.equal(await result(RULE), 'NON_COMPLIANT');
    });
  } finally {
    await svc.close();
  }
});
