// The credential broker on seed 000: the management account's stored key,
// AssumeRole chains into member accounts, the cache and its renewal, and the
// refusals an operator sees (no key, a role that is not trusted, expiry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freshDb } from '../helpers/db.js';
import { SandboxCloud, SandboxError, parseEstateText } from '../../src/providers/sandbox/index.js';
import { CredentialStore } from '../../src/accounts/credentials.js';
import { CredentialBroker, NoCredentialsError } from '../../src/accounts/broker.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { ProviderRegistry } from '../../src/providers/index.js';

const SEED_000 = fileURLToPath(new URL('../../examples/estates/seed-000.yaml', import.meta.url));
const A = '100931896542';
const B = '178366182654';
const C = '139876543210';
const A_KEY = { accessKeyId: 'LTAI5tSeed000ManagementA', accessKeySecret: 'seed000-management-secret-do-not-print' };
const ROLE = 'ConfigCustomRemediationRole';
const install = (id: string) => ({ InstanceIds: [id], Force: true });
const where = (accountId: string) => ({ accountId, regionId: 'cn-hangzhou' });

async function setup(opts: { storeKey?: boolean; now?: () => number } = {}) {
  const db = await freshDb();
  const sandbox = new SandboxCloud(db);
  const { raw, lineOf } = parseEstateText(readFileSync(SEED_000, 'utf8'), SEED_000);
  await sandbox.loadEstate(raw, { source: SEED_000, lineOf });
  const keys = new CredentialStore(db, SecretBox.ephemeral());
  if (opts.storeKey !== false) await keys.put(A, A_KEY);
  const broker = new CredentialBroker(new ProviderRegistry([sandbox]), keys, { now: opts.now });
  return { db, sandbox, keys, broker };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof Error, `expected a refusal, got ${String(err)}`);
  return err;
}

test("the management account's key reaches a member account through both roles, and the credentials are cached", async () => {
  const { db, sandbox, broker } = await setup();
  try {
    const first = await broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs', sessionName: 'confix-remediation' });
    assert.equal(first.principal, `acs:ram::${B}:assumed-role/configcustomremediationrole/confix-remediation`);
    assert.deepEqual(first.via, [
      `the stored access key ${A_KEY.accessKeyId} of account ${A}`,
      `AssumeRole acs:ram::${A}:role/configcustomremediationrole`,
      `AssumeRole acs:ram::${B}:role/configcustomremediationrole`,
    ]);
    assert.equal(first.cached, false);
    assert.match(first.credentials!.accessKeyId, /^STS\./);
    const out = await sandbox.call('cms:InstallMonitoringAgent', where(B), install('i-bp1seed000memberb001'), first.credentials);
    assert.equal(out.changed, true);

    const again = await broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs', sessionName: 'confix-remediation' });
    assert.equal(again.cached, true);
    assert.equal(again.credentials!.accessKeyId, first.credentials!.accessKeyId);

    // In the home account itself: one hop.
    const home = await broker.access({ accountId: A, role: ROLE, home: A, dialect: 'acs' });
    assert.equal(home.via.length, 2);
    assert.equal(home.principal, `acs:ram::${A}:assumed-role/configcustomremediationrole/confix`);
  } finally {
    await db.close();
  }
});

test('concurrent requests for the same account share one AssumeRole chain', async () => {
  const { db, broker } = await setup();
  try {
    const all = await Promise.all(Array.from({ length: 8 }, () => broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' })));
    assert.equal(new Set(all.map((a) => a.credentials!.accessKeyId)).size, 1);
    const [{ n } = { n: -1 }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM sandbox_sessions WHERE account_id = $1', [B]);
    assert.equal(n, 1);
  } finally {
    await db.close();
  }
});

test('credentials are renewed shortly before they expire', async () => {
  let now = Date.now();
  const { db, broker } = await setup({ now: () => now });
  try {
    const first = await broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' });
    now = Date.parse(first.expiration!) - 10 * 60_000; // ten minutes left: still good
    assert.equal((await broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' })).cached, true);
    now = Date.parse(first.expiration!) - 2 * 60_000; // two minutes left: renewed
    const renewed = await broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' });
    assert.equal(renewed.cached, false);
    assert.notEqual(renewed.credentials!.accessKeyId, first.credentials!.accessKeyId);
  } finally {
    await db.close();
  }
});

test("expired credentials are refused in the cloud's words; forgetting them gets fresh ones", async () => {
  const { db, sandbox, broker } = await setup();
  try {
    const first = await broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' });
    await db.query("UPDATE sandbox_sessions SET expires_at = now() - interval '1 second' WHERE access_key_id = $1", [first.credentials!.accessKeyId]);
    const err = await rejection(sandbox.call('cms:InstallMonitoringAgent', where(B), install('i-bp1seed000memberb001'), first.credentials));
    assert.ok(err instanceof SandboxError);
    assert.equal(err.code, 'InvalidSecurityToken.Expired');
    broker.forget(B);
    const fresh = await broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' });
    assert.equal(fresh.cached, false);
    assert.equal((await sandbox.call('cms:InstallMonitoringAgent', where(B), install('i-bp1seed000memberb001'), fresh.credentials)).changed, true);
  } finally {
    await db.close();
  }
});

test('without a stored key for the home account, the refusal says which account needs one and how to add it', async () => {
  const { db, broker } = await setup({ storeKey: false });
  try {
    const err = await rejection(broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' }));
    assert.ok(err instanceof NoCredentialsError);
    assert.equal(err.code, 'NoCredentials');
    assert.match(err.message, new RegExp(`no access key is stored for account ${A}.*confix credentials add --account ${A}`));
    // No role named, no key stored: the account's own access, said so.
    const own = await broker.access({ accountId: B, dialect: 'acs' });
    assert.equal(own.credentials, undefined);
    assert.match(own.via[0]!, /no key stored/);
  } finally {
    await db.close();
  }
});

test('a member account that does not trust the caller refuses AssumeRole, naming the action, the role and the principal', async () => {
  const { db, broker } = await setup();
  try {
    // C has no such role.
    const none = await rejection(broker.access({ accountId: C, role: ROLE, home: A, dialect: 'acs' }));
    assert.ok(none instanceof SandboxError);
    assert.equal(none.code, 'EntityNotExist.Role');
    assert.match(none.message, new RegExp(`acs:ram::${C}:role/configcustomremediationrole`));

    // B trusts A's role, not A's root key: with A's role gone, the key alone is refused by B's trust policy.
    await db.query('DELETE FROM sandbox_iam_roles WHERE account_id = $1', [A]);
    const untrusted = await rejection(broker.access({ accountId: B, role: ROLE, home: A, dialect: 'acs' }));
    assert.ok(untrusted instanceof SandboxError);
    assert.equal(untrusted.code, 'NoPermission');
    assert.match(untrusted.message, /sts:AssumeRole/);
    assert.match(untrusted.message, new RegExp(`acs:ram::${B}:role/configcustomremediationrole`));
    assert.match(untrusted.message, new RegExp(`acs:ram::${A}:root`));
  } finally {
    await db.close();
  }
});
