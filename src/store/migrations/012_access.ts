// Access control (issue 7): API bearer tokens, stored hashed, with a role,
// an expiry and a revocation; and the audit log of who did what.
export default {
  version: 12,
  name: 'api tokens, audit log',
  sql: /* sql */ `
CREATE TABLE api_tokens (
  -- The token's public part (cfx_<id>_<secret>); the secret is kept only as its SHA-256.
  id           text PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  role         text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  secret_hash  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  created_by   text,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz
);

CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  time        timestamptz NOT NULL DEFAULT now(),
  -- The token's name and role; null when the request carried no valid token.
  token_name  text,
  role        text,
  method      text NOT NULL,
  -- The route pattern (/rules/{name}) and its path parameters.
  route       text NOT NULL,
  target      jsonb NOT NULL DEFAULT '{}',
  status      integer NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('ok', 'denied', 'error')),
  reason      text
);
CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_token ON audit_log (token_name, time);
`,
};
