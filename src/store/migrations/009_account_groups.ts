// Account groups (aggregators): named sets of an organization's accounts —
// listed, a folder, or the whole organization — that rules are scoped to.
// Members are kept as declared and resolved against the organization when
// rules are loaded, so a folder's new accounts join without a change here.
export default {
  version: 9,
  name: 'account groups',
  sql: /* sql */ `
CREATE TABLE account_groups (
  name             text PRIMARY KEY,
  description      text NOT NULL DEFAULT '',
  owner_account_id text NOT NULL,
  members          jsonb NOT NULL,      -- {"accounts": [...]} | {"folder": "path"} | {"organization": true}
  read_role        text,
  origin           text NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'policy')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
`,
};
