// The README's topics-and-subscriptions walkthrough, as printed, against a
// demo service allowed to send to loopback, with a local receiver (on a free
// port instead of the README's 9000): signed events arrive, deliveries are
// DELIVERED.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { testService } from '../helpers/service.js';
import { readmeCommands, runReadmeCommand } from '../helpers/readme.js';
import { until } from '../helpers/wait.js';

test('the events walkthrough runs as printed; the local listener gets signed events', async () => {
  const got: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const receiver = createServer((q, s) => {
    let b = '';
    q.on('data', (c) => (b += c));
    q.on('end', () => {
      got.push({ url: q.url!, headers: q.headers, body: b });
      s.end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as AddressInfo).port;
  const before = process.env.CONFIX_WEBHOOK_ALLOW;
  process.env.CONFIX_WEBHOOK_ALLOW = '127.0.0.1';
  const svc = await testService({ demo: true });
  try {
    const env = { CONFIX_URL: svc.url, CONFIX_TOKEN: svc.token };
    const outputs = new Map<string, string>();
    for (const c of readmeCommands('Then:\n\n```sh\nnpx confix topic put security')) {
      const r = await runReadmeCommand(c.replaceAll('127.0.0.1:9000', `127.0.0.1:${port}`), env);
      assert.equal(r.code, 0, `${c}\n${r.stdout}\n${r.stderr}`);
      outputs.set(c, r.stdout);
      if (c.includes('ecs:AuthorizeSecurityGroup'))
        await until('both subscriptions delivered', () => got.some((g) => g.url === '/confix') && got.some((g) => g.url === '/eb'), 30_000);
    }
    assert.ok(
      got.every((g) => /^t=\d+,v1=[0-9a-f]{64}$/.test(String(g.headers['x-confix-signature']))),
      'every delivery is signed',
    );
    assert.match(got.find((g) => g.url === '/eb')!.body, /"detail-type":"Config Rules Compliance Change"/);
    const deliveries = [...outputs].find(([c]) => c.includes('get deliveries --topic security'))![1];
    assert.match(deliveries, /DELIVERED/);
  } finally {
    await svc.close();
    receiver.close();
    if (before === undefined) delete process.env.CONFIX_WEBHOOK_ALLOW;
    else process.env.CONFIX_WEBHOOK_ALLOW = before;
  }
});
