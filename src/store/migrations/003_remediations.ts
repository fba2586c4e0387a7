// Remediation configurations: at most one per rule.
export default {
  version: 3,
  name: 'remediations',
  sql: /* sql */ `
CREATE TABLE remediations (
  rule_id       text PRIMARY KEY REFERENCES rules(rule_id) ON DELETE CASCADE,
  -- The whole configuration as validated (action, parameters, invoke type, attempts, controls, role).
  spec          jsonb NOT NULL,
  -- Automatic remediation paused by the error-percentage control, until someone resumes it.
  paused_at     timestamptz,
  paused_reason text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
`,
};
