/**
 * Webhooks: where events may be sent, and sending one signed. A target is
 * refused when its address is internal (loopback, private, link-local —
 * including the clouds' metadata address 169.254.169.254 —, unique-local or
 * unspecified) unless the operator's allow-list names it, so a subscription
 * cannot aim confix at internal services. Names are resolved at check time and
 * again before every delivery (a name that changes address between the check
 * and the connection is not caught: a known limit of checking in-process).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export interface WebhookPolicy {
  /** Hosts, addresses and CIDR ranges allowed even when internal; `*` allows everything. */
  allow: string[];
}

/** CONFIX_WEBHOOK_ALLOW: comma-separated hosts, addresses or CIDRs (e.g. `127.0.0.1,10.0.0.0/8,hooks.internal`). */
export function webhookPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookPolicy {
  return { allow: (env.CONFIX_WEBHOOK_ALLOW ?? '').split(',').map((s) => s.trim()).filter(Boolean) };
}

const INTERNAL = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15]] as const)
  INTERNAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');
// IPv4-mapped IPv6 (::ffff:a.b.c.d) is refused whole: a way around the IPv4 ranges otherwise.
// (Its own list: a BlockList matches plain IPv4 addresses against a mapped range too.)
const MAPPED = new BlockList();
MAPPED.addSubnet('::ffff:0:0', 96, 'ipv6');

function allowed(host: string, address: string, policy: WebhookPolicy): boolean {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  for (const entry of policy.allow) {
    if (entry === '*' || entry.toLowerCase() === host.toLowerCase() || entry === address) return true;
    const [net, bits] = entry.split('/');
    if (bits !== undefined && isIP(net!)) {
      const list = new BlockList();
      try {
        list.addSubnet(net!, Number(bits), isIP(net!) === 6 ? 'ipv6' : 'ipv4');
      } catch {
        continue;
      }
      if (list.check(address, family)) return true;
    }
  }
  return false;
}

/** Why the URL may not be used as a webhook target, or undefined when it may. */
export async function checkWebhookUrl(raw: string, policy: WebhookPolicy): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `"${raw}" is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `only http and https webhooks are supported, not ${url.protocol}`;
  if (url.username || url.password) return 'credentials in the URL are not allowed; the delivery is signed instead';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch (err) {
    return `cannot resolve ${host}: ${(err as Error).message}`;
  }
  for (const address of addresses) {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    const internal = INTERNAL.check(address, family) || (family === 'ipv6' && MAPPED.check(address, 'ipv6'));
    if (internal && !allowed(host, address, policy))
      return `${host} resolves to the internal address ${address}; webhooks may reach internal addresses only when the operator allows them (CONFIX_WEBHOOK_ALLOW=${host === address ? address : host})`;
  }
  return undefined;
}

/** The signature header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe-style receivers check it. */
export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Checks a signature header against the body (for receivers, and the tests); rejects it when older than `toleranceSeconds`. */
export function verifySignature(secret: string, header: string, body: string, toleranceSeconds = 300, now = Date.now()): boolean {
  const parts = Object.fromEntries(header.split(',').map((p) => p.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isFinite(t) || Math.abs(now / 1000 - t) > toleranceSeconds) return false;
  // Constant time: the comparison must not tell an attacker how much of a forged signature was right.
  const want = Buffer.from(signature(secret, t, body));
  const got = Buffer.from(header);
  return want.length === got.length && timingSafeEqual(want, got);
}

export interface WebhookAttempt {
  ok: boolean;
  statusCode?: number;
  error?: string;
  durationMs: number;
}

/** POSTs one delivery. Any 2xx is success; a timeout, a refused connection or another status is a failure to retry. */
export async function sendWebhook(
  target: { url: string; timeoutMs: number; secret?: string },
  delivery: { eventId: string; deliveryId: string; attempt: number; body: string },
  policy: WebhookPolicy,
): Promise<WebhookAttempt> {
  const started = Date.now();
  const refused = await checkWebhookUrl(target.url, policy);
  if (refused) return { ok: false, error: refused, durationMs: Date.now() - started };
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'confix-webhook/1',
    'x-confix-event-id': delivery.eventId,
    'x-confix-delivery-id': delivery.deliveryId,
    'x-confix-delivery-attempt': String(delivery.attempt),
    'x-confix-timestamp': String(timestamp),
  };
  if (target.secret) headers['x-confix-signature'] = signature(target.secret, timestamp, delivery.body);
  try {
    const res = await fetch(target.url, { method: 'POST', headers, body: delivery.body, redirect: 'manual', signal: AbortSignal.timeout(target.timeoutMs) });
    await res.arrayBuffer().catch(() => undefined);
    const ok = res.status >= 200 && res.status < 300;
    return { ok, statusCode: res.status, ...(ok ? {} : { error: `the endpoint answered ${res.status} ${res.statusText}` }), durationMs: Date.now() - started };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${target.timeoutMs} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, error: `delivery failed: ${why}`, durationMs: Date.now() - started };
  }
}
