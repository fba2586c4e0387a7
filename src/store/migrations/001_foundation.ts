// Foundation: the sandbox cloud's own state, the recorder's inventory and
// configuration items. Never edit a released migration; add a new one.
export default {
  version: 1,
  name: 'foundation',
  sql: /* sql */ `
CREATE TABLE sandbox_accounts (
  account_id   text PRIMARY KEY,
  name         text NOT NULL,
  regions      text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_resources (
  account_id    text NOT NULL REFERENCES sandbox_accounts(account_id) ON DELETE CASCADE,
  region_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  tags          jsonb NOT NULL DEFAULT '{}',
  configuration jsonb NOT NULL,
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, region_id, resource_type, resource_id)
);
CREATE INDEX sandbox_resources_id ON sandbox_resources (resource_id);

-- The sandbox's change notifications: an outbox written in the same
-- transaction as the change, drained by the recorder.
CREATE TABLE sandbox_changes (
  seq           bigserial PRIMARY KEY,
  account_id    text NOT NULL,
  region_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  change_type   text NOT NULL,
  action        text NOT NULL,
  changed_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Where the recorder has got to in each provider's change feed.
CREATE TABLE recorder_cursors (
  provider   text PRIMARY KEY,
  cursor     text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Inventory: the current state of every recorded resource.
CREATE TABLE resources (
  account_id    text NOT NULL,
  region_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  provider      text NOT NULL,
  resource_name text,
  tags          jsonb NOT NULL DEFAULT '{}',
  -- The latest configuration item; the configuration itself is kept there only.
  ci_id         bigint NOT NULL,
  config_hash   text NOT NULL,
  status        text NOT NULL,
  version       integer NOT NULL,
  first_seen_at timestamptz NOT NULL,
  captured_at   timestamptz NOT NULL,
  PRIMARY KEY (account_id, region_id, resource_type, resource_id)
);
CREATE INDEX resources_id ON resources (resource_id);
-- Per-type listing in key order (full evaluations page through it).
CREATE INDEX resources_type ON resources (resource_type, account_id, region_id, resource_id);
CREATE INDEX resources_tags ON resources USING gin (tags jsonb_path_ops);

-- Configuration items: every recorded version of every resource.
CREATE TABLE configuration_items (
  id            bigserial PRIMARY KEY,
  account_id    text NOT NULL,
  region_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  version       integer NOT NULL,
  status        text NOT NULL,
  source        text NOT NULL,
  captured_at   timestamptz NOT NULL,
  changed_at    timestamptz,
  resource_name text,
  tags          jsonb NOT NULL DEFAULT '{}',
  configuration jsonb,
  config_hash   text NOT NULL,
  diff          jsonb NOT NULL DEFAULT '[]',
  UNIQUE (account_id, region_id, resource_type, resource_id, version)
);
CREATE INDEX configuration_items_resource_id ON configuration_items (resource_id);
`,
};
