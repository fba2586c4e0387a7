// YAML alias bombs: `confix sandbox load` and `confix apply -f` read YAML
// through one helper that bounds aliases, so a few hundred bytes standing for
// billions of values are refused at once, naming the file and why, and a
// file sharing a few blocks by alias is read as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { readPolicyDocuments, PolicyFileError } from '../../src/policy/files.js';
import { aliasBomb } from '../helpers/yaml-bomb.js';

const dir = mkdtempSync(join(tmpdir(), 'confix-aliases-'));
const write = (name: string, text: string) => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};
// Nothing listens there: the files are refused before the CLI calls the service.
const NO_SERVICE = ['--url', 'http://127.0.0.1:9', '--token', 'cfx_0000000000000000_none'];

test('confix sandbox load refuses an alias bomb quickly, naming the file and why', async () => {
  const f = write('bomb.yaml', aliasBomb());
  const started = Date.now();
  const r = await runCli([...NO_SERVICE, 'sandbox', 'load', f]);
  const ms = Date.now() - started;
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, new RegExp(`estate ${f.replace(/[/.]/g, '\\$&')} refused`));
  assert.match(r.stderr, /too many YAML aliases/);
  // Starting the CLI through tsx takes a second or two; expanding the bomb took over 40 s.
  assert.ok(ms < 15_000, `${ms} ms`);
});

test('policy files: an alias bomb is a problem at its file and line; shared blocks still read', async () => {
  const bomb = write(
    'bomb-policy.yaml',
    `kind: Rule\nname: x\nsource: { managed: sg-risky-ports-check }\nparameters:\n${aliasBomb().replace(/^/gm, '  ').trimEnd()}\n`,
  );
  const started = Date.now();
  assert.throws(
    () => readPolicyDocuments([bomb]),
    (e: unknown) => e instanceof PolicyFileError && /bomb-policy\.yaml:1: too many YAML aliases/.test(e.message),
  );
  assert.ok(Date.now() - started < 2000);
  const cli = await runCli([...NO_SERVICE, 'apply', '-f', bomb]);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /bomb-policy\.yaml:1: too many YAML aliases/);

  const shared = write(
    'shared.yaml',
    `kind: AccountGroup
name: prod
members: { accounts: &prod ["100931896542", "139876543210"] }
description: &why production accounts
---
kind: Rule
name: a
source: { managed: sg-risky-ports-check }
scope: { regions: &regions [cn-hangzhou, us-east-1] }
parameters: &ports { ports: "22" }
remediation: { action: revoke-security-group-rules, parameters: *ports }
description: *regions
`,
  );
  const docs = readPolicyDocuments([shared]);
  assert.deepEqual(docs[0]!.body.members, { accounts: ['100931896542', '139876543210'] });
  assert.deepEqual(docs[1]!.body.description, ['cn-hangzhou', 'us-east-1']);
  assert.deepEqual((docs[1]!.body.remediation as { parameters: unknown }).parameters, { ports: '22' });
  // Anchors are a document's own: an alias to another document's is named at its file and line.
  const across = write('across.yaml', 'kind: Rule\nname: a\nparameters: &p { ports: "22" }\n---\nkind: Rule\nname: b\nparameters: *p\n');
  assert.throws(() => readPolicyDocuments([across]), /across\.yaml:5: Unresolved alias/);
});
