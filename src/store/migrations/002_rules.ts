// Rules, their current evaluation results and the timeline of result changes.
export default {
  version: 2,
  name: 'rules',
  sql: /* sql */ `
CREATE TABLE rules (
  rule_id       text PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  description   text NOT NULL DEFAULT '',
  source        jsonb NOT NULL,
  parameters    jsonb NOT NULL DEFAULT '{}',
  scope         jsonb NOT NULL DEFAULT '{}',
  triggers      jsonb NOT NULL,
  risk_level    integer NOT NULL,
  state         text NOT NULL DEFAULT 'ACTIVE',
  -- 'policy' when the rule came from policy files (plan may delete it), 'api' otherwise.
  origin        text NOT NULL DEFAULT 'api',
  version       integer NOT NULL DEFAULT 1,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  last_evaluated_at timestamptz,
  next_periodic_at  timestamptz
);

-- The current result of every rule for every resource in its scope.
CREATE TABLE evaluation_results (
  rule_id         text NOT NULL REFERENCES rules(rule_id) ON DELETE CASCADE,
  account_id      text NOT NULL,
  region_id       text NOT NULL,
  resource_type   text NOT NULL,
  resource_id     text NOT NULL,
  compliance_type text NOT NULL,
  annotation      text NOT NULL DEFAULT '',
  ci_id           bigint,
  ordering_at     timestamptz NOT NULL,
  invoked_at      timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL,
  PRIMARY KEY (rule_id, account_id, region_id, resource_type, resource_id)
);
CREATE INDEX evaluation_results_resource ON evaluation_results (resource_id);
CREATE INDEX evaluation_results_rule_type ON evaluation_results (rule_id, compliance_type);

-- One entry each time a result's compliance type changes (closing included).
CREATE TABLE evaluation_timeline (
  id                  bigserial PRIMARY KEY,
  rule_id             text NOT NULL REFERENCES rules(rule_id) ON DELETE CASCADE,
  account_id          text NOT NULL,
  region_id           text NOT NULL,
  resource_type       text NOT NULL,
  resource_id         text NOT NULL,
  compliance_type     text NOT NULL,
  previous_compliance_type text,
  annotation          text NOT NULL DEFAULT '',
  ci_id               bigint,
  closed              boolean NOT NULL DEFAULT false,
  ordering_at         timestamptz NOT NULL,
  invoked_at          timestamptz NOT NULL,
  recorded_at         timestamptz NOT NULL
);
CREATE INDEX evaluation_timeline_resource ON evaluation_timeline (resource_id, id);
CREATE INDEX evaluation_timeline_rule ON evaluation_timeline (rule_id, id);
`,
};
