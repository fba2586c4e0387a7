// The console's API types are generated from the OpenAPI document the API
// serves; this fails when a route or schema changed and they were not
// generated again (npm run console-types).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { TYPES_FILE, consoleTypes } from '../../scripts/console-types.js';

test('console/src/api-types.ts is what the OpenAPI document generates now', async () => {
  const fresh = await consoleTypes();
  assert.ok(fresh.includes('RemediationExecution: {'), 'the generated types hold the API schemas');
  assert.equal(readFileSync(TYPES_FILE, 'utf8') === fresh, true, 'console/src/api-types.ts is stale: run npm run console-types');
});
