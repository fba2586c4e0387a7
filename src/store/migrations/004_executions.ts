// Remediation executions: each row is one attempt to fix one resource, and
// the rows are the work queue (claimed with FOR UPDATE SKIP LOCKED and a lease).
export default {
  version: 4,
  name: 'executions',
  sql: /* sql */ `
CREATE TABLE remediation_executions (
  execution_id     text PRIMARY KEY,
  rule_id          text NOT NULL REFERENCES rules(rule_id) ON DELETE CASCADE,
  account_id       text NOT NULL,
  region_id        text NOT NULL,
  resource_type    text NOT NULL,
  resource_id      text NOT NULL,
  action           text NOT NULL,
  status           text NOT NULL,
  trigger          text NOT NULL,
  dry_run          boolean NOT NULL DEFAULT false,
  attempt          integer NOT NULL DEFAULT 1,
  not_before       timestamptz NOT NULL DEFAULT now(),
  lease_owner      text,
  lease_expires_at timestamptz,
  parameters       jsonb,
  steps            jsonb NOT NULL DEFAULT '[]',
  error_code       text,
  error_message    text,
  prior_state      jsonb,
  rollback_of      text REFERENCES remediation_executions(execution_id),
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz
);
-- At most one active execution per rule and resource.
CREATE UNIQUE INDEX remediation_executions_active ON remediation_executions (rule_id, account_id, region_id, resource_type, resource_id)
  WHERE status IN ('QUEUED', 'AWAITING_APPROVAL', 'IN_PROGRESS');
CREATE INDEX remediation_executions_claim ON remediation_executions (status, not_before);
CREATE INDEX remediation_executions_rule ON remediation_executions (rule_id, created_at);
CREATE INDEX remediation_executions_resource ON remediation_executions (resource_id, created_at);
`,
};
