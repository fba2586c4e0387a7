// Seed 001's README walkthrough (examples/seed-001/README.md), exactly as it
// prints it, on a fresh service that loaded the demo: the estate replaces the
// demo's organization (said in the load's summary), the function subscribed to
// MNSTestConfig makes config-snapshot private, the rule turns COMPLIANT again,
// and breaking the bucket again is fixed again, the demo rule's notification
// being left alone by the seed's code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { testService } from '../helpers/service.js';
import { ROOT, checkOwnStoreBlock, oneLine, outputOf, readmeCommands, readmeQuote, runReadmeCommands } from '../helpers/readme.js';
import { until } from '../helpers/wait.js';

const README = join(ROOT, 'examples/seed-001/README.md');
const RULE = 'test-oss-bucket-public-read-prohibited';
const DEMO_RULE = 'oss-bucket-public-read-prohibited';
const FN = 'oss_repair_acl_trigger';
const TOPIC = 'MNSTestConfig';
const BUCKET = 'config-snapshot';
const ACCOUNT = '160048723791';

test('the seed 001 walkthrough on a demo store: the function subscribed to MNSTestConfig makes config-snapshot private, twice', async (t) => {
  const svc = await testService({ demo: true });
  try {
    const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: svc.token };
    // The store of its own the walkthrough offers (not started here: this runs on the demo store).
    assert.equal(await checkOwnStoreBlock('## Run it', README), '.confix/seed-001');
    const setup = readmeCommands('Set the seed up, the subscription before the rule:', README);
    const look = readmeCommands('Then look at what happened:', README);
    const breakAgain = readmeCommands('Break it again and watch it being fixed:', README);
    assert.ok(setup.at(-1)!.includes('apply -f examples/seed-001/policy.yaml'), 'the rule comes last');
    assert.ok(
      look.some((c) => c.includes('inv-…')),
      'the walkthrough looks at one invocation',
    );

    const compliance = async (rule: string) =>
      (await svc.api(`/compliance?rule=${rule}&resourceId=${BUCKET}&accountId=${ACCOUNT}`)).body.items[0]?.complianceType as string | undefined;
    const acl = async () => (await svc.api(`/resources/${BUCKET}?accountId=${ACCOUNT}`)).body.configuration.AccessControlList.Grant as string;
    const invocations = () => svc.invocations.list({ functionName: FN });
    const deliveries = () => svc.deliveries.list({ topic: TOPIC });

    // Set up: the load says it replaced the demo's organization.
    const ran = await runReadmeCommands(setup, env);
    const load = outputOf(ran, 'sandbox load');
    assert.match(load, /loaded examples\/estates\/seed-001\.yaml: 1 accounts, 1 resources/);
    const replaced = readmeQuote("the organization was replaced by the file's", README);
    assert.match(replaced, /management account 100931896542 → 160048723791/);
    assert.ok(oneLine(load).includes(replaced), `the load says what the README quotes: ${replaced}\n${load}`);
    assert.match(outputOf(ran, 'subscription put'), /function oss_repair_acl_trigger, mns format/);

    // "COMPLIANT, within a second or two".
    const applied = Date.now();
    await until(
      'config-snapshot COMPLIANT again, its delivery DELIVERED',
      async () => (await compliance(RULE)) === 'COMPLIANT' && (await deliveries()).some((d) => d.status === 'DELIVERED'),
      20_000,
    );
    t.diagnostic(`fixed ${Date.now() - applied} ms after apply returned`);
    assert.equal(await acl(), 'private');

    // One delivery and one invocation: the demo's public bucket is outside the seed rule's scope.
    const [delivery, ...moreDeliveries] = await deliveries();
    assert.equal(moreDeliveries.length, 0, 'one delivery');
    assert.equal(delivery!.status, 'DELIVERED');
    const [inv, ...moreInvocations] = await invocations();
    assert.equal(moreInvocations.length, 0, 'one invocation');
    assert.equal(inv!.status, 'SUCCEEDED');
    assert.equal(inv!.result, 'success');
    const logs = inv!.logs.map((l) => l.message).join('\n');
    assert.match(logs, /mns_topic trigger event = eyJ/);
    assert.match(logs, /bucket config-snapshot in ap-southeast-1 acl remedy succ\./);
    const notification = JSON.parse(Buffer.from(inv!.input as string, 'base64').toString('utf8'));
    assert.equal(notification.evaluationResultIdentifier.evaluationResultQualifier.configRuleName, RULE);
    assert.equal(notification.evaluationResultIdentifier.evaluationResultQualifier.resourceId, BUCKET);

    // Look, with the invocation listed in place of inv-…: what each comment promises.
    const seen = await runReadmeCommands(
      look.map((c) => c.replace('inv-…', inv!.invocationId)),
      env,
    );
    const table = outputOf(seen, 'get compliance');
    assert.match(table, new RegExp(`${RULE}\\s+${BUCKET}\\s+ACS::OSS::Bucket\\s+${ACCOUNT}\\s+COMPLIANT`));
    assert.match(table, new RegExp(`${RULE}\\s+NON_COMPLIANT → COMPLIANT`));
    assert.match(table, new RegExp(`${RULE}\\s+NON_COMPLIANT\\s+bucket ACL is public-read`));
    assert.match(table, new RegExp(`${DEMO_RULE}\\s+${BUCKET}.*COMPLIANT`), 'the demo rule judges it too');
    const history = outputOf(seen, 'history');
    assert.match(history, /\(2 configuration items\)/);
    assert.match(history, /v2 .*\n\s+~ AccessControlList\.Grant: "public-read" → "private"/);
    const listed = outputOf(seen, 'get deliveries')
      .split('\n')
      .filter((l) => l.startsWith('dl-'));
    assert.equal(listed.length, 1, 'one delivery listed');
    assert.match(listed[0]!, /DELIVERED/);
    const invs = outputOf(seen, 'get invocations')
      .split('\n')
      .filter((l) => l.startsWith('inv-'));
    assert.equal(invs.length, 1, 'one invocation listed');
    assert.match(invs[0]!, /SUCCEEDED\s+subscription MNSTestConfig\/ConfigRuleNonComplianceMNSTrigger/);
    const one = outputOf(seen, 'get invocation ');
    assert.match(one, /^input:\n\s+"eyJ/m);
    assert.match(one, /^result: "success"$/m);
    assert.match(one, /^logs:\n.*mns_topic trigger event = eyJ/m);
    const fnLogs = outputOf(seen, 'logs');
    assert.match(fnLogs, /mns_topic trigger event = eyJ/);
    assert.match(fnLogs, /bucket config-snapshot in ap-southeast-1 acl remedy succ\./);

    // Break it again: private again within a second or two, a second invocation answering success;
    // the demo rule's notification reached the function too, which answered fail and touched nothing.
    await runReadmeCommands(breakAgain, env);
    const broken = Date.now();
    const round2 = await until(
      'the second round: private again, both rules COMPLIANT, three invocations ended',
      async () => {
        const all = await invocations();
        const ended = all.length === 3 && all.every((i) => i.status === 'SUCCEEDED');
        return ended && (await acl()) === 'private' && (await compliance(RULE)) === 'COMPLIANT' && (await compliance(DEMO_RULE)) === 'COMPLIANT'
          ? all
          : undefined;
      },
      20_000,
    );
    t.diagnostic(`fixed again ${Date.now() - broken} ms after the break`);
    const ruleOf = (i: (typeof round2)[number]) =>
      JSON.parse(Buffer.from(i.input as string, 'base64').toString('utf8')).evaluationResultIdentifier.evaluationResultQualifier.configRuleName as string;
    assert.deepEqual(
      round2.filter((i) => ruleOf(i) === RULE).map((i) => i.result),
      ['success', 'success'],
    );
    const theirs = round2.filter((i) => ruleOf(i) === DEMO_RULE);
    assert.deepEqual(
      theirs.map((i) => i.result),
      ['fail'],
    );
    assert.doesNotMatch(theirs[0]!.logs.map((l) => l.message).join('\n'), /remedy/, 'it touched nothing');
    const h = (await svc.api(`/resources/${BUCKET}/history?accountId=${ACCOUNT}`)).body.items as unknown[];
    assert.equal(h.length, 4, 'v3 made it public, v4 private again');
    assert.ok((await deliveries()).every((d) => d.status === 'DELIVERED'));
  } finally {
    await svc.close();
  }
});
