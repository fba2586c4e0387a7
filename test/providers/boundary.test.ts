// The provider contract is the engine's only door to a cloud: no module
// outside src/providers/ imports a provider's own folder (the sandbox's own
// HTTP routes and CLI commands may import its public index.ts), and the
// registries agree with the providers: every action's permission is an API
// action some provider serves, every managed rule's type is served, every
// served type has its facts (ARN, read permission).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freshDb } from '../helpers/db.js';
import { SandboxCloud, createAwsProvider, resourceTypeFacts } from '../../src/providers/index.js';
import { allActions } from '../../src/remediation/registry.js';
import { allManagedRules } from '../../src/rules/registry.js';
import '../../src/remediation/actions/index.js';
import '../../src/rules/managed/index.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const PROVIDERS = join(SRC, 'providers');
/** Provider folders: every folder of src/providers but the neutral catalogue of resource types. */
const providerFolders = readdirSync(PROVIDERS, { withFileTypes: true })
  .filter((d) => d.isDirectory() && d.name !== 'resource-types')
  .map((d) => join(PROVIDERS, d.name));
/** The sandbox's own routes and commands: they may import its public face. */
const SANDBOX_OWN = ['api/routes/sandbox.ts', 'api/routes/sandbox-iam.ts', 'cli/commands/sandbox.ts'].map((f) => join(SRC, f));

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => join(d.parentPath, d.name));
}

test('no module outside src/providers imports a provider’s folder (the sandbox’s own routes and commands only its index.ts)', () => {
  const offences: string[] = [];
  for (const file of sources(SRC)) {
    if (file.startsWith(PROVIDERS + '/')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), m[1]!).replace(/\.js$/, '.ts');
      const folder = providerFolders.find((f) => target === f || target.startsWith(f + '/'));
      if (!folder) continue;
      if (SANDBOX_OWN.includes(file) && target === join(PROVIDERS, 'sandbox', 'index.ts')) continue;
      offences.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(offences, []);
});

test('every remediation action’s permissions are API actions a provider serves; every managed rule’s types are served; every served type has its facts', async () => {
  const db = await freshDb();
  try {
    // Every provider confix can build (the AWS provider is not asked anything here: no network).
    const aws = await createAwsProvider({ organization: false, regions: ['us-east-1'] });
    const providers = [new SandboxCloud(db), aws];
    // What a provider offers: the actions call() serves, and the reads of the types it serves (describe, discover).
    const actions = new Set(providers.flatMap((p) => [...p.actions(), ...p.resourceTypes().flatMap((t) => t.readPermissions)]));
    const types = new Set(providers.flatMap((p) => p.resourceTypes().map((t) => t.type)));
    const problems: string[] = [];
    for (const a of allActions())
      for (const perm of a.permissions) if (!actions.has(perm)) problems.push(`action ${a.name} needs ${perm}, which no provider serves`);
    for (const r of allManagedRules())
      for (const t of r.resourceTypes) if (!types.has(t)) problems.push(`managed rule ${r.identifier} judges ${t}, which no provider serves`);
    for (const t of types) {
      const f = resourceTypeFacts(t);
      if (!f) problems.push(`${t} has no facts in the catalogue`);
      else if (!f.arn({ accountId: '123456789012', regionId: 'us-east-1', resourceId: 'x' }).includes('x') || !f.readPermission)
        problems.push(`${t} has no ARN format or read permission`);
    }
    assert.deepEqual(problems, []);
    // The AWS provider serves exactly the AWS types the catalogue knows, and every AWS call or read an AWS-typed action needs.
    const awsTypes = new Set(aws.resourceTypes().map((t) => t.type));
    const awsCalls = new Set([...aws.actions(), ...aws.resourceTypes().flatMap((t) => t.readPermissions)]);
    for (const a of allActions().filter((x) => x.resourceTypes.some((t) => awsTypes.has(t))))
      for (const perm of a.permissions) assert.ok(awsCalls.has(perm), `action ${a.name} needs ${perm}, which the AWS provider does not serve`);
    await (aws as { close?: () => Promise<void> }).close?.();
  } finally {
    await db.close();
  }
});
