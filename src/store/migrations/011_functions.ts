// Functions (issue 6): code deployed by people, kept in numbered versions,
// and every invocation recorded (task mode). An invocation row is also the
// invocation queue, claimed with a lease like remediation executions.
export default {
  version: 11,
  name: 'functions, versions, invocations',
  sql: /* sql */ `
CREATE TABLE functions (
  name           text PRIMARY KEY,
  description    text NOT NULL DEFAULT '',
  latest_version integer NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE function_versions (
  name            text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
  version         integer NOT NULL,
  file_name       text NOT NULL,
  source          text NOT NULL,
  code_sha256     text NOT NULL,
  handler         text NOT NULL DEFAULT 'handler',
  -- The role's ARN the function runs as (assumed with the function service as principal), or null.
  role            text,
  timeout_seconds integer NOT NULL,
  memory_mb       integer NOT NULL,
  env             jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version)
);

CREATE TABLE invocations (
  invocation_id    text PRIMARY KEY,
  function_name    text NOT NULL REFERENCES functions (name) ON DELETE CASCADE,
  version          integer NOT NULL,
  status           text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED')),
  -- Who asked: {"type":"manual"|"remediation"|"rule"|"subscription", "id": …}.
  source           jsonb NOT NULL DEFAULT '{"type":"manual"}',
  idempotency_key  text,
  input            jsonb,
  result           jsonb,
  error            jsonb,
  logs             jsonb NOT NULL DEFAULT '[]',
  logs_truncated   integer NOT NULL DEFAULT 0,
  attempt          integer NOT NULL DEFAULT 0,
  lease_owner      text,
  lease_expires_at timestamptz,
  cancel_requested boolean NOT NULL DEFAULT false,
  duration_ms      integer,
  init_duration_ms integer,
  max_rss_mb       integer,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  UNIQUE (function_name, idempotency_key)
);
CREATE INDEX invocations_due ON invocations (created_at) WHERE status = 'QUEUED';
CREATE INDEX invocations_function ON invocations (function_name, created_at);
`,
};
