// Automatic remediation counts a resource's attempts per configuration: an
// execution records the configuration item it was queued for, so that a
// changed resource gets its attempts afresh and an unchanged one does not.
export default {
  version: 15,
  name: 'executions record the configuration item they were queued for',
  sql: /* sql */ `
ALTER TABLE remediation_executions ADD COLUMN ci_id bigint;
CREATE INDEX remediation_executions_history ON remediation_executions (rule_id, resource_id, account_id, region_id, resource_type, created_at DESC);
`,
};
