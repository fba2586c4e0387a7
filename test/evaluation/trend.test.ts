// The compliance trend reads only its window: the state at the window's start
// (each result's last entry before it) and the entries inside it, and replays
// them into points; an entry before the window still counts as the state it
// left, and a result fixed before the window does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freshDb } from '../helpers/db.js';
import { createEngine } from '../../src/engine.js';
import { validateRule } from '../../src/rules/model.js';

test('the trend starts from the state at its window and replays the entries inside it', async () => {
  const db = await freshDb();
  const engine = createEngine(db);
  try {
    const rule = await engine.rules.create(
      validateRule({ name: 'r', source: { managed: 'sg-risky-ports-check' }, scope: { resourceTypes: ['ACS::ECS::SecurityGroup'] } }),
    );
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    const entry = (resourceId: string, complianceType: string, at: Date, closed = false) =>
      db.query(
        `INSERT INTO evaluation_timeline (rule_id, account_id, region_id, resource_type, resource_id, compliance_type, closed, ordering_at, invoked_at, recorded_at)
         VALUES ($1, '100931896542', 'cn-hangzhou', 'ACS::ECS::SecurityGroup', $2, $3, $4, $5, $5, $5)`,
        [rule.ruleId, resourceId, complianceType, closed, at],
      );
    await entry('sg-old-open', 'NON_COMPLIANT', hoursAgo(48)); // still open: counts from the start
    await entry('sg-old-fixed', 'NON_COMPLIANT', hoursAgo(50));
    await entry('sg-old-fixed', 'COMPLIANT', hoursAgo(40)); // fixed before the window
    await entry('sg-new', 'NON_COMPLIANT', hoursAgo(2)); // inside the window
    await entry('sg-old-open', 'COMPLIANT', hoursAgo(1)); // fixed inside it

    const t = await engine.compliance.trend({ since: hoursAgo(6), buckets: 6 });
    assert.equal(t.points.length, 6);
    // Buckets end 5, 4, 3, 2 and 1 hours ago and now: sg-new joins by the one ending 2 hours ago, sg-old-open leaves by the next.
    assert.deepEqual(
      t.points.map((p) => p.nonCompliantResources),
      [1, 1, 1, 2, 1, 1],
      JSON.stringify(t.points),
    );
    // By default a day back (the first result is older): the same state at its start.
    const d = await engine.compliance.trend({ buckets: 4 });
    assert.ok(Date.now() - Date.parse(d.from) <= 24 * 3_600_000 + 1000, d.from);
    assert.equal(d.points[0]!.nonCompliantResources, 1);
    assert.equal(d.points.at(-1)!.nonCompliantResources, 1);
  } finally {
    await db.close();
  }
});
