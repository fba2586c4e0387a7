// Events, topics, subscriptions and their deliveries (issue 6). Every event is
// kept once in its native CloudEvents form; a delivery is one event for one
// subscription, a durable row that is also the delivery queue (claimed like
// remediation executions, with a lease), so delivery is at least once.
export default {
  version: 10,
  name: 'events, topics, subscriptions, deliveries',
  sql: /* sql */ `
CREATE TABLE events (
  event_id    text PRIMARY KEY,
  type        text NOT NULL,
  subject     text,
  time        timestamptz NOT NULL,
  body        jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_time ON events (time);

CREATE TABLE topics (
  name        text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  -- Which native events reach the topic (an event pattern); null: every event.
  filter      jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO topics (name, description) VALUES ('default', 'Every event confix emits');

CREATE TABLE subscriptions (
  topic         text NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
  name          text NOT NULL,
  format        text NOT NULL CHECK (format IN ('native', 'eventbridge', 'mns')),
  -- An event pattern over the event in the subscription's format; null: all.
  filter        jsonb,
  -- {"type":"webhook","url":…,"timeoutMs":…} or {"type":"function","function":…}
  endpoint      jsonb NOT NULL,
  -- The webhook signing secret, sealed like stored credentials.
  secret_sealed text,
  max_attempts  integer NOT NULL DEFAULT 8,
  state         text NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'DISABLED')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, name)
);

CREATE TABLE deliveries (
  delivery_id      text PRIMARY KEY,
  topic            text NOT NULL,
  subscription     text NOT NULL,
  event_id         text NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
  status           text NOT NULL CHECK (status IN ('QUEUED', 'IN_PROGRESS', 'DELIVERED', 'DEAD')),
  attempt          integer NOT NULL DEFAULT 0,
  not_before       timestamptz NOT NULL DEFAULT now(),
  lease_owner      text,
  lease_expires_at timestamptz,
  attempts         jsonb NOT NULL DEFAULT '[]',
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  FOREIGN KEY (topic, subscription) REFERENCES subscriptions (topic, name) ON DELETE CASCADE,
  UNIQUE (topic, subscription, event_id)
);
CREATE INDEX deliveries_due ON deliveries (not_before, created_at) WHERE status = 'QUEUED';
CREATE INDEX deliveries_subscription ON deliveries (topic, subscription, created_at);
CREATE INDEX deliveries_dead ON deliveries (topic, subscription) WHERE status = 'DEAD';
`,
};
