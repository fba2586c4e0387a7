// Approvals and the error-percentage pause: who decided on an execution, and
// when automatic remediation of a rule was last resumed (failures before that
// no longer count towards pausing it again). Exceptions remember whether they
// came from policy files (only those are pruned by apply --prune).
export default {
  version: 6,
  name: 'remediation controls',
  sql: /* sql */ `
ALTER TABLE remediations ADD COLUMN resumed_at timestamptz;
ALTER TABLE remediation_exceptions ADD COLUMN origin text NOT NULL DEFAULT 'api';
ALTER TABLE remediation_executions ADD COLUMN decided_by text;
ALTER TABLE remediation_executions ADD COLUMN decided_at timestamptz;
CREATE INDEX remediation_executions_running ON remediation_executions (rule_id) WHERE status = 'IN_PROGRESS';
CREATE INDEX remediation_executions_due ON remediation_executions (not_before, created_at) WHERE status = 'QUEUED';
CREATE INDEX remediation_executions_started ON remediation_executions (rule_id, started_at);
CREATE INDEX remediation_executions_finished ON remediation_executions (rule_id, finished_at);
`,
};
