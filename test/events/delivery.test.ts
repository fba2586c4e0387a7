// Events end to end on the running service: opening SSH to the world makes a
// compliance change and a remediation; subscriptions receive them in their
// formats, filtered, signed, each event with its stable id; a target that
// fails is retried and dead-lettered, then redelivered by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';
import { verifySignature } from '../../src/events/webhook.js';
import { until } from '../helpers/wait.js';
import { webhookReceiver } from '../helpers/webhook.js';

test('compliance and remediation events reach webhook subscriptions in their formats, signed; failures dead-letter and redeliver', async () => {
  process.env.CONFIX_WEBHOOK_ALLOW = '127.0.0.1';
  let failing = true;
  const { base, got, close } = await webhookReceiver((path) => (path === '/broken' && failing ? 503 : 200));
  const svc = await testService();
  try {
    const eb = await svc.topics.putSubscription({
      name: 'eventbridge-noncompliant',
      format: 'eventbridge',
      filter: {
        source: ['aws.config'],
        'detail-type': ['Config Rules Compliance Change'],
        detail: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } },
      },
      endpoint: { webhook: { url: `${base}/eventbridge` } },
    });
    assert.match(eb.secret!, /^whsec_/, 'a generated secret is shown once');
    await svc.topics.putSubscription({ name: 'native-all', endpoint: { webhook: { url: `${base}/native`, secret: 'a-long-enough-secret-1234' } } });
    await svc.topics.putSubscription({
      name: 'broken',
      maxAttempts: 2,
      filter: { type: ['io.confix.compliance.changed.v1'] },
      endpoint: { webhook: { url: `${base}/broken` } },
    });
    await assert.rejects(svc.topics.putSubscription({ name: 'internal', endpoint: { webhook: { url: 'http://10.0.0.1/' } } }), /internal address/);
    svc.publisher.invalidate();

    const open = await svc.api('/sandbox/actions/ecs:AuthorizeSecurityGroup', {
      json: { parameters: { SecurityGroupId: 'sg-web-prod', IpProtocol: 'TCP', PortRange: '22/22', SourceCidrIp: '0.0.0.0/0' } },
    });
    assert.equal(open.status, 200, JSON.stringify(open.body));

    // The EventBridge subscriber sees the NON_COMPLIANT change only, in seed 002's shape, signed.
    const ebGot = await until('the EventBridge delivery', () => got.find((g) => g.path === '/eventbridge'));
    const ev = JSON.parse(ebGot.body);
    assert.equal(ev['detail-type'], 'Config Rules Compliance Change');
    assert.equal(ev.detail.messageType, 'ComplianceChangeNotification');
    assert.equal(ev.detail.newEvaluationResult.complianceType, 'NON_COMPLIANT');
    assert.equal(ev.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.resourceId, 'sg-web-prod');
    assert.ok(verifySignature(eb.secret!, String(ebGot.headers['x-confix-signature']), ebGot.body));
    assert.equal(ebGot.headers['x-confix-event-id'], ev.id, 'the stable event id goes with every attempt');

    // The native subscriber sees the change, the remediation's start and success, and the change back to COMPLIANT.
    const types = async () =>
      got
        .filter((g) => g.path === '/native')
        .map((g) => JSON.parse(g.body))
        .filter((e) => e.subject === 'sg-web-prod');
    const seen = await until('the remediation events', async () => {
      const t = await types();
      return t.some((e) => e.type === 'io.confix.remediation.succeeded.v1') &&
        t.some((e) => e.type === 'io.confix.compliance.changed.v1' && e.data.newEvaluationResult.complianceType === 'COMPLIANT')
        ? t
        : undefined;
    });
    assert.ok(seen.some((e) => e.type === 'io.confix.remediation.started.v1'));
    assert.equal(seen[0].specversion, '1.0');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(got.filter((g) => g.path === '/eventbridge').length, 1, 'the COMPLIANT change is filtered out of the EventBridge subscription');

    // The broken endpoint: retried, then dead-lettered; redelivered by hand once it works.
    const dead = await until('the dead letter', async () => {
      await svc.db.query("UPDATE deliveries SET not_before = now() WHERE status = 'QUEUED' AND subscription = 'broken'");
      svc.deliveryWorker.wake();
      const d = await svc.deliveries.list({ subscription: 'broken', status: 'DEAD' });
      return d.length ? d : undefined;
    });
    assert.equal(dead[0]!.attempts.length, 2);
    assert.match(dead[0]!.lastError!, /answered 503/);
    failing = false;
    // Disabled, a subscription gets nothing, even by hand: the delivery goes back to the dead letters, saying why.
    const brokenSub = await svc.topics.subscription('default', 'broken');
    await svc.topics.putSubscription({
      name: 'broken',
      maxAttempts: 2,
      filter: brokenSub.filter,
      state: 'DISABLED',
      endpoint: { webhook: { url: `${base}/broken`, secret: 'a-long-enough-secret-5678' } },
    });
    const sentBefore = got.filter((g) => g.path === '/broken').length;
    await svc.deliveries.redeliver(dead.map((d) => d.deliveryId));
    svc.deliveryWorker.wake();
    const refused = await until('the disabled redelivery', async () => {
      const d = await svc.deliveries.get(dead[0]!.deliveryId);
      return d.status === 'DEAD' && d.attempts.length === 3 ? d : undefined;
    });
    assert.equal(refused.lastError, 'the subscription is disabled; enable it and redeliver');
    assert.equal(got.filter((g) => g.path === '/broken').length, sentBefore, 'nothing was sent');
    await svc.topics.putSubscription({
      name: 'broken',
      maxAttempts: 2,
      filter: brokenSub.filter,
      endpoint: { webhook: { url: `${base}/broken`, secret: 'a-long-enough-secret-5678' } },
    });
    await svc.deliveries.redeliver(dead.map((d) => d.deliveryId));
    svc.deliveryWorker.wake();
    await until('the redelivery', async () => ((await svc.deliveries.get(dead[0]!.deliveryId)).status === 'DELIVERED' ? true : undefined));
  } finally {
    await svc.close();
    await close();
    delete process.env.CONFIX_WEBHOOK_ALLOW;
  }
});
