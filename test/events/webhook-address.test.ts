// The webhook address filter: only public unicast targets unless the operator
// allows others (every non-public IPv4 and IPv6 range, and the IPv6 forms that
// embed an IPv4 address for NAT64, SIIT, 6to4 or Teredo to reach); a name is
// resolved once and the delivery connects to the address that was checked
// (no second lookup, so no DNS rebinding), keeping the host name for TLS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { checkWebhookUrl, sendWebhook, verifySignature, type WebhookResolver } from '../../src/events/webhook.js';
import { webhookReceiver } from '../helpers/webhook.js';

const none = { allow: [] };
const delivery = (attempt = 1) => ({ eventId: 'ev-1', deliveryId: 'dl-1', attempt, body: JSON.stringify({ id: 'ev-1', hello: 'world' }) });
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A resolver that answers each call with the next of `answers` (the last one repeated), counting the calls. */
function scripted(...answers: string[][]): WebhookResolver & { calls: string[] } {
  const calls: string[] = [];
  const fn = async (host: string) => {
    calls.push(host);
    return answers[Math.min(calls.length - 1, answers.length - 1)]!;
  };
  return Object.assign(fn, { calls });
}

function listen(server: Server, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

test('every non-public address is refused, with a message naming it', async () => {
  // [URL, the address as the message names it, what it is]
  const cases: [string, string, RegExp][] = [
    // IPv4 embedded in IPv6: what translators (NAT64, SIIT) and tunnels (6to4, Teredo) would carry to 127.0.0.1
    ['http://[::127.0.0.1]/', '::7f00:1', /IPv4-compatible, embedding 127\.0\.0\.1/],
    ['http://[::ffff:0:127.0.0.1]/', '::ffff:0:7f00:1', /SIIT\), embedding 127\.0\.0\.1/],
    ['http://[64:ff9b::127.0.0.1]/', '64:ff9b::7f00:1', /NAT64.*embedding 127\.0\.0\.1/],
    ['http://[64:ff9b:1::a00:1]/', '64:ff9b:1::a00:1', /NAT64/],
    ['http://[2002:7f00:1::]/', '2002:7f00:1::', /6to4, embedding 127\.0\.0\.1/],
    ['http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/', '2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo, embedding 192\.0\.2\.45/],
    ['http://[::ffff:127.0.0.1]/', '::ffff:7f00:1', /IPv4-mapped, embedding 127\.0\.0\.1/],
    ['http://[::ffff:169.254.169.254]/', '::ffff:a9fe:a9fe', /IPv4-mapped, embedding 169\.254\.169\.254/],
    // IPv4
    ['http://224.0.0.1/', '224.0.0.1', /multicast/],
    ['http://255.255.255.255/', '255.255.255.255', /broadcast/],
    ['http://240.0.0.1/', '240.0.0.1', /reserved/],
    ['http://127.0.0.1:9/x', '127.0.0.1', /loopback/],
    ['http://0x7f.1/', '127.0.0.1', /loopback/],
    ['http://2130706433/', '127.0.0.1', /loopback/],
    ['http://10.1.2.3/', '10.1.2.3', /private/],
    ['http://172.16.0.1/', '172.16.0.1', /private/],
    ['http://192.168.1.1/', '192.168.1.1', /private/],
    ['http://169.254.169.254/latest/meta-data', '169.254.169.254', /link-local/],
    ['http://100.64.0.1/', '100.64.0.1', /carrier-grade NAT/],
    ['http://0.0.0.0/', '0.0.0.0', /unspecified/],
    ['http://192.0.2.1/', '192.0.2.1', /documentation/],
    ['http://198.51.100.1/', '198.51.100.1', /documentation/],
    ['http://203.0.113.7/', '203.0.113.7', /documentation/],
    ['http://198.18.0.1/', '198.18.0.1', /benchmarking/],
    // IPv6
    ['http://[::1]:8080/', '::1', /loopback/],
    ['http://[::]/', '::', /unspecified/],
    ['http://[fe80::1]/', 'fe80::1', /link-local/],
    ['http://[fc00::1]/', 'fc00::1', /unique-local/],
    ['http://[fd12:3456::1]/', 'fd12:3456::1', /unique-local/],
    ['http://[ff02::1]/', 'ff02::1', /multicast/],
    ['http://[2001:db8::1]/', '2001:db8::1', /documentation/],
    ['http://[fec0::1]/', 'fec0::1', /site-local/],
  ];
  for (const [url, shown, what] of cases) {
    const why = await checkWebhookUrl(url, none);
    assert.ok(why, `${url} must be refused`);
    assert.match(why, new RegExp(`internal address ${escapeRegExp(shown)} \\(`), url);
    assert.match(why, what, url);
    assert.match(why, new RegExp(`CONFIX_WEBHOOK_ALLOW=${escapeRegExp(shown)}\\)$`), url);
  }
});

test('public unicast addresses pass the check (no connection is made)', async () => {
  for (const url of ['http://93.184.216.34/', 'https://8.8.8.8:8443/hook', 'http://[2606:4700::1111]/', 'https://[2a00:1450:4001:80b::200e]/x'])
    assert.equal(await checkWebhookUrl(url, none), undefined, url);
  const resolve = scripted(['93.184.216.34', '2606:4700::1111']);
  assert.equal(await checkWebhookUrl('https://hooks.example.com/x', none, resolve), undefined);
  assert.deepEqual(resolve.calls, ['hooks.example.com']);
});

test('a name is refused when any of its addresses is internal', async () => {
  const why = await checkWebhookUrl('http://localhost:8080/', none);
  assert.match(why!, /^localhost resolves to the internal address (127\.0\.0\.1|::1) \(loopback\).*CONFIX_WEBHOOK_ALLOW=localhost\)$/);
  assert.match(
    (await checkWebhookUrl('https://hooks.example.com/', none, scripted(['93.184.216.34', '10.0.0.5'])))!,
    /hooks\.example\.com resolves to the internal address 10\.0\.0\.5 \(private\)/,
  );
  assert.match(
    (await checkWebhookUrl('https://hooks.example.com/', none, scripted(['64:ff9b::a9fe:a9fe'])))!,
    /internal address 64:ff9b::a9fe:a9fe \(NAT64.*embedding 169\.254\.169\.254\)/,
  );
  assert.match((await checkWebhookUrl('https://hooks.example.com/', none, scripted([])))!, /cannot resolve hooks\.example\.com/);
  assert.match(
    (await checkWebhookUrl('https://hooks.example.com/', none, scripted(['not-an-address'])))!,
    /cannot resolve hooks\.example\.com: "not-an-address" is not an IP address/,
  );
  const failing: WebhookResolver = async () => {
    throw new Error('getaddrinfo ENOTFOUND hooks.example.com');
  };
  assert.match((await checkWebhookUrl('https://hooks.example.com/', none, failing))!, /cannot resolve hooks\.example\.com: getaddrinfo ENOTFOUND/);
});

test('the allow-list lets hosts, addresses and ranges through, and nothing more', async () => {
  assert.equal(await checkWebhookUrl('http://127.0.0.1:9/x', { allow: ['127.0.0.1'] }), undefined);
  assert.equal(await checkWebhookUrl('http://10.1.2.3/', { allow: ['10.0.0.0/8'] }), undefined);
  assert.equal(await checkWebhookUrl('http://[fd12::1]/', { allow: ['fc00::/7'] }), undefined);
  assert.equal(await checkWebhookUrl('http://[::1]/', { allow: ['::1'] }), undefined);
  assert.equal(await checkWebhookUrl('http://[::1]/', { allow: ['[0:0:0:0:0:0:0:1]'] }), undefined, 'an address in any spelling');
  assert.equal(await checkWebhookUrl('http://[::ffff:127.0.0.1]/', { allow: ['::ffff:127.0.0.1'] }), undefined);
  assert.equal(await checkWebhookUrl('http://localhost/', { allow: ['LOCALHOST'] }), undefined, 'a host, case-insensitive');
  assert.equal(await checkWebhookUrl('http://hooks.internal/', { allow: ['hooks.internal'] }, scripted(['10.9.9.9'])), undefined);
  assert.equal(await checkWebhookUrl('http://[fe80::1]/', { allow: ['*'] }), undefined);

  // An allowed IPv4 address does not allow the IPv6 forms that embed it, nor its neighbours.
  assert.match((await checkWebhookUrl('http://[::ffff:127.0.0.1]/', { allow: ['127.0.0.1'] }))!, /internal address ::ffff:7f00:1/);
  assert.match((await checkWebhookUrl('http://[64:ff9b::127.0.0.1]/', { allow: ['127.0.0.0/8'] }))!, /internal address 64:ff9b::7f00:1/);
  assert.match((await checkWebhookUrl('http://127.0.0.2/', { allow: ['127.0.0.1'] }))!, /internal address 127\.0\.0\.2/);
  assert.match((await checkWebhookUrl('http://11.0.0.1/', { allow: ['10.0.0.0/8'] })) ?? 'public', /public/, '11.0.0.1 is public anyway');
  assert.match((await checkWebhookUrl('http://172.32.0.1/', { allow: [] })) ?? 'public', /public/, 'just outside 172.16.0.0/12');
  // Malformed entries allow nothing.
  for (const entry of ['10.0.0.0/99', 'garbage/8', '10.0.0.0/', '', '::/x'])
    assert.match((await checkWebhookUrl('http://10.1.2.3/', { allow: [entry] }))!, /internal address 10\.1\.2\.3/, entry);
  // The name allowed, not another name with the same address.
  assert.match(
    (await checkWebhookUrl('http://other.internal/', { allow: ['hooks.internal'] }, scripted(['10.9.9.9'])))!,
    /other\.internal resolves to the internal address 10\.9\.9\.9/,
  );
});

test('an allowed local receiver gets the signed delivery, by address and by name', async () => {
  const rx = await webhookReceiver(() => 204);
  try {
    const d = delivery();
    const byAddress = await sendWebhook({ url: `${rx.base}/hook`, timeoutMs: 2000, secret: 'whsec_test_secret_123' }, d, { allow: ['127.0.0.1'] });
    assert.equal(byAddress.ok, true, byAddress.error);
    assert.equal(byAddress.statusCode, 204);
    const got = rx.got[0]!;
    assert.equal(got.path, '/hook');
    assert.equal(got.body, d.body);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.equal(got.headers['user-agent'], 'confix-webhook/1');
    assert.equal(got.headers['x-confix-delivery-id'], 'dl-1');
    assert.ok(verifySignature('whsec_test_secret_123', String(got.headers['x-confix-signature']), got.body));

    const port = new URL(rx.base).port;
    const resolve = scripted(['127.0.0.1']);
    const byName = await sendWebhook(
      { url: `http://hooks.example.test:${port}/named`, timeoutMs: 2000, secret: 's3cret-value' },
      delivery(2),
      { allow: ['127.0.0.1'] },
      { resolve },
    );
    assert.equal(byName.ok, true, byName.error);
    assert.deepEqual(resolve.calls, ['hooks.example.test']);
    assert.equal(rx.got[1]!.headers.host, `hooks.example.test:${port}`, 'the request names the host, though it went to the address');
    assert.ok(verifySignature('s3cret-value', String(rx.got[1]!.headers['x-confix-signature']), rx.got[1]!.body));

    const refused = await sendWebhook({ url: `http://localhost:${port}/`, timeoutMs: 2000 }, delivery(), none);
    assert.match(refused.error!, /localhost resolves to the internal address/);
    assert.equal(rx.got.length, 2, 'a refused target is not contacted');
  } finally {
    await rx.close();
  }
});

test('the connection goes to the checked address: one lookup, no rebinding', async () => {
  // Two receivers on one port: 127.0.0.1 (what the name resolves to when checked) and 127.0.0.2 (what it answers after).
  const hits: Record<string, IncomingMessage['headers'][]> = { '127.0.0.1': [], '127.0.0.2': [] };
  const make = (name: string) =>
    createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hits[name]!.push(req.headers);
        res.statusCode = 200;
        res.end('ok');
      });
    });
  const checked = make('127.0.0.1');
  const rebound = make('127.0.0.2');
  const port = await listen(checked, '127.0.0.1');
  await listen(rebound, '127.0.0.2', port);
  try {
    // Both are allowed, so only the pinning (not the check) can keep the delivery on the first answer.
    const policy = { allow: ['127.0.0.1', '127.0.0.2'] };
    const resolve = scripted(['127.0.0.1'], ['127.0.0.2']);
    const r = await sendWebhook({ url: `http://rebind.example.test:${port}/hook`, timeoutMs: 2000, secret: 'whsec_test_secret_123' }, delivery(), policy, {
      resolve,
    });
    assert.equal(r.ok, true, r.error);
    assert.deepEqual(resolve.calls, ['rebind.example.test'], 'resolved once');
    assert.equal(hits['127.0.0.1']!.length, 1, 'the checked address got the delivery');
    assert.equal(hits['127.0.0.2']!.length, 0, 'the second answer was never asked for, nor connected to');

    // The other way round: the checked answer is internal and not allowed; a later public-looking answer changes nothing.
    const sneaky = scripted(['127.0.0.2'], ['93.184.216.34']);
    const refused = await sendWebhook(
      { url: `http://rebind.example.test:${port}/hook`, timeoutMs: 2000 },
      delivery(),
      { allow: ['127.0.0.1'] },
      { resolve: sneaky },
    );
    assert.match(refused.error!, /rebind\.example\.test resolves to the internal address 127\.0\.0\.2/);
    assert.equal(sneaky.calls.length, 1);
    assert.equal(hits['127.0.0.2']!.length, 0);
  } finally {
    await close(checked);
    await close(rebound);
  }
});

test('https keeps the host name for SNI and certificate checks while connecting to the checked address', async () => {
  const names: string[] = [];
  // No certificate at all: the handshake fails after the client has said which name it wants.
  const tls = createTlsServer({
    SNICallback: (name, cb) => {
      names.push(name);
      cb(new Error('no certificate here'));
    },
  });
  const port = await new Promise<number>((r) => tls.listen(0, '127.0.0.1', () => r((tls.address() as AddressInfo).port)));
  try {
    const resolve = scripted(['127.0.0.1'], ['127.0.0.2']);
    const r = await sendWebhook({ url: `https://hooks.example.test:${port}/hook`, timeoutMs: 2000 }, delivery(), { allow: ['127.0.0.1'] }, { resolve });
    assert.equal(r.ok, false);
    assert.match(r.error!, /^delivery failed: /);
    assert.deepEqual(names, ['hooks.example.test']);
    assert.equal(resolve.calls.length, 1);
  } finally {
    await new Promise((r) => tls.close(r));
  }
});

test('redirects are not followed, bodies are drained, refused connections are named', async () => {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(req.url ?? '');
    req.resume();
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/elsewhere' });
      return res.end();
    }
    res.statusCode = 200;
    res.end('x'.repeat(1 << 20)); // a large answer, read and thrown away
  });
  const port = await listen(server, '127.0.0.1');
  const local = { allow: ['127.0.0.1'] };
  try {
    const moved = await sendWebhook({ url: `http://127.0.0.1:${port}/moved`, timeoutMs: 2000 }, delivery(), local);
    assert.deepEqual(
      { ok: moved.ok, statusCode: moved.statusCode, error: moved.error },
      { ok: false, statusCode: 302, error: 'the endpoint answered 302 Found' },
    );
    assert.deepEqual(paths, ['/moved'], 'the redirect was not followed');

    const big = await sendWebhook({ url: `http://127.0.0.1:${port}/big`, timeoutMs: 2000 }, delivery(), local);
    assert.equal(big.ok, true, big.error);
    assert.equal(big.statusCode, 200);
    assert.equal(typeof big.durationMs, 'number');
  } finally {
    await close(server);
  }
  // Nothing listens there any more.
  const gone = await sendWebhook({ url: `http://127.0.0.1:${port}/`, timeoutMs: 2000 }, delivery(), local);
  assert.deepEqual({ ok: gone.ok, error: gone.error }, { ok: false, error: 'delivery failed: ECONNREFUSED' });
});
