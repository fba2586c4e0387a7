/**
 * Deliveries: one event for one subscription, a durable row that is also the
 * queue. Claimed with FOR UPDATE SKIP LOCKED and a lease like remediation
 * executions, so several workers share it and a worker that dies has its
 * deliveries taken up again: delivery is at least once, and every attempt
 * carries the event's stable id for receivers to de-duplicate.
 */
import { randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../store/index.js';
import { Where, pageSize } from '../store/where.js';
import { ConfixError } from '../errors.js';

export type DeliveryStatus = 'QUEUED' | 'IN_PROGRESS' | 'DELIVERED' | 'DEAD';

export interface AttemptRecord {
  attempt: number;
  at: string;
  ok: boolean;
  statusCode?: number;
  error?: string;
  durationMs: number;
  /** A function endpoint's invocation (`confix get invocation ID`). */
  invocationId?: string;
}

export interface Delivery {
  deliveryId: string;
  topic: string;
  subscription: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempt: number;
  notBefore: string;
  attempts: AttemptRecord[];
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** A claimed delivery carries its event's body: the worker needs nothing else from the events table. */
export interface ClaimedDelivery extends Delivery {
  eventBody: Record<string, unknown>;
}

export interface StoredEvent {
  eventId: string;
  type: string;
  subject: string | null;
  time: string;
  body: Record<string, unknown>;
}

interface Row {
  delivery_id: string;
  topic: string;
  subscription: string;
  event_id: string;
  type: string;
  status: DeliveryStatus;
  attempt: number;
  not_before: Date;
  attempts: AttemptRecord[];
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
const toDelivery = (r: Row): Delivery => ({
  deliveryId: r.delivery_id,
  topic: r.topic,
  subscription: r.subscription,
  eventId: r.event_id,
  eventType: r.type,
  status: r.status,
  attempt: r.attempt,
  notBefore: iso(r.not_before)!,
  attempts: r.attempts,
  lastError: r.last_error,
  createdAt: iso(r.created_at)!,
  deliveredAt: iso(r.delivered_at),
});

const SELECT = 'SELECT d.*, e.type FROM deliveries d JOIN events e ON e.event_id = d.event_id';

export class DeliveryNotFoundError extends ConfixError {
  constructor(readonly deliveryId: string) {
    super('DeliveryNotFound', 'not_found', `no delivery ${deliveryId}`);
  }
}

export class EventNotFoundError extends ConfixError {
  constructor(readonly eventId: string) {
    super('EventNotFound', 'not_found', `no event ${eventId}`);
  }
}

interface EventRow {
  event_id: string;
  type: string;
  subject: string | null;
  time: Date;
  body: Record<string, unknown>;
}
const toEvent = (r: EventRow): StoredEvent => ({ eventId: r.event_id, type: r.type, subject: r.subject, time: iso(r.time)!, body: r.body });

/** Exponential backoff with jitter: 2 s, 4 s, 8 s … capped at 10 minutes. */
export function backoffMs(attempt: number, random = Math.random): number {
  const base = Math.min(600_000, 2000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}

export class DeliveryStore {
  constructor(private readonly db: Db) {}

  /** Stores an event once (by its id) and queues it for the given subscriptions; answers with the deliveries queued. */
  async publish(event: StoredEvent, to: { topic: string; subscription: string }[], q: Queryable = this.db): Promise<string[]> {
    await q.query('INSERT INTO events (event_id, type, subject, time, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING', [
      event.eventId,
      event.type,
      event.subject,
      event.time,
      JSON.stringify(event.body),
    ]);
    if (!to.length) return [];
    const rows = to.map((t) => ({ id: `dl-${randomBytes(8).toString('hex')}`, topic: t.topic, sub: t.subscription }));
    const inserted = await q.query<{ delivery_id: string }>(
      `INSERT INTO deliveries (delivery_id, topic, subscription, event_id, status)
       SELECT r.id, r.topic, r.sub, $2, 'QUEUED' FROM jsonb_to_recordset($1::jsonb) AS r(id text, topic text, sub text)
       ON CONFLICT (topic, subscription, event_id) DO NOTHING RETURNING delivery_id`,
      [JSON.stringify(rows), event.eventId],
    );
    return inserted.map((r) => r.delivery_id);
  }

  /** Claims due deliveries (and those whose worker's lease ran out). */
  async claim(owner: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const rows = await this.db.query<Row & { event_body: Record<string, unknown> }>(
      `WITH c AS (
         SELECT delivery_id FROM deliveries
         WHERE (status = 'QUEUED' AND not_before <= now()) OR (status = 'IN_PROGRESS' AND lease_expires_at < now())
         ORDER BY not_before, created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE deliveries d SET status = 'IN_PROGRESS', attempt = d.attempt + 1, lease_owner = $1,
         lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
       FROM c, events e WHERE d.delivery_id = c.delivery_id AND e.event_id = d.event_id
       RETURNING d.*, e.type, e.body AS event_body`,
      [owner, limit, leaseMs],
    );
    return rows.map((r) => ({ ...toDelivery(r), eventBody: r.event_body }));
  }

  /** Extends a claimed delivery's lease (while its function runs); false when `owner` no longer holds it. */
  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE deliveries SET lease_expires_at = now() + make_interval(secs => $3::double precision / 1000)
       WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'IN_PROGRESS' RETURNING 1`,
      [id, owner, leaseMs],
    );
    return rows.length > 0;
  }

  /**
   * Records an attempt. Success: DELIVERED. Failure: QUEUED again after the
   * backoff, or DEAD (the dead-letter list) after the last attempt.
   */
  async record(id: string, owner: string, a: AttemptRecord, maxAttempts: number): Promise<DeliveryStatus | undefined> {
    const next = a.ok ? 'DELIVERED' : a.attempt >= maxAttempts ? 'DEAD' : 'QUEUED';
    const rows = await this.db.query<{ status: DeliveryStatus }>(
      `UPDATE deliveries SET status = $3, attempts = attempts || $4::jsonb, last_error = $5, lease_owner = NULL, lease_expires_at = NULL,
         not_before = CASE WHEN $3 = 'QUEUED' THEN now() + make_interval(secs => $6::double precision / 1000) ELSE not_before END,
         delivered_at = CASE WHEN $3 = 'DELIVERED' THEN now() ELSE delivered_at END
       WHERE delivery_id = $1 AND lease_owner = $2 AND status = 'IN_PROGRESS' RETURNING status`,
      [id, owner, next, JSON.stringify([a]), a.ok ? null : (a.error ?? 'failed'), backoffMs(a.attempt)],
    );
    return rows[0]?.status;
  }

  /** Queues dead (or delivered) deliveries again by hand, with a fresh round of attempts; answers with those requeued. */
  async redeliver(ids: string[]): Promise<Delivery[]> {
    const rows = await this.db.query<{ delivery_id: string }>(
      `UPDATE deliveries SET status = 'QUEUED', attempt = 0, not_before = now(), delivered_at = NULL
       WHERE delivery_id = ANY($1::text[]) AND status IN ('DEAD', 'DELIVERED') RETURNING delivery_id`,
      [ids],
    );
    return this.getMany(rows.map((r) => r.delivery_id));
  }

  /** Queues every dead letter again (of one topic and/or subscription when given), with a fresh round of attempts. */
  async redeliverDead(f: { topic?: string; subscription?: string } = {}): Promise<Delivery[]> {
    const w = new Where().add("status = 'DEAD'").eq('topic', f.topic).eq('subscription', f.subscription);
    const rows = await this.db.query<{ delivery_id: string }>(
      `UPDATE deliveries SET status = 'QUEUED', attempt = 0, not_before = now(), delivered_at = NULL ${w} RETURNING delivery_id`,
      w.params,
    );
    return this.getMany(rows.map((r) => r.delivery_id));
  }

  /** Dead letters by subscription (the partial index answers it). */
  async deadCounts(): Promise<{ topic: string; subscription: string; dead: number }[]> {
    const rows = await this.db.query<{ topic: string; subscription: string; n: number | string }>(
      "SELECT topic, subscription, count(*) AS n FROM deliveries WHERE status = 'DEAD' GROUP BY topic, subscription",
    );
    return rows.map((r) => ({ topic: r.topic, subscription: r.subscription, dead: Number(r.n) }));
  }

  /** Stored events, newest first. */
  async events(f: { type?: string; subject?: string; provider?: string; since?: Date; limit?: number } = {}): Promise<StoredEvent[]> {
    const w = new Where().eq('type', f.type).eq('subject', f.subject).eq(`body -> 'data' -> 'resource' ->> 'provider'`, f.provider);
    if (f.since) w.add(`time >= ${w.param(f.since.toISOString())}`);
    const rows = await this.db.query<EventRow>(
      `SELECT * FROM events ${w} ORDER BY time DESC, created_at DESC, event_id LIMIT ${pageSize(f.limit, 50, 10000)}`,
      w.params,
    );
    return rows.map(toEvent);
  }

  async event(id: string): Promise<StoredEvent> {
    const [row] = await this.db.query<EventRow>('SELECT * FROM events WHERE event_id = $1', [id]);
    if (!row) throw new EventNotFoundError(id);
    return toEvent(row);
  }

  async get(id: string): Promise<Delivery> {
    const [row] = await this.db.query<Row>(`${SELECT} WHERE d.delivery_id = $1`, [id]);
    if (!row) throw new DeliveryNotFoundError(id);
    return toDelivery(row);
  }

  async getMany(ids: string[]): Promise<Delivery[]> {
    if (!ids.length) return [];
    return (await this.db.query<Row>(`${SELECT} WHERE d.delivery_id = ANY($1::text[]) ORDER BY d.created_at, d.delivery_id`, [ids])).map(toDelivery);
  }

  async list(f: { topic?: string; subscription?: string; status?: DeliveryStatus; eventId?: string; limit?: number } = {}): Promise<Delivery[]> {
    const w = new Where().eq('d.topic', f.topic).eq('d.subscription', f.subscription).eq('d.status', f.status).eq('d.event_id', f.eventId);
    const rows = await this.db.query<Row>(`${SELECT} ${w} ORDER BY d.created_at DESC, d.delivery_id LIMIT ${pageSize(f.limit, 100, 10000)}`, w.params);
    return rows.map(toDelivery);
  }
}

/**
 * Deletes events older than `before` with their deliveries, for retention
 * (src/store/retention.ts): an event goes with its deliveries only when none
 * is still on its way.
 */
export async function pruneEventsBefore(q: Queryable, before: Date): Promise<{ events: number; deliveries: number }> {
  const [d] = await q.query<{ n: number }>(
    `WITH old AS (
       SELECT e.event_id FROM events e WHERE e.time < $1
         AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id AND d.status IN ('QUEUED', 'IN_PROGRESS'))),
     gone AS (DELETE FROM deliveries d USING old WHERE d.event_id = old.event_id RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [before],
  );
  const events = await q.query(
    `DELETE FROM events e WHERE e.time < $1
       AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.event_id) RETURNING 1`,
    [before],
  );
  return { events: events.length, deliveries: d?.n ?? 0 };
}
