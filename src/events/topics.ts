/**
 * Topics and subscriptions. A topic receives events (the `default` topic
 * every one; others those matching their filter); a subscription delivers a
 * topic's events, in its format and matching its filter, to an endpoint: a
 * webhook (signed with a secret kept sealed) or a function.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../store/index.js';
import type { SecretBox } from '../security/secret-box.js';
import { compilePattern } from './pattern.js';
import { checkWebhookUrl, type WebhookPolicy } from './webhook.js';
import { FUNCTION_NAME, FunctionNotFoundError, type FunctionStore } from '../functions/store.js';

import { EVENT_FORMATS, type EventFormat } from './formats.js';
import { ConfixError } from '../errors.js';
export type { EventFormat };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const name = z.string().regex(NAME, 'a name of letters, digits, ".", "_" and "-" (at most 128)');

export interface Topic {
  name: string;
  description: string;
  filter: unknown | null;
  createdAt: string;
  updatedAt: string;
}

export type Endpoint = { type: 'webhook'; url: string; timeoutMs: number } | { type: 'function'; function: string };

export interface Subscription {
  topic: string;
  name: string;
  format: EventFormat;
  filter: unknown | null;
  endpoint: Endpoint;
  maxAttempts: number;
  state: 'ACTIVE' | 'DISABLED';
  createdAt: string;
  updatedAt: string;
}

/** Input refused: `path` names the field. */
export class EventConfigError extends ConfixError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('InvalidEventConfig', 'invalid', `${path}: ${message}`, {
      issues: [{ path: path === '(body)' ? [] : path.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p)), message }],
    });
  }
}

export class TopicNotFoundError extends ConfixError {
  constructor(readonly topic: string) {
    super('TopicNotFound', 'not_found', `no topic ${topic}`);
  }
}
export class SubscriptionNotFoundError extends ConfixError {
  constructor(
    readonly topic: string,
    readonly subscription: string,
  ) {
    super('SubscriptionNotFound', 'not_found', `no subscription ${subscription} on topic ${topic}`);
  }
}

const topicInput = z.strictObject({
  name,
  description: z.string().max(1000).default(''),
  filter: z.record(z.string(), z.unknown()).nullable().optional(),
});

const subscriptionInput = z.strictObject({
  topic: name.default('default'),
  name,
  format: z.enum(EVENT_FORMATS as [EventFormat, ...EventFormat[]]).default('native'),
  filter: z.record(z.string(), z.unknown()).nullable().optional(),
  endpoint: z.union(
    [
      z.strictObject({
        webhook: z.strictObject({
          url: z.string().min(1),
          /** The HMAC secret; generated when not given (and shown once). */
          secret: z.string().min(16, 'at least 16 characters').max(256).optional(),
          timeoutSeconds: z.number().min(1).max(60).default(10),
        }),
      }),
      z.strictObject({ function: z.string().regex(FUNCTION_NAME, 'a function name: a letter, then letters, digits, "_" or "-" (at most 64)') }),
    ],
    { error: 'either { webhook: { url, secret?, timeoutSeconds? } } or { function: NAME }' },
  ),
  maxAttempts: z.int().min(1).max(20).default(8),
  state: z.enum(['ACTIVE', 'DISABLED']).default('ACTIVE'),
});
export type SubscriptionInput = z.input<typeof subscriptionInput>;

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new EventConfigError(i.path.join('.') || '(body)', i.message);
  }
  return r.data;
}

function checkFilter(filter: unknown, path: string): void {
  if (filter === undefined || filter === null) return;
  try {
    compilePattern(filter);
  } catch (err) {
    throw new EventConfigError(path, (err as Error).message);
  }
}

interface TopicRow {
  name: string;
  description: string;
  filter: unknown | null;
  created_at: Date;
  updated_at: Date;
}
interface SubRow {
  topic: string;
  name: string;
  format: EventFormat;
  filter: unknown | null;
  endpoint: Endpoint;
  max_attempts: number;
  state: 'ACTIVE' | 'DISABLED';
  created_at: Date;
  updated_at: Date;
}
const iso = (d: Date) => new Date(d).toISOString();
const toTopic = (r: TopicRow): Topic => ({
  name: r.name,
  description: r.description,
  filter: r.filter,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});
const toSub = (r: SubRow): Subscription => ({
  topic: r.topic,
  name: r.name,
  format: r.format,
  filter: r.filter,
  endpoint: r.endpoint,
  maxAttempts: r.max_attempts,
  state: r.state,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

export class TopicStore {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly webhooks: WebhookPolicy,
    /** Where function endpoints are looked up; without it they are refused. */
    private readonly functions?: Pick<FunctionStore, 'get'>,
  ) {}

  async putTopic(raw: unknown): Promise<Topic & { created: boolean }> {
    const t = parse(topicInput, raw);
    checkFilter(t.filter, 'filter');
    const [row] = await this.db.query<TopicRow & { inserted: boolean }>(
      `INSERT INTO topics (name, description, filter) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, filter = EXCLUDED.filter, updated_at = now()
       RETURNING *, (xmax = 0) AS inserted`,
      [t.name, t.description, t.filter ? JSON.stringify(t.filter) : null],
    );
    return { ...toTopic(row!), created: row!.inserted };
  }

  async topics(): Promise<Topic[]> {
    return (await this.db.query<TopicRow>('SELECT * FROM topics ORDER BY name')).map(toTopic);
  }

  async topic(name: string): Promise<Topic> {
    const [row] = await this.db.query<TopicRow>('SELECT * FROM topics WHERE name = $1', [name]);
    if (!row) throw new TopicNotFoundError(name);
    return toTopic(row);
  }

  /** Deletes a topic with its subscriptions and their deliveries; the default topic stays. */
  async removeTopic(name: string): Promise<void> {
    if (name === 'default')
      throw new EventConfigError('name', 'the default topic cannot be deleted (it receives every event); delete its subscriptions instead');
    const rows = await this.db.query('DELETE FROM topics WHERE name = $1 RETURNING 1', [name]);
    if (!rows.length) throw new TopicNotFoundError(name);
  }

  /**
   * Creates or replaces a subscription. A webhook's URL is checked against
   * the allow-list now (and again at every delivery); its secret is sealed,
   * and answered (`secret`) only when generated here, once. A function must
   * be deployed already; it has no secret (nothing leaves confix), and is
   * invoked with each event as its input (see DeliveryWorker).
   */
  async putSubscription(raw: unknown): Promise<Subscription & { created: boolean; secret?: string }> {
    const s = parse(subscriptionInput, raw);
    checkFilter(s.filter, 'filter');
    await this.topic(s.topic);
    let endpoint: Endpoint;
    let sealed: string | null = null;
    let generated: string | undefined;
    if ('webhook' in s.endpoint) {
      const w = s.endpoint.webhook;
      const problem = await checkWebhookUrl(w.url, this.webhooks);
      if (problem) throw new EventConfigError('endpoint.webhook.url', problem);
      endpoint = { type: 'webhook', url: w.url, timeoutMs: Math.round(w.timeoutSeconds * 1000) };
      const secret = w.secret ?? (generated = `whsec_${randomBytes(24).toString('base64url')}`);
      sealed = this.box.seal(secret, `subscription:${s.topic}/${s.name}`);
    } else {
      const fn = s.endpoint.function;
      if (!this.functions)
        throw new EventConfigError('endpoint.function', 'this confix has no function store, so function subscribers are refused; use a webhook');
      try {
        await this.functions.get(fn);
      } catch (err) {
        if (err instanceof FunctionNotFoundError)
          throw new EventConfigError('endpoint.function', `no function named "${fn}"; deploy it first with \`confix function deploy ${fn} --file …\``);
        throw err;
      }
      endpoint = { type: 'function', function: fn };
    }
    const [row] = await this.db.query<SubRow & { inserted: boolean }>(
      `INSERT INTO subscriptions (topic, name, format, filter, endpoint, secret_sealed, max_attempts, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (topic, name) DO UPDATE SET format = EXCLUDED.format, filter = EXCLUDED.filter, endpoint = EXCLUDED.endpoint,
         secret_sealed = EXCLUDED.secret_sealed, max_attempts = EXCLUDED.max_attempts, state = EXCLUDED.state, updated_at = now()
       RETURNING *, (xmax = 0) AS inserted`,
      [s.topic, s.name, s.format, s.filter ? JSON.stringify(s.filter) : null, JSON.stringify(endpoint), sealed, s.maxAttempts, s.state],
    );
    return { ...toSub(row!), created: row!.inserted, ...(generated ? { secret: generated } : {}) };
  }

  async subscriptions(topic?: string): Promise<Subscription[]> {
    const rows = await this.db.query<SubRow>(`SELECT * FROM subscriptions ${topic ? 'WHERE topic = $1' : ''} ORDER BY topic, name`, topic ? [topic] : []);
    return rows.map(toSub);
  }

  async subscription(topic: string, name: string): Promise<Subscription> {
    const [row] = await this.db.query<SubRow>('SELECT * FROM subscriptions WHERE topic = $1 AND name = $2', [topic, name]);
    if (!row) throw new SubscriptionNotFoundError(topic, name);
    return toSub(row);
  }

  async removeSubscription(topic: string, name: string): Promise<void> {
    const rows = await this.db.query('DELETE FROM subscriptions WHERE topic = $1 AND name = $2 RETURNING 1', [topic, name]);
    if (!rows.length) throw new SubscriptionNotFoundError(topic, name);
  }

  /** A subscription with its webhook signing secret opened, in one read: for the delivery worker only. Undefined when deleted. */
  async target(topic: string, name: string): Promise<{ sub: Subscription; secret?: string } | undefined> {
    const [row] = await this.db.query<SubRow & { secret_sealed: string | null }>('SELECT * FROM subscriptions WHERE topic = $1 AND name = $2', [topic, name]);
    if (!row) return undefined;
    return { sub: toSub(row), ...(row.secret_sealed ? { secret: this.box.open(row.secret_sealed, `subscription:${topic}/${name}`) } : {}) };
  }
}
