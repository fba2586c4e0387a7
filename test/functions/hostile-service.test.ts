// A hostile function against a real service: writing to the runtime's
// channel fails its own invocation and leaves the service up; its
// per-invocation API token is revoked; an invocation taken up after its
// worker died has the earlier attempt's token revoked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { testService } from '../helpers/service.js';

let svc: Awaited<ReturnType<typeof testService>>;

before(async () => {
  svc = await testService({ demo: false });
});
after(async () => {
  await svc.close();
});

const put = (name: string, source: string) => svc.api(`/functions/${name}`, { method: 'PUT', json: { fileName: 'handler.js', source, timeoutSeconds: 30 } });

test("a function writing to the runtime's channel fails alone: the service stays up and its token is revoked", async () => {
  const deployed = await put(
    'forger',
    `exports.handler = async () => {
      require('fs').writeSync(3, '{this is not json\\n');
      require('fs').writeSync(3, ${JSON.stringify(JSON.stringify({ t: 'done', ok: true, resultJson: '{"forged":true}' }) + '\n')});
      await new Promise((r) => setTimeout(r, 2000));
    }`,
  );
  assert.equal(deployed.status, 201, JSON.stringify(deployed.body));
  const r = await svc.api('/functions/forger/invocations', { json: { event: {}, wait: true } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'FAILED');
  assert.equal(r.body.error.type, 'RuntimeProtocolViolation');
  assert.equal(r.body.result ?? null, null, 'no forged result');
  const health = await svc.api('/health');
  assert.equal(health.status, 200, 'the service is still up');
  const tokens = await svc.tokens.list({ all: true });
  const mine = tokens.filter((t) => t.name.startsWith(`fn:forger:${r.body.invocationId}`));
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.state, 'revoked');
  // The next invocation runs normally.
  await put('fine', 'exports.handler = async () => ({ ok: true })');
  const ok = await svc.api('/functions/fine/invocations', { json: { wait: true } });
  assert.equal(ok.body.status, 'SUCCEEDED');
});

test("an invocation whose worker died is taken up again with the dead attempt's token revoked", async () => {
  await put('slowish', 'exports.handler = async () => { await new Promise((r) => setTimeout(r, 300)); return 1; }');
  // What a SIGKILLed service leaves behind: an invocation RUNNING under a lapsed lease, and the token its first attempt was given.
  await svc.functionWorker.stop();
  const q = await svc.invocations.enqueue({ functionName: 'slowish', input: {} });
  const minted = await svc.tokens.mintForInvocation('slowish', q.invocationId, 1, 3_600_000);
  await svc.db.query(
    `UPDATE invocations SET status = 'RUNNING', attempt = 1, lease_owner = 'dead-host:1:fn-000000', lease_expires_at = now() - interval '1 second' WHERE invocation_id = $1`,
    [q.invocationId],
  );
  assert.equal((await svc.tokens.get(minted.record.id)).state, 'active');
  svc.functionWorker.start();
  const ended = await svc.functionWorker.wait(q.invocationId);
  assert.equal(ended.status, 'SUCCEEDED');
  assert.equal(ended.attempt, 2);
  assert.equal((await svc.tokens.get(minted.record.id)).state, 'revoked', "the dead attempt's token is revoked");
  const all = (await svc.tokens.list({ all: true })).filter((t) => t.name.startsWith(`fn:slowish:${q.invocationId}`));
  assert.ok(all.length >= 1 && all.every((t) => t.state === 'revoked'), JSON.stringify(all));

  // Lost for the last time: failed as RuntimeLost, and its token revoked too.
  await svc.functionWorker.stop();
  const lost = await svc.invocations.enqueue({ functionName: 'slowish', input: {} });
  const lostToken = await svc.tokens.mintForInvocation('slowish', lost.invocationId, 3, 3_600_000);
  await svc.db.query(
    `UPDATE invocations SET status = 'RUNNING', attempt = 3, lease_owner = 'dead-host:1:fn-000000', lease_expires_at = now() - interval '1 second' WHERE invocation_id = $1`,
    [lost.invocationId],
  );
  svc.functionWorker.start();
  const failed = await svc.functionWorker.wait(lost.invocationId);
  assert.equal(failed.status, 'FAILED');
  assert.equal(failed.error?.type, 'RuntimeLost');
  assert.equal((await svc.tokens.get(lostToken.record.id)).state, 'revoked');
});
