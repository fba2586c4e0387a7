import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { SecretBox, SecretKeyError, SealedValueError, loadSecretBox, parseKey } from '../../src/security/secret-box.js';

const posix = process.platform !== 'win32';
const tmp = () => mkdtempSync(join(tmpdir(), 'confix-key-'));

test('seal and open round trip; every seal is different; the sealed text is versioned and holds no plaintext', () => {
  const box = SecretBox.ephemeral();
  const plain = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const a = box.seal(plain);
  const b = box.seal(plain);
  assert.match(a, /^v1:[A-Za-z0-9+/]+=*$/);
  assert.notEqual(a, b, 'a fresh IV each time');
  assert.ok(!a.includes(plain));
  assert.ok(!Buffer.from(a.slice(3), 'base64').toString('latin1').includes(plain));
  assert.equal(box.open(a), plain);
  assert.equal(box.open(b), plain);
  assert.equal(box.open(box.seal('')), '');
  assert.equal(box.open(box.seal('ünïcödé ✓')), 'ünïcödé ✓');
});

test('a wrong key is refused with a clear error, never garbage', () => {
  const sealed = SecretBox.ephemeral().seal('the-secret-value-123');
  const other = SecretBox.ephemeral();
  assert.throws(
    () => other.open(sealed),
    (err: Error) => {
      assert.ok(err instanceof SecretKeyError);
      assert.equal(err.message, 'the secret key does not open the stored credentials; was CONFIX_SECRET_KEY changed?');
      return true;
    },
  );
});

test('a tampered, truncated or foreign value is refused', () => {
  const box = SecretBox.ephemeral();
  const sealed = box.seal('the-secret-value-123');
  const raw = Buffer.from(sealed.slice(3), 'base64');
  for (const i of [raw.length - 1, 4 + 12 + 3, 4 + 2]) {
    const bad = Buffer.from(raw);
    bad[i]! ^= 0x01;
    assert.throws(
      () => box.open('v1:' + bad.toString('base64')),
      (err: Error) => err instanceof SealedValueError && /integrity check/.test(err.message),
      `byte ${i}`,
    );
  }
  assert.throws(() => box.open('v1:' + raw.subarray(0, 10).toString('base64')), /truncated/);
  assert.throws(() => box.open('plain text'), /not a sealed value/);
  assert.throws(() => box.open('v9:AAAA'), /format v9, which this confix does not know/);
  // Bound to its context (the account): moved to another, it does not open.
  const bound = box.seal('the-secret-value-123', 'acct-1');
  assert.equal(box.open(bound, 'acct-1'), 'the-secret-value-123');
  assert.throws(() => box.open(bound, 'acct-2'), SealedValueError);
});

test('keys are given as base64 or hex; bad keys are refused without being repeated', () => {
  const key = randomBytes(32);
  const sealed = SecretBox.fromKey(key.toString('base64')).seal('x-secret-x');
  assert.equal(SecretBox.fromKey(key.toString('hex')).open(sealed), 'x-secret-x');
  assert.equal(SecretBox.fromKey(key.toString('base64url')).open(sealed), 'x-secret-x');
  assert.equal(SecretBox.fromKey(key).open(sealed), 'x-secret-x');
  assert.equal(SecretBox.fromKey(key.toString('base64') + '\n').keyId, SecretBox.fromKey(key).keyId);
  for (const bad of ['tooshort', randomBytes(16).toString('base64'), randomBytes(31).toString('hex'), 'not base64 at all!!', '']) {
    assert.throws(
      () => parseKey(bad, 'CONFIX_SECRET_KEY'),
      (err: Error) => {
        assert.ok(err instanceof SecretKeyError);
        assert.match(err.message, /CONFIX_SECRET_KEY/);
        if (bad) assert.ok(!err.message.includes(bad), 'the key is not repeated');
        return true;
      },
    );
  }
  const box = SecretBox.fromKey(key);
  for (const shown of [inspect(box), JSON.stringify(box), String(Object.keys(box))]) {
    assert.ok(!shown.includes(key.toString('base64')) && !shown.includes(key.toString('hex')), shown);
  }
});

test('loadSecretBox: the environment, a key file, or a key generated once with mode 0600 and reused', () => {
  const key = randomBytes(32).toString('base64');
  const fromEnv = loadSecretBox({ env: { CONFIX_SECRET_KEY: key }, dataDir: tmp() });
  assert.equal(fromEnv.source, 'env');
  assert.equal(fromEnv.box.keyId, SecretBox.fromKey(key).keyId);

  const dir = tmp();
  const first = loadSecretBox({ dataDir: dir, env: {} });
  assert.equal(first.source, 'generated');
  assert.equal(first.file, join(dir, 'secret.key'));
  if (posix) assert.equal(statSync(first.file!).mode & 0o777, 0o600);
  const sealed = first.box.seal('survives-a-restart');
  const again = loadSecretBox({ dataDir: dir, env: {} });
  assert.equal(again.source, 'file');
  assert.equal(again.box.open(sealed), 'survives-a-restart', 'the generated key is reused on restart');
  assert.equal(readFileSync(first.file!, 'utf8').trim().length, 44);

  const f = join(tmp(), 'key');
  writeFileSync(f, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const viaEnvFile = loadSecretBox({ env: { CONFIX_SECRET_KEY_FILE: f } });
  assert.equal(viaEnvFile.source, 'file');
  const viaOption = loadSecretBox({ keyFile: f, env: { CONFIX_SECRET_KEY: key } });
  assert.equal(viaOption.box.keyId, viaEnvFile.box.keyId, 'an explicit key file wins over the environment');

  assert.throws(() => loadSecretBox({ env: { CONFIX_SECRET_KEY: key, CONFIX_SECRET_KEY_FILE: f } }), /both CONFIX_SECRET_KEY and CONFIX_SECRET_KEY_FILE/);
  assert.throws(() => loadSecretBox({ env: { CONFIX_SECRET_KEY_FILE: join(tmp(), 'missing') } }), /CONFIX_SECRET_KEY_FILE .*missing does not exist/);
  assert.throws(
    () => loadSecretBox({ env: {} }),
    (err: Error) => {
      assert.match(err.message, /set CONFIX_SECRET_KEY or CONFIX_SECRET_KEY_FILE\. Make a key once with `openssl rand -base64 32`/);
      assert.match(err.message, /CONFIX_SECRET_KEY=<the key>, or in a file only its owner can read, named by CONFIX_SECRET_KEY_FILE/);
      assert.match(err.message, /strand the credentials/);
      return true;
    },
  );
});

test('a key file that group or others can read is refused, as ssh does', { skip: !posix && 'POSIX permissions' }, () => {
  const f = join(tmp(), 'key');
  writeFileSync(f, randomBytes(32).toString('base64'));
  for (const mode of [0o644, 0o640, 0o604, 0o660]) {
    chmodSync(f, mode);
    assert.throws(
      () => loadSecretBox({ keyFile: f }),
      (err: Error) => {
        assert.ok(err instanceof SecretKeyError);
        assert.match(err.message, new RegExp(`the key file .*key is accessible by group or others \\(mode 0${mode.toString(8)}\\).*chmod 600`));
        return true;
      },
    );
  }
  chmodSync(f, 0o400);
  assert.equal(loadSecretBox({ keyFile: f }).source, 'file');
  // A generated key file made world-readable afterwards is refused too.
  const dir = tmp();
  loadSecretBox({ dataDir: dir, env: {} });
  chmodSync(join(dir, 'secret.key'), 0o644);
  assert.throws(() => loadSecretBox({ dataDir: dir, env: {} }), /accessible by group or others/);
});
