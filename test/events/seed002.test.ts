// Seed 002 end to end on the running service: an EC2 instance launched from
// an AMI not on approved-amis-by-id's list turns NON_COMPLIANT; the
// "Config Rules Compliance Change" event, in EventBridge's shape, reaches
// the seed's Lambda (examples/seed-002/start-remediation.ts) through a
// subscription filtered on NON_COMPLIANT; the function starts the rule's
// remediation (StartRemediationExecution) through confix's API, and
// AWS-StopEC2Instance stops the instance. The result stays NON_COMPLIANT, as
// approved-amis-by-id judges stopped instances too (as AWS Config does,
// until the instance is terminated).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { testService } from '../helpers/service.js';
import { parseEstateText } from '../../src/providers/sandbox/index.js';
import { readPolicyDocuments } from '../../src/policy/files.js';
import type { AttemptRecord } from '../../src/events/deliveries.js';
import { until } from '../helpers/wait.js';

const ESTATE = 'examples/estates/seed-002.yaml';
const POLICY = 'examples/policies/seed-002-approved-amis.yaml';
const CODE = 'examples/seed-002/start-remediation.ts';
const RULE = 'approved-amis-by-id';
const FN = 'start-remediation';
const SUB = 'approved-amis-remediation';
const ACCOUNT = '123456789012';
const REGION = 'eu-central-1';

test('seed 002: an instance from an unapproved AMI is stopped by the remediation the subscribed function starts', async (t) => {
  const svc = await testService({ demo: false });
  try {
    const { raw } = parseEstateText(readFileSync(ESTATE, 'utf8'), ESTATE);
    assert.equal((await svc.api('/sandbox/estate', { json: { estate: raw } })).status, 200);
    const docs = readPolicyDocuments([POLICY]).map(({ source, kind, body }) => ({ source, kind, body }));
    const applied = await svc.api('/policy/apply', { json: { documents: docs } });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const result = async (id: string) =>
      (await svc.api(`/compliance?rule=${RULE}&resourceId=${id}`)).body.items[0] as { complianceType: string; annotation: string } | undefined;
    assert.equal((await result('i-0c0ffee0000000201'))?.complianceType, 'COMPLIANT');

    await svc.functions.deploy({ name: FN, fileName: 'start-remediation.ts', source: readFileSync(CODE, 'utf8') });
    await svc.topics.putSubscription({
      topic: 'default',
      name: SUB,
      format: 'eventbridge',
      filter: { detail: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } },
      endpoint: { function: FN },
    });
    svc.publisher.invalidate();

    let instance = '';
    await t.test('launching an instance from an unapproved AMI gets it stopped', async () => {
      const run = await svc.api('/sandbox/actions/ec2:RunInstances', {
        json: { accountId: ACCOUNT, regionId: REGION, parameters: { ImageId: 'ami-0123456789abcdef0', InstanceType: 't3.micro' } },
      });
      assert.equal(run.status, 200, JSON.stringify(run.body));
      instance = run.body.resourceId;

      const [d] = await until('the delivery to the function', async () => {
        const ds = await svc.deliveries.list({ topic: 'default', subscription: SUB, status: 'DELIVERED' });
        return ds.length ? ds : undefined;
      });
      const a = d!.attempts as AttemptRecord[];
      const inv = await svc.invocations.get(a[0]!.invocationId!);
      assert.equal(inv.status, 'SUCCEEDED', JSON.stringify(inv.error));
      assert.deepEqual(inv.source, { type: 'subscription', id: d!.deliveryId, subscription: `default/${SUB}` });
      const event = inv.input as any;
      assert.equal(event['detail-type'], 'Config Rules Compliance Change');
      assert.equal(event.detail.configRuleName, RULE);
      assert.equal(event.detail.resourceId, instance);
      assert.equal(event.detail.newEvaluationResult.complianceType, 'NON_COMPLIANT');
      // What StartRemediationExecution answered, as the Lambda returns it.
      const answer = inv.result as { queued: { executionId: string; resourceId: string; trigger: string }[]; failed: unknown[] };
      assert.deepEqual(answer.failed, []);
      assert.equal(answer.queued.length, 1);
      assert.equal(answer.queued[0]!.resourceId, instance);
      assert.equal(answer.queued[0]!.trigger, 'API');

      const x = await until('the remediation to end', async () => {
        const e = (await svc.api(`/executions/${answer.queued[0]!.executionId}`)).body;
        return ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(e.status) ? e : undefined;
      });
      assert.equal(x.status, 'SUCCEEDED', JSON.stringify(x));
      assert.equal(x.action, 'AWS-StopEC2Instance');
      assert.equal(x.trigger, 'API');
      const res = (await svc.api(`/resources/${instance}`)).body;
      assert.equal(res.configuration.State.Name, 'stopped');
      assert.equal(res.configuration.State.Code, 80);

      // Stopped is not approved: approved-amis-by-id judges stopped instances as well.
      const r = await result(instance);
      assert.equal(r?.complianceType, 'NON_COMPLIANT');
      assert.match(r!.annotation, /ami-0123456789abcdef0 is not approved/);
      assert.equal((await result('i-0c0ffee0000000201'))?.complianceType, 'COMPLIANT', 'the approved instance is left alone');
    });

    await t.test("the remediation's own events and COMPLIANT changes do not reach the function", async () => {
      await svc.publisher.idle();
      await new Promise((r) => setTimeout(r, 500));
      const events = await svc.db.query<{ type: string }>('SELECT type FROM events WHERE subject = $1', [instance]);
      assert.ok(
        events.some((e) => e.type === 'io.confix.remediation.succeeded.v1'),
        'the remediation was published',
      );
      const ds = await svc.deliveries.list({ topic: 'default', subscription: SUB });
      assert.equal(ds.length, 1, 'only the NON_COMPLIANT change matched the filter');
      assert.equal((await svc.invocations.list({ functionName: FN })).length, 1);
    });

    await t.test('the function itself acts on NON_COMPLIANT only, as the Lambda does', async () => {
      const sample = (complianceType: string) => ({
        version: '0',
        id: 'f0e2d5c4-0000-4000-8000-000000000002',
        'detail-type': 'Config Rules Compliance Change',
        source: 'aws.config',
        account: ACCOUNT,
        time: '2019-04-08T08:48:05Z',
        region: REGION,
        resources: [],
        detail: {
          resourceId: instance,
          configRuleName: RULE,
          newEvaluationResult: {
            evaluationResultIdentifier: { evaluationResultQualifier: { configRuleName: RULE, resourceType: 'AWS::EC2::Instance', resourceId: instance } },
            complianceType,
          },
        },
      });
      const ignored = await svc.functionWorker.invokeAndWait({ functionName: FN, input: sample('COMPLIANT'), source: { type: 'manual' } });
      assert.equal(ignored.status, 'SUCCEEDED');
      assert.equal(ignored.result, null, 'nothing done, nothing answered (None)');
      const again = await svc.functionWorker.invokeAndWait({ functionName: FN, input: sample('NON_COMPLIANT'), source: { type: 'manual' } });
      assert.equal(again.status, 'SUCCEEDED', JSON.stringify(again.error));
      assert.equal((again.result as { queued: unknown[] }).queued.length, 1, 'a manual start of a stopped instance is queued (and finds nothing to do)');
    });
  } finally {
    await svc.close();
  }
});
