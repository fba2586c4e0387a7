/**
 * Webhooks: where events may be sent, and sending one signed.
 *
 * A target must be a public unicast address. Every address a target's name
 * resolves to is classified with ipaddr.js, and anything else is refused
 * unless the operator's allow-list (CONFIX_WEBHOOK_ALLOW) names the host, the
 * address or a range holding it: loopback, private, link-local (with the
 * clouds' metadata address 169.254.169.254), carrier-grade NAT, unspecified,
 * multicast, broadcast, reserved, documentation and benchmarking ranges,
 * IPv6 unique-local, and every IPv6 form that embeds an IPv4 address for a
 * translator or tunnel to reach (IPv4-mapped, IPv4-compatible, SIIT, NAT64,
 * 6to4, Teredo); of IPv6 only global unicast (2000::/3) outside the special
 * ranges passes. So a subscription cannot aim confix at internal services.
 *
 * A delivery resolves its target's name once, checks the answer, and connects
 * to the checked addresses only (node:http/node:https with a `lookup` that
 * answers them, so there is no second DNS query a name could change its
 * answer for: DNS rebinding is closed). TLS still verifies the certificate
 * against the host name, which is also sent as SNI. A fresh connection is
 * made for every delivery (no pooled socket from an earlier check is reused).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface WebhookPolicy {
  /** Hosts, addresses and CIDR ranges allowed even when internal; `*` allows everything. */
  allow: string[];
}

/** CONFIX_WEBHOOK_ALLOW: comma-separated hosts, addresses or CIDRs (e.g. `127.0.0.1,10.0.0.0/8,hooks.internal`). */
export function webhookPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookPolicy {
  return {
    allow: (env.CONFIX_WEBHOOK_ALLOW ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** Resolves a host name to its addresses (all of them). Injectable for tests; the default asks the system resolver. */
export type WebhookResolver = (host: string) => Promise<string[]>;

const systemResolver: WebhookResolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

type Address = ipaddr.IPv4 | ipaddr.IPv6;

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const V4_COMPATIBLE = ipaddr.parseCIDR('::/96');

const LABELS: Record<string, string> = {
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  linkLocal: 'link-local',
  loopback: 'loopback',
  carrierGradeNat: 'carrier-grade NAT',
  private: 'private',
  reserved: 'reserved, documentation or benchmarking',
  benchmarking: 'benchmarking',
  as112: 'AS112 anycast',
  as112v6: 'AS112 anycast',
  amt: 'AMT anycast',
  uniqueLocal: 'unique-local',
  ipv4Mapped: 'IPv4-mapped',
  rfc6145: 'IPv4-translated (SIIT)',
  rfc6052: 'NAT64 (IPv4-embedded)',
  '6to4': '6to4',
  teredo: 'Teredo',
  deprecatedSiteLocal: 'site-local',
  discard: 'discard-only',
};

/** The IPv4 address an IPv6 translation or tunnel form carries, for the message only (the decision is the range's). */
function embeddedV4(a: ipaddr.IPv6, range: string): string | undefined {
  const p = a.parts;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'ipv4Compatible' || (range === 'rfc6052' && a.match(ipaddr.parseCIDR('64:ff9b::/96'))))
    return v4(p[6]!, p[7]!);
  if (range === '6to4') return v4(p[1]!, p[2]!);
  if (range === 'teredo') return v4(~p[6]! & 0xffff, ~p[7]! & 0xffff);
  return undefined;
}

/**
 * Why an address is not public unicast, or undefined when it is: IPv4 must be
 * in ipaddr.js's `unicast` range; IPv6 too, and within global unicast 2000::/3
 * (ipaddr.js calls the deprecated IPv4-compatible ::a.b.c.d `unicast`).
 */
function nonPublic(a: Address): string | undefined {
  let range: string = a.range();
  if (a.kind() === 'ipv6' && range === 'unicast' && !a.match(GLOBAL_UNICAST_V6)) range = a.match(V4_COMPATIBLE) ? 'ipv4Compatible' : 'notGlobal';
  if (range === 'unicast') return undefined;
  const label = range === 'ipv4Compatible' ? 'IPv4-compatible' : range === 'notGlobal' ? 'not global unicast' : (LABELS[range] ?? range);
  const inner = a.kind() === 'ipv6' ? embeddedV4(a as ipaddr.IPv6, range) : undefined;
  return inner ? `${label}, embedding ${inner}` : label;
}

function parseAddress(s: string): Address | undefined {
  if (!isIP(s)) return undefined;
  try {
    return ipaddr.parse(s);
  } catch {
    return undefined;
  }
}

function allowed(host: string, address: Address, policy: WebhookPolicy): boolean {
  for (const entry of policy.allow) {
    if (entry === '*' || entry.toLowerCase() === host.toLowerCase()) return true;
    const exact = parseAddress(entry.replace(/^\[|\]$/g, ''));
    if (exact) {
      if (exact.kind() === address.kind() && exact.toNormalizedString() === address.toNormalizedString()) return true;
      continue;
    }
    if (!entry.includes('/') || !ipaddr.isValidCIDR(entry)) continue;
    let cidr: [Address, number];
    try {
      cidr = ipaddr.parseCIDR(entry);
    } catch {
      continue;
    }
    if (cidr[0].kind() === address.kind() && address.match(cidr)) return true;
  }
  return false;
}

interface Vetted {
  url: URL;
  host: string;
  /** The checked addresses, in the resolver's order; a delivery connects to these only. */
  addresses: string[];
}

/** Parses and checks a target; resolves its name once. */
async function vet(raw: string, policy: WebhookPolicy, resolve: WebhookResolver): Promise<{ error: string } | Vetted> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: `"${raw}" is not a URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { error: `only http and https webhooks are supported, not ${url.protocol}` };
  if (url.username || url.password) return { error: 'credentials in the URL are not allowed; the delivery is signed instead' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host) !== 0;
  let answers: string[];
  try {
    answers = literal ? [host] : await resolve(host);
  } catch (err) {
    return { error: `cannot resolve ${host}: ${(err as Error).message}` };
  }
  if (answers.length === 0) return { error: `cannot resolve ${host}: no addresses` };
  const addresses: string[] = [];
  for (const answer of answers) {
    const address = parseAddress(answer);
    if (!address) return { error: `cannot resolve ${host}: "${answer}" is not an IP address` };
    const shown = address.toString();
    const why = nonPublic(address);
    if (why && !allowed(host, address, policy)) {
      const what = literal ? `the target is the internal address ${shown}` : `${host} resolves to the internal address ${shown}`;
      return {
        error: `${what} (${why}), not a public unicast one; webhooks may reach such addresses only when the operator allows them (CONFIX_WEBHOOK_ALLOW=${literal ? shown : host})`,
      };
    }
    addresses.push(answer);
  }
  return { url, host, addresses };
}

/** Why the URL may not be used as a webhook target, or undefined when it may. */
export async function checkWebhookUrl(raw: string, policy: WebhookPolicy, resolve: WebhookResolver = systemResolver): Promise<string | undefined> {
  const v = await vet(raw, policy, resolve);
  return 'error' in v ? v.error : undefined;
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

/** A `lookup` for node:net that answers only the checked addresses: the connection cannot go anywhere else. */
function pinnedLookup(addresses: string[]): LookupFunction {
  const all = addresses.map((address) => ({ address, family: isIP(address) }));
  return (_hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const wanted = family === 4 || family === 6 ? all.filter((a) => a.family === family) : all;
    const answer = wanted.length > 0 ? wanted : all;
    if (options.all) callback(null, answer);
    else callback(null, answer[0]!.address, answer[0]!.family);
  };
}

/**
 * POSTs one delivery. Any 2xx is success; a timeout, a refused connection or
 * another status (a redirect included: it is not followed) is a failure to
 * retry. The target's name is resolved once (`options.resolve`, the system
 * resolver by default), checked, and connected to at the checked address.
 */
export async function sendWebhook(
  target: { url: string; timeoutMs: number; secret?: string },
  delivery: { eventId: string; deliveryId: string; attempt: number; body: string },
  policy: WebhookPolicy,
  options: { resolve?: WebhookResolver } = {},
): Promise<WebhookAttempt> {
  const started = Date.now();
  const vetted = await vet(target.url, policy, options.resolve ?? systemResolver);
  if ('error' in vetted) return { ok: false, error: vetted.error, durationMs: Date.now() - started };
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(delivery.body)),
    'user-agent': 'confix-webhook/1',
    'x-confix-event-id': delivery.eventId,
    'x-confix-delivery-id': delivery.deliveryId,
    'x-confix-delivery-attempt': String(delivery.attempt),
    'x-confix-timestamp': String(timestamp),
  };
  if (target.secret) headers['x-confix-signature'] = signature(target.secret, timestamp, delivery.body);
  const send = vetted.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<WebhookAttempt>((resolve) => {
    let settled = false;
    let timedOut = false;
    let answered: Omit<WebhookAttempt, 'durationMs'> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (a: Omit<WebhookAttempt, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...a, durationMs: Date.now() - started });
    };
    let req: ReturnType<typeof send>;
    try {
      req = send(
        vetted.url,
        // agent: false: a fresh connection each time, made through the pinned lookup (never a pooled socket).
        { method: 'POST', headers, agent: false, lookup: pinnedLookup(vetted.addresses) },
        (res: IncomingMessage) => {
          const status = res.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          answered = { ok, statusCode: status, ...(ok ? {} : { error: `the endpoint answered ${status} ${res.statusMessage ?? ''}`.trimEnd() }) };
          const done = () => finish(answered!);
          // The body is drained and thrown away (not buffered); a body cut short by the deadline still leaves the status.
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
          res.resume();
        },
      );
    } catch (err) {
      // Refused before anything was sent (a header value node:http will not write, for one).
      return finish({ ok: false, error: `delivery failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    }
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (answered) return finish(answered);
      finish({ ok: false, error: `delivery failed: ${timedOut ? `no answer within ${target.timeoutMs} ms` : (err.code ?? err.message)}` });
    });
    timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new Error(`no answer within ${target.timeoutMs} ms`));
    }, target.timeoutMs);
    req.end(delivery.body);
  });
}
