// The sandbox cloud's organization (resource directory) and IAM: folders,
// delegated administrators, access keys, permission policies, roles with
// trust policies, and the short-lived sessions AssumeRole hands out. Secrets
// are kept only as hashes, as a cloud would.
export default {
  version: 7,
  name: 'sandbox organization and iam',
  sql: /* sql */ `
CREATE TABLE sandbox_organization (
  id                       boolean PRIMARY KEY DEFAULT true CHECK (id),
  management_account       text NOT NULL,
  delegated_administrators text[] NOT NULL DEFAULT '{}'
);
CREATE TABLE sandbox_folders (
  path        text PRIMARY KEY,        -- "production/web": names from the root down
  name        text NOT NULL,
  parent_path text
);
ALTER TABLE sandbox_accounts ADD COLUMN folder_path text;
CREATE TABLE sandbox_access_keys (
  access_key_id text PRIMARY KEY,
  account_id    text NOT NULL REFERENCES sandbox_accounts(account_id) ON DELETE CASCADE,
  secret_hash   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sandbox_iam_policies (
  account_id  text NOT NULL REFERENCES sandbox_accounts(account_id) ON DELETE CASCADE,
  name        text NOT NULL,
  document    jsonb NOT NULL,
  version     integer NOT NULL DEFAULT 1,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name)
);
CREATE TABLE sandbox_iam_roles (
  account_id    text NOT NULL REFERENCES sandbox_accounts(account_id) ON DELETE CASCADE,
  -- Role names compare case-insensitively (RAM shows them lower-case in ARNs).
  name_key      text NOT NULL,
  name          text NOT NULL,
  trust_policy  jsonb NOT NULL,
  policies      text[] NOT NULL DEFAULT '{}',
  max_session_seconds integer NOT NULL DEFAULT 3600,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (account_id, name_key)
);
CREATE TABLE sandbox_sessions (
  access_key_id text PRIMARY KEY,
  secret_hash   text NOT NULL,
  token_hash    text NOT NULL,
  account_id    text NOT NULL,
  role_name     text NOT NULL,
  session_name  text NOT NULL,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_sessions_expiry ON sandbox_sessions (expires_at);
`,
};
