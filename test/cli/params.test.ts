// The CLI's pure pieces: KEY=VALUE parameters of `sandbox call` read by the
// action's schema, and the one line an API error becomes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseParams, type ParamSchemas } from '../../src/cli/commands/sandbox.js';
import { errorLine } from '../../src/cli/client.js';

const schemas: ParamSchemas = {
  InstanceIds: { type: 'array', items: { type: 'string' } },
  Ports: { type: 'array', items: { type: 'integer' } },
  Permissions: { type: 'array', items: { type: 'object' } },
  InstanceName: { type: 'string' },
  Force: { type: 'boolean' },
};

test('a list parameter: repeated key, comma list, JSON, or one value as a list of one', () => {
  assert.deepEqual(parseParams(['InstanceIds=i-1', 'InstanceIds=i-2'], schemas), { InstanceIds: ['i-1', 'i-2'] });
  assert.deepEqual(parseParams(['InstanceIds=i-1,i-2'], schemas), { InstanceIds: ['i-1', 'i-2'] });
  assert.deepEqual(parseParams(['InstanceIds=i-1, i-2', 'InstanceIds=i-3'], schemas), { InstanceIds: ['i-1', 'i-2', 'i-3'] });
  assert.deepEqual(parseParams(['InstanceIds=["i-1","i-2"]'], schemas), { InstanceIds: ['i-1', 'i-2'] });
  assert.deepEqual(parseParams(['InstanceIds=["a,b"]'], schemas), { InstanceIds: ['a,b'] }, 'JSON keeps a comma inside a value');
  assert.deepEqual(parseParams(['InstanceIds=i-1'], schemas), { InstanceIds: ['i-1'] });
  assert.deepEqual(parseParams(['InstanceIds=0123'], schemas), { InstanceIds: ['0123'] }, 'string items stay strings');
  assert.deepEqual(parseParams(['Ports=22,3389'], schemas), { Ports: [22, 3389] });
  // Lists of objects: JSON, one object per repeated key.
  assert.deepEqual(parseParams(['Permissions={"a":1}', 'Permissions={"a":2}'], schemas), { Permissions: [{ a: 1 }, { a: 2 }] });
  assert.deepEqual(parseParams(['Permissions=[{"a":1},{"a":2}]'], schemas), { Permissions: [{ a: 1 }, { a: 2 }] });
});

test('other parameters: JSON where it parses, strings where the schema says string, a repeated key without a schema is a list', () => {
  assert.deepEqual(parseParams(['InstanceName=007', 'Force=true', 'Other=5', 'Text=a,b'], schemas), {
    InstanceName: '007',
    Force: true,
    Other: 5,
    Text: 'a,b',
  });
  assert.deepEqual(parseParams(['InstanceName="quoted"'], schemas), { InstanceName: 'quoted' });
  assert.deepEqual(parseParams(['X=1', 'X=b']), { X: [1, 'b'] });
  assert.deepEqual(parseParams(['InstanceIds=i-1,i-2']), { InstanceIds: 'i-1,i-2' }, 'without a schema a comma is just a character');
  assert.throws(() => parseParams(['novalue']), /parameter "novalue" is not KEY=VALUE/);
});

test("an error line starts with the cloud's code, not with confix's own", () => {
  // A cloud's error: the API names the provider that answered it.
  assert.equal(
    errorLine({ code: 'InvalidSecurityGroupId.NotFound', message: 'The specified security group "sg-1" does not exist.', provider: 'aws' }),
    'InvalidSecurityGroupId.NotFound: The specified security group "sg-1" does not exist.',
  );
  assert.equal(errorLine({ code: 'AccessDenied', message: 'not allowed', provider: 'aws' }), 'AccessDenied: not allowed');
  for (const own of ['RuleNotFound', 'InvalidRequest', 'Forbidden', 'InternalError', 'HTTP502'])
    assert.equal(errorLine({ code: own, message: 'words' }), 'words', own);
  assert.equal(errorLine({ message: 'words' }), 'words');
  assert.equal(errorLine({ code: 'X.Y', message: 'X.Y: already prefixed', provider: 'sandbox' }), 'X.Y: already prefixed');
});
