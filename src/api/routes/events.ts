/**
 * Events, topics, subscriptions and deliveries: where compliance and
 * remediation events go, what was sent, what failed, and sending again. A
 * webhook's signing secret goes in and comes out once, only when confix
 * generated it, in the answer to the PUT that created it.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { ApiError } from '../errors.js';
import { Id, Name, QueryText, Time, bounded, errorResponses, json, list } from '../schemas.js';
import { LIMITS } from '../limits.js';
import { EVENT_FORMATS, type EventFormat } from '../../events/formats.js';
import { EVENT_DATA_JSON_SCHEMAS, EVENT_TYPES } from '../../events/types.js';
import type { Subscription } from '../../events/topics.js';
import type { Delivery } from '../../events/deliveries.js';
import { timeOrDuration } from '../time.js';

const FORMATS = EVENT_FORMATS as [EventFormat, ...EventFormat[]];
const STATUSES = ['QUEUED', 'IN_PROGRESS', 'DELIVERED', 'DEAD'] as const;

const Filter = z.unknown().openapi({
  description:
    'An EventBridge-style event pattern (null or absent: everything). A topic matches it against the native event; a subscription against the event in its format.',
  example: { type: ['io.confix.compliance.changed.v1'], data: { newEvaluationResult: { complianceType: ['NON_COMPLIANT'] } } },
});

const TopicSchema = z
  .object({
    name: z.string().openapi({ example: 'security' }),
    description: z.string(),
    filter: Filter,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Topic');

const EndpointSchema = z
  .union([z.object({ type: z.literal('webhook'), url: z.string(), timeoutMs: z.number().int() }), z.object({ type: z.literal('function') }).passthrough()])
  .openapi('SubscriptionEndpoint', { description: "Where the events go. A webhook's signing secret is never shown here." });

const SubscriptionSchema = z
  .object({
    topic: z.string().openapi({ example: 'default' }),
    name: z.string().openapi({ example: 'soc-webhook' }),
    format: z
      .enum(FORMATS)
      .openapi({ description: 'native (CloudEvents 1.0), eventbridge (AWS Config via EventBridge) or mns (Alibaba Cloud Message Service notification)' }),
    filter: Filter,
    endpoint: EndpointSchema,
    maxAttempts: z.number().int(),
    state: z.enum(['ACTIVE', 'DISABLED']),
    createdAt: z.string(),
    updatedAt: z.string(),
    deadLetters: z.number().int().openapi({ description: 'Deliveries that used up their attempts (status DEAD), waiting to be redelivered' }),
  })
  .openapi('Subscription');

const SubscriptionPutSchema = SubscriptionSchema.extend({
  secret: z
    .string()
    .optional()
    .openapi({ description: 'The signing secret confix generated; answered here once and never again (absent when the secret was given)' }),
}).openapi('SubscriptionWithSecret');

const TopicDetailSchema = TopicSchema.extend({ subscriptions: z.array(SubscriptionSchema) }).openapi('TopicDetail');

const AttemptSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  ok: z.boolean(),
  statusCode: z.number().int().optional().openapi({ description: "The endpoint's HTTP status, when it answered" }),
  error: z.string().optional(),
  durationMs: z.number(),
});

const DeliverySchema = z
  .object({
    deliveryId: z.string().openapi({ example: 'dl-5f0c1d2e3a4b5c6d' }),
    topic: z.string(),
    subscription: z.string(),
    eventId: z.string(),
    eventType: z.string(),
    status: z
      .enum(STATUSES)
      .openapi({ description: 'QUEUED (waiting for its next attempt), IN_PROGRESS, DELIVERED, or DEAD (attempts used up: the dead-letter list)' }),
    attempt: z.number().int().openapi({ description: 'Attempts made in the current round (a redelivery starts a new round)' }),
    notBefore: z.string().openapi({ description: 'When the next attempt is due' }),
    attempts: z.array(AttemptSchema).openapi({ description: 'Every attempt, across redeliveries' }),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi('Delivery');

const CloudEventSchema = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string(),
    source: z.string().openapi({ example: 'confix://sandbox/100931896542/cn-hangzhou' }),
    type: z.string().openapi({ example: 'io.confix.compliance.changed.v1' }),
    subject: z.string().optional(),
    time: z.string(),
    datacontenttype: z.string(),
    dataschema: z.string(),
    data: z.unknown(),
  })
  .passthrough()
  .openapi('CloudEvent', { description: 'A native confix event, as stored and as the native format delivers it (CloudEvents 1.0, structured JSON)' });

const TopicInput = bounded(z.object({ description: z.string().max(1000).optional(), filter: Filter.optional() }).passthrough()).openapi('TopicInput');

const SubscriptionInput = bounded(
  z
    .object({
      format: z.enum(FORMATS).optional().openapi({ description: 'Default native' }),
      filter: Filter.optional(),
      // Required, but checked by the store so that a missing one is answered with the shapes it takes.
      endpoint: z
        .unknown()
        .optional()
        .openapi({
          description:
            '{ webhook: { url, secret?, timeoutSeconds? } } or { function: NAME }. The secret (16-256 characters) is write-only: stored sealed, never returned; when absent one is generated and answered once.',
          example: { webhook: { url: 'https://hooks.example.com/confix', timeoutSeconds: 10 } },
        }),
      maxAttempts: z.number().int().min(1).max(20).optional().openapi({ description: 'Attempts before a delivery is dead-lettered (default 8)' }),
      state: z.enum(['ACTIVE', 'DISABLED']).optional().openapi({ description: 'A DISABLED subscription gets no new deliveries' }),
    })
    .passthrough(),
  // The endpoint is checked by the topic store (which never repeats a secret); here only its size.
  { fields: { endpoint: { fields: { webhook: { fields: { url: LIMITS.text.url, secret: LIMITS.text.name } }, function: LIMITS.text.name } } } },
).openapi('SubscriptionInput');

const RedeliverInput = z
  .object({
    ids: list(Id().min(1), LIMITS.bulkIds).min(1).optional().openapi({ description: 'These deliveries (DEAD or DELIVERED ones are queued again)' }),
    allDead: z.boolean().optional().openapi({ description: 'Every dead letter, of the topic and/or subscription when given' }),
    topic: Name().optional(),
    subscription: Name().optional(),
  })
  .openapi('RedeliverInput');

const nameParam = z.object({ name: Name().openapi({ example: 'security' }) });
const subParam = z.object({ topic: Name().openapi({ example: 'default' }), name: Name().openapi({ example: 'soc-webhook' }) });
const idParam = z.object({ id: Id() });
const limit = z.coerce.number().int().min(1).max(10000).optional();

/** Refuses a body that names a different topic or subscription than the path. */
function samePath(body: Record<string, unknown>, field: string, value: string): void {
  if (body[field] !== undefined && body[field] !== value)
    throw new ApiError(400, 'InvalidRequest', `${field}: the body names "${String(body[field])}" but the path "${value}"; the path decides`);
}

export function eventRoutes(app: OpenAPIHono, deps: AppDeps) {
  async function withDeadLetters(subs: Subscription[]) {
    const counts = await deps.deliveries.deadCounts();
    const dead = new Map(counts.map((c) => [`${c.topic}/${c.subscription}`, c.dead]));
    return subs.map((s) => ({ ...s, deadLetters: dead.get(`${s.topic}/${s.name}`) ?? 0 }));
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/topics',
      tags: ['events'],
      summary: 'Topics: the default one receives every event, the others those matching their filter',
      responses: {
        200: json(z.object({ items: z.array(TopicSchema.extend({ subscriptions: z.number().int() })) }), 'Topics with their number of subscriptions'),
      },
    }),
    async (c) => {
      const [topics, subs] = await Promise.all([deps.topics.topics(), deps.topics.subscriptions()]);
      return c.json({ items: topics.map((t) => ({ ...t, subscriptions: subs.filter((s) => s.topic === t.name).length })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/topics/{name}',
      tags: ['events'],
      summary: 'One topic with its subscriptions',
      request: { params: nameParam },
      responses: { 200: json(TopicDetailSchema, 'The topic'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const topic = await deps.topics.topic(name);
      return c.json({ ...topic, subscriptions: await withDeadLetters(await deps.topics.subscriptions(name)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/topics/{name}',
      tags: ['events'],
      summary: 'Create or replace a topic',
      description: 'The filter is an EventBridge-style event pattern over the native event; a bad one is refused naming the field and what was expected.',
      request: { params: nameParam, body: { required: true, content: { 'application/json': { schema: TopicInput } } } },
      responses: { 201: json(TopicSchema, 'Created'), 200: json(TopicSchema, 'Replaced'), 400: errorResponses[400] },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const body = c.req.valid('json') as Record<string, unknown>;
      samePath(body, 'name', name);
      const { created, ...topic } = await deps.topics.putTopic({ ...body, name });
      deps.publisher.invalidate();
      deps.log.info(created ? 'topic created' : 'topic replaced', { topic: name });
      return c.json(topic, created ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/topics/{name}',
      tags: ['events'],
      summary: 'Delete a topic with its subscriptions and their deliveries; the default topic cannot be deleted',
      request: { params: nameParam },
      responses: {
        200: json(z.object({ deleted: z.string(), subscriptions: z.array(z.string()) }), 'Deleted, with the subscriptions that went with it'),
        400: errorResponses[400],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      const subs = name === 'default' ? [] : await deps.topics.subscriptions(name);
      await deps.topics.removeTopic(name);
      deps.publisher.invalidate();
      deps.log.info('topic deleted', { topic: name, subscriptions: subs.length });
      return c.json({ deleted: name, subscriptions: subs.map((s) => s.name) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/subscriptions',
      tags: ['events'],
      summary: 'Subscriptions, of every topic or of one; never with their signing secrets',
      request: { query: z.object({ topic: Name().optional() }) },
      responses: { 200: json(z.object({ items: z.array(SubscriptionSchema) }), 'Subscriptions'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { topic } = c.req.valid('query');
      if (topic) await deps.topics.topic(topic);
      return c.json({ items: await withDeadLetters(await deps.topics.subscriptions(topic)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/topics/{topic}/subscriptions/{name}',
      tags: ['events'],
      summary: 'One subscription (without its signing secret)',
      request: { params: subParam },
      responses: { 200: json(SubscriptionSchema, 'The subscription'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { topic, name } = c.req.valid('param');
      return c.json((await withDeadLetters([await deps.topics.subscription(topic, name)]))[0]!, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/topics/{topic}/subscriptions/{name}',
      tags: ['events'],
      summary: "Create or replace a subscription: the topic's events, in a format, filtered, to a webhook or a function",
      description:
        "A webhook's URL is checked now and before every delivery: internal addresses are refused unless the operator allows them (CONFIX_WEBHOOK_ALLOW). Without a secret, one is generated and answered in `secret`, this once; a replaced subscription gets a new one unless it is given.",
      request: { params: subParam, body: { required: true, content: { 'application/json': { schema: SubscriptionInput } } } },
      responses: {
        201: json(SubscriptionPutSchema, 'Created'),
        200: json(SubscriptionPutSchema, 'Replaced'),
        400: errorResponses[400],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const { topic, name } = c.req.valid('param');
      const body = c.req.valid('json') as Record<string, unknown>;
      samePath(body, 'topic', topic);
      samePath(body, 'name', name);
      const { created, secret, ...sub } = await deps.topics.putSubscription({ ...body, topic, name });
      deps.publisher.invalidate();
      deps.log.info(created ? 'subscription created' : 'subscription replaced', {
        topic,
        subscription: name,
        endpoint: sub.endpoint.type,
        secretGenerated: secret !== undefined,
      });
      const [view] = await withDeadLetters([sub]);
      return c.json({ ...view!, ...(secret !== undefined ? { secret } : {}) }, created ? 201 : 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/topics/{topic}/subscriptions/{name}',
      tags: ['events'],
      summary: 'Delete a subscription with its deliveries',
      request: { params: subParam },
      responses: { 200: json(z.object({ deleted: z.string(), topic: z.string() }), 'Deleted'), 404: errorResponses[404] },
    }),
    async (c) => {
      const { topic, name } = c.req.valid('param');
      await deps.topics.removeSubscription(topic, name);
      deps.publisher.invalidate();
      deps.log.info('subscription deleted', { topic, subscription: name });
      return c.json({ deleted: name, topic }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/deliveries',
      tags: ['events'],
      summary: 'Deliveries, newest first; status=DEAD is the dead-letter list',
      request: {
        query: z.object({
          topic: Name().optional(),
          subscription: Name().optional(),
          status: z.enum(STATUSES).optional(),
          eventId: Id().optional(),
          limit,
        }),
      },
      responses: { 200: json(z.object({ items: z.array(DeliverySchema) }), 'Deliveries') },
    }),
    async (c) => c.json({ items: await deps.deliveries.list(c.req.valid('query')) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/deliveries/{id}',
      tags: ['events'],
      summary: 'One delivery with every attempt: when, the HTTP status or the error, how long it took',
      request: { params: idParam },
      responses: { 200: json(DeliverySchema, 'The delivery'), 404: errorResponses[404] },
    }),
    async (c) => c.json(await deps.deliveries.get(c.req.valid('param').id), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/deliveries/{id}/redeliver',
      tags: ['events'],
      summary: 'Send a dead (or delivered) delivery again, with a fresh round of attempts; the event keeps its id',
      request: { params: idParam },
      responses: { 200: json(DeliverySchema, 'The delivery, queued'), 404: errorResponses[404], 409: errorResponses[409] },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const before = await deps.deliveries.get(id);
      const [queued] = await deps.deliveries.redeliver([id]);
      if (!queued)
        throw new ApiError(409, 'NotRedeliverable', `${id} is ${before.status}: it is still being tried; only DEAD or DELIVERED deliveries are redelivered`);
      deps.deliveryWorker.wake();
      deps.log.info('delivery redelivered', { deliveryId: id });
      return c.json(queued, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/deliveries/redeliver',
      tags: ['events'],
      summary: 'Send deliveries again in one call: listed ones, or every dead letter of a topic or subscription',
      description: 'Give `ids`, or `allDead: true` narrowed by `topic` and/or `subscription` (without them: every dead letter).',
      request: { body: { required: true, content: { 'application/json': { schema: RedeliverInput } } } },
      responses: {
        200: json(
          z.object({ redelivered: z.array(DeliverySchema), skipped: z.array(z.object({ deliveryId: z.string(), reason: z.string() })) }),
          'Queued again, and those that were not, with why',
        ),
        400: errorResponses[400],
        404: errorResponses[404],
      },
    }),
    async (c) => {
      const b = c.req.valid('json');
      let redelivered: Delivery[];
      const skipped: { deliveryId: string; reason: string }[] = [];
      if (b.ids && b.allDead) throw new ApiError(400, 'InvalidRequest', 'give ids, or allDead (narrowed by topic and subscription), not both');
      if (b.ids) {
        if (b.topic !== undefined || b.subscription !== undefined)
          throw new ApiError(400, 'InvalidRequest', 'topic and subscription narrow allDead; with ids they are not used, leave them out');
        const ids = [...new Set(b.ids)];
        const known = new Map((await deps.deliveries.getMany(ids)).map((d) => [d.deliveryId, d]));
        redelivered = await deps.deliveries.redeliver(ids.filter((id) => known.has(id)));
        const done = new Set(redelivered.map((d) => d.deliveryId));
        for (const id of ids) {
          const d = known.get(id);
          if (!d) skipped.push({ deliveryId: id, reason: `no delivery ${id}` });
          else if (!done.has(id)) skipped.push({ deliveryId: id, reason: `${d.status}: still being tried` });
        }
      } else if (b.allDead) {
        if (b.topic !== undefined && b.subscription !== undefined) await deps.topics.subscription(b.topic, b.subscription);
        else if (b.topic !== undefined) await deps.topics.topic(b.topic);
        redelivered = await deps.deliveries.redeliverDead({ topic: b.topic, subscription: b.subscription });
      } else throw new ApiError(400, 'InvalidRequest', 'give ids: [DELIVERY_ID, …], or allDead: true (with topic and/or subscription to narrow it)');
      if (redelivered.length) deps.deliveryWorker.wake();
      deps.log.info('deliveries redelivered', { count: redelivered.length, topic: b.topic, subscription: b.subscription });
      return c.json({ redelivered, skipped }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events',
      tags: ['events'],
      summary: 'Events confix emitted, newest first, as native CloudEvents',
      request: {
        query: z.object({
          type: Name()
            .optional()
            .openapi({ description: EVENT_TYPES.join(', ') }),
          subject: QueryText().optional().openapi({ description: 'The resource id the event is about' }),
          provider: Id().optional().openapi({ description: 'Only events on resources of this provider (data.resource.provider: its name in confix.yaml)' }),
          since: Time().optional().openapi({ description: 'An ISO time, or a duration back from now like 30m, 12h, 7d' }),
          limit,
        }),
      },
      responses: { 200: json(z.object({ items: z.array(CloudEventSchema) }), 'Events'), 400: errorResponses[400] },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const events = await deps.deliveries.events({
        type: q.type,
        subject: q.subject,
        provider: q.provider,
        since: q.since ? timeOrDuration('since', q.since, 'ago') : undefined,
        limit: q.limit,
      });
      return c.json({ items: events.map((e) => e.body as z.infer<typeof CloudEventSchema>) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events/schemas',
      tags: ['events'],
      summary: "The versioned JSON Schemas (draft 2020-12) of native events' data, keyed by the URI each event names in `dataschema`",
      responses: { 200: json(z.record(z.string(), z.record(z.string(), z.unknown())), 'Schemas') },
    }),
    (c) => c.json(EVENT_DATA_JSON_SCHEMAS, 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/events/{id}',
      tags: ['events'],
      summary: 'One event as stored: the native CloudEvent every format is made from',
      request: { params: idParam },
      responses: { 200: json(CloudEventSchema, 'The event'), 404: errorResponses[404] },
    }),
    async (c) => c.json((await deps.deliveries.event(c.req.valid('param').id)).body as z.infer<typeof CloudEventSchema>, 200),
  );
}
