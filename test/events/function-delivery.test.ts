// Deliveries to a function that runs longer than the delivery lease: the
// worker delivering it keeps the lease, so a second worker sharing the store
// does not take the delivery up again, and the function runs once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { freshDb } from '../helpers/db.js';
import { createEngine } from '../../src/engine.js';
import { DeliveryWorker } from '../../src/events/delivery-worker.js';
import { webhookPolicyFromEnv } from '../../src/events/webhook.js';

const SLOW = `export async function handler(event: { n: number }) {
  await new Promise((r) => setTimeout(r, 3000));
  return event.n * 2;
}
`;

test('a function slower than the delivery lease is delivered once, by the worker that claimed it', async () => {
  const leaseMs = 1000; // the function runs three leases long
  const engine = createEngine(await freshDb(), { deliveryWorker: { leaseMs, pollMs: 50 }, functionWorker: { pollMs: 50, heartbeatMs: 100 } });
  const other = new DeliveryWorker(engine.deliveries, engine.topics, webhookPolicyFromEnv(), undefined, { leaseMs, pollMs: 50 }, engine.functionWorker);
  try {
    await engine.functions.deploy({ name: 'slow', fileName: 'slow.ts', source: SLOW });
    await engine.topics.putSubscription({ name: 'slow', endpoint: { function: 'slow' } });
    const eventId = randomUUID();
    const [id] = await engine.deliveries.publish(
      { eventId, type: 'io.confix.compliance.changed.v1', subject: 'r-1', time: new Date().toISOString(), body: { id: eventId, n: 21 } },
      [{ topic: 'default', subscription: 'slow' }],
    );
    engine.functionWorker.start();
    engine.deliveryWorker.start();
    other.start();
    const end = Date.now() + 20_000;
    let d = await engine.deliveries.get(id!);
    while (d.status !== 'DELIVERED' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
      d = await engine.deliveries.get(id!);
    }
    assert.equal(d.status, 'DELIVERED', JSON.stringify(d));
    assert.equal(d.attempt, 1, 'claimed once: the lease was kept while the function ran');
    assert.equal(d.attempts.length, 1);
    const invocations = await engine.invocations.list({ functionName: 'slow' });
    assert.equal(invocations.length, 1);
    assert.equal(invocations[0]!.result, 42);
    assert.ok((d.attempts[0]!.durationMs ?? 0) >= 2900, 'the attempt lasted as long as the function');
  } finally {
    await other.stop();
    await engine.deliveryWorker.stop();
    await engine.functionWorker.stop();
    await engine.db.close();
  }
});
