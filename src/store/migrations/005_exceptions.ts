// Remediation exceptions: resources exempted from a rule's remediation, with a reason and an expiry.
export default {
  version: 5,
  name: 'remediation exceptions',
  sql: /* sql */ `
CREATE TABLE remediation_exceptions (
  rule_id       text NOT NULL REFERENCES rules(rule_id) ON DELETE CASCADE,
  account_id    text NOT NULL,
  region_id     text NOT NULL,
  resource_type text NOT NULL,
  resource_id   text NOT NULL,
  reason        text NOT NULL,
  expires_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (rule_id, account_id, region_id, resource_type, resource_id)
);
`,
};
