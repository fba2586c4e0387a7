// The engine's credentials for the clouds' APIs, one access key per account.
// The secret is kept only sealed (AES-256-GCM, src/security/secret-box.ts);
// the access key id is stored in clear so that it can be listed.
// Version 8: 7 is reserved for a migration landing separately; migrate()
// applies whatever versions are missing, so the gap is harmless.
export default {
  version: 8,
  name: 'account credentials',
  sql: /* sql */ `
CREATE TABLE account_credentials (
  account_id    text PRIMARY KEY,
  access_key_id text NOT NULL,
  secret_sealed text NOT NULL,
  description   text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
`,
};
