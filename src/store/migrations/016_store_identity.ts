// Every store has an identity of its own: a random id, one row, written by
// the first process that asks for it (storeIdentity() in src/store/index.ts)
// rather than here, so that stores copied from a migrated template (the
// test and scan stores) do not all share one. Files on a machine that belong
// to one store (its admin token file) are named by it.
export default {
  version: 16,
  name: 'the store identity',
  sql: /* sql */ `
CREATE TABLE store_identity (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  id text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
`,
};
