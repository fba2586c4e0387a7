import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Environment } from '@marcbachmann/cel-js';
import { compileCelRule, CelCompileError, toCelValue } from '../../src/rules/cel.js';
import type { EvaluationInput, Verdict } from '../../src/rules/types.js';

function sg(permissions: Record<string, unknown>[], extra: Record<string, unknown> = {}): EvaluationInput {
  return {
    accountId: '123456789012',
    regionId: 'cn-hangzhou',
    resourceType: 'ACS::ECS::SecurityGroup',
    resourceId: 'sg-1',
    resourceName: 'web',
    tags: { owner: 'alice', env: 'prod' },
    configuration: { SecurityGroupId: 'sg-1', VpcId: 'vpc-1', Permissions: { Permission: permissions }, ...extra },
  };
}

const SSH_OPEN = { Direction: 'ingress', SourceCidrIp: '0.0.0.0/0', PortRange: '22/22', IpProtocol: 'TCP', Priority: 1 };
const HTTPS_OPEN = { Direction: 'ingress', SourceCidrIp: '0.0.0.0/0', PortRange: '443/443', IpProtocol: 'TCP', Priority: 1 };
const SSH_INTERNAL = { Direction: 'ingress', SourceCidrIp: '10.0.0.0/8', PortRange: '22/22', IpProtocol: 'TCP', Priority: 1 };

function compileError(expression: string): CelCompileError {
  try {
    compileCelRule(expression);
  } catch (err) {
    assert.ok(err instanceof CelCompileError, `expected a CelCompileError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${expression} compiled`);
}

function run(expression: string, input: EvaluationInput = sg([]), parameters: Record<string, string> = {}): Verdict {
  return compileCelRule(expression).evaluate(input, parameters);
}

function complianceOf(expression: string, input?: EvaluationInput, parameters?: Record<string, string>) {
  return run(expression, input, parameters).complianceType;
}

test('a syntax error names line and column, with the library message and a caret', () => {
  const e = compileError('resource.configuration.Status == ');
  assert.deepEqual(e.position, { line: 1, column: 34, offset: 33 });
  assert.equal(e.expression, 'resource.configuration.Status == ');
  assert.match(e.detail, /Unexpected token: EOF/);
  assert.equal(e.message, 'CEL expression does not compile at line 1, column 34: Unexpected token: EOF');
  assert.equal(e.excerpt, `resource.configuration.Status == \n${' '.repeat(33)}^`);
  assert.equal(e.name, 'CelCompileError');
  assert.ok(e instanceof Error);
});

test('=== is refused at the third =', () => {
  const e = compileError("resource.configuration.Status === 'x'");
  assert.deepEqual(e.position, { line: 1, column: 33, offset: 32 });
  assert.match(e.message, /^CEL expression does not compile at line 1, column 33: Unexpected character: =$/);
});

test('positions count lines in a multi-line expression', () => {
  const e = compileError("resource.type == 'x' &&\n  resource.id ==== 'y'");
  assert.equal(e.position?.line, 2);
  assert.equal(e.position?.column, 17);
  assert.equal(e.excerpt, "  resource.id ==== 'y'\n                ^");
});

test('type errors are compile errors with a position', () => {
  const typo = compileError('resource.confguration.Cpu > 2');
  assert.match(typo.message, /at line 1, column 10: No such key: confguration/);
  const badArith = compileError('parameters.max + 1 > 2');
  assert.match(badArith.detail, /no such overload: string \+ int/);
  assert.equal(badArith.position?.line, 1);
  const unknownVar = compileError('params.x == "y"');
  assert.match(unknownVar.detail, /params/);
  assert.deepEqual(unknownVar.position, { line: 1, column: 1, offset: 0 });
});

test('an expression whose type cannot be a verdict is refused when compiled', () => {
  const e = compileError('  size(resource.tags) + 1');
  assert.match(e.message, /column 3: the expression is of type int; a rule must return a bool/);
  assert.match(compileError("['COMPLIANT']").detail, /of type list<string>/);
});

test('true is COMPLIANT, false is NON_COMPLIANT, annotated with the expression', () => {
  assert.deepEqual(run("resource.type == 'ACS::ECS::SecurityGroup'"), {
    complianceType: 'COMPLIANT',
    annotation: "custom rule: resource.type == 'ACS::ECS::SecurityGroup' is true",
  });
  assert.deepEqual(run("resource.type == 'ACS::RDS::DBInstance'"), {
    complianceType: 'NON_COMPLIANT',
    annotation: "custom rule: resource.type == 'ACS::RDS::DBInstance' is false",
  });
});

test('a long or multi-line expression is shortened in the annotation', () => {
  const long = `resource.id == 'sg-1' &&\n   ${Array.from({ length: 20 }, (_, i) => `resource.id != 'x${i}'`).join(' && ')}`;
  const { complianceType, annotation } = run(long);
  assert.equal(complianceType, 'COMPLIANT');
  assert.ok(annotation.startsWith("custom rule: resource.id == 'sg-1' && resource.id != 'x0'"), annotation);
  assert.ok(annotation.endsWith('… is true'), annotation);
  assert.ok(annotation.length < 150, annotation);
  assert.ok(!annotation.includes('\n'));
});

test('a string result must be a compliance type', () => {
  assert.deepEqual(run("resource.type.startsWith('ACS::ECS::') ? 'NOT_APPLICABLE' : 'COMPLIANT'"), {
    complianceType: 'NOT_APPLICABLE',
    annotation: "custom rule: resource.type.startsWith('ACS::ECS::') ? 'NOT_APPLICABLE' : 'COMPLIANT' returned NOT_APPLICABLE",
  });
  assert.equal(complianceOf("'INSUFFICIENT_DATA'"), 'INSUFFICIENT_DATA');
  assert.throws(() => run("'compliant'"), /custom rule returned the string "compliant"; expected a bool, one of the strings COMPLIANT, NON_COMPLIANT/);
});

test('a map result gives compliance and annotation', () => {
  assert.deepEqual(run("{'compliance': 'NON_COMPLIANT', 'annotation': 'owner tag ' + resource.tags.owner + ' is not a team'}"), {
    complianceType: 'NON_COMPLIANT',
    annotation: 'owner tag alice is not a team',
  });
  assert.deepEqual(run("{'compliance': has(resource.tags.owner), 'annotation': 'needs an owner'}"), {
    complianceType: 'COMPLIANT',
    annotation: 'needs an owner',
  });
  assert.deepEqual(run("{'compliance': false}"), { complianceType: 'NON_COMPLIANT', annotation: "custom rule: {'compliance': false} returned NON_COMPLIANT" });
  assert.throws(() => run("{'compliance': 'maybe'}"), /'compliance': the string "maybe"; expected a bool or one of COMPLIANT/);
  assert.throws(() => run("{'annotation': 'x'}"), /a map without 'compliance'/);
  assert.throws(() => run("{'compliance': true, 'annotation': 1}"), /'annotation': the int 1; expected a string/);
  assert.throws(() => run("{'compliance': true, 'annotaton': 'x'}"), /unexpected key "annotaton"/);
});

test('any other result is an error saying what came back and what is expected', () => {
  assert.throws(() => run('resource.configuration.SecurityGroupId'), /^Error: custom rule returned the string "sg-1"; expected a bool/);
  assert.throws(() => run('resource.configuration.Permissions.Permission', sg([SSH_OPEN])), /custom rule returned a list of 1; expected a bool/);
  assert.throws(() => run('resource.configuration.Cpu', sg([], { Cpu: 4 })), /custom rule returned the int 4; expected/);
  assert.throws(() => run('resource.configuration.Mem', sg([], { Mem: 2.5 })), /custom rule returned the double 2.5; expected/);
  assert.throws(() => run('resource.configuration.Nothing', sg([], { Nothing: null })), /custom rule returned null; expected/);
});

const NO_OPEN_SSH =
  "!resource.configuration.Permissions.Permission.exists(p, p.Direction == 'ingress' && p.SourceCidrIp == '0.0.0.0/0' && p.PortRange == '22/22')";

test('a security group rule over a list of permissions', () => {
  const rule = compileCelRule(NO_OPEN_SSH);
  assert.equal(rule.expression, NO_OPEN_SSH);
  assert.equal(rule.evaluate(sg([HTTPS_OPEN, SSH_OPEN]), {}).complianceType, 'NON_COMPLIANT');
  assert.equal(rule.evaluate(sg([HTTPS_OPEN, SSH_INTERNAL]), {}).complianceType, 'COMPLIANT');
  assert.equal(rule.evaluate(sg([]), {}).complianceType, 'COMPLIANT');
  assert.equal(rule.evaluate(sg([{ ...SSH_OPEN, Direction: 'egress' }]), {}).complianceType, 'COMPLIANT');
});

test('all, exists_one, size and string functions', () => {
  const input = sg([HTTPS_OPEN, SSH_INTERNAL]);
  assert.equal(complianceOf("resource.configuration.Permissions.Permission.all(p, p.IpProtocol == 'TCP')", input), 'COMPLIANT');
  assert.equal(complianceOf("resource.configuration.Permissions.Permission.all(p, p.SourceCidrIp.startsWith('10.'))", input), 'NON_COMPLIANT');
  assert.equal(complianceOf("resource.configuration.Permissions.Permission.exists_one(p, p.PortRange.contains('22'))", input), 'COMPLIANT');
  assert.equal(complianceOf('size(resource.configuration.Permissions.Permission) == 2', input), 'COMPLIANT');
  assert.equal(complianceOf('size(resource.configuration.Permissions.Permission) == 3', input), 'NON_COMPLIANT');
  assert.equal(complianceOf("resource.configuration.VpcId.matches('^vpc-[0-9]+$')", input), 'COMPLIANT');
  assert.equal(complianceOf("resource.configuration.VpcId.matches('^vpc-[a-z]+$')", input), 'NON_COMPLIANT');
  assert.equal(complianceOf("resource.configuration.VpcId.endsWith('-1') && resource.name == 'web'", input), 'COMPLIANT');
});

test('tags, and the other fields of resource', () => {
  const input = sg([]);
  assert.equal(complianceOf("'owner' in resource.tags", input), 'COMPLIANT');
  assert.equal(complianceOf("'cost-center' in resource.tags", input), 'NON_COMPLIANT');
  assert.equal(complianceOf("resource.tags.env == 'prod'", input), 'COMPLIANT');
  assert.equal(complianceOf('has(resource.tags.team)', input), 'NON_COMPLIANT');
  assert.equal(
    complianceOf("resource.id == 'sg-1' && resource.accountId == '123456789012' && resource.regionId == 'cn-hangzhou' && resource.name == 'web'", input),
    'COMPLIANT',
  );
  assert.equal(complianceOf('resource.name == null', { ...input, resourceName: null }), 'COMPLIANT');
  assert.equal(complianceOf('resource.name == null', input), 'NON_COMPLIANT');
});

test('parameters: split a comma-separated list', () => {
  const rule = compileCelRule("resource.configuration.InstanceType in parameters.allowed.split(',')");
  const ecs = (type: string): EvaluationInput => ({ ...sg([]), resourceType: 'ACS::ECS::Instance', configuration: { InstanceType: type } });
  const allowed = { allowed: 'ecs.g7.large,ecs.c7.xlarge' };
  assert.equal(rule.evaluate(ecs('ecs.g7.large'), allowed).complianceType, 'COMPLIANT');
  assert.equal(rule.evaluate(ecs('ecs.c7.xlarge'), allowed).complianceType, 'COMPLIANT');
  assert.equal(rule.evaluate(ecs('ecs.g7'), allowed).complianceType, 'NON_COMPLIANT');
  assert.equal(rule.evaluate(ecs('ecs.g7.large'), { allowed: 'ecs.t6.small' }).complianceType, 'NON_COMPLIANT');
  assert.throws(() => rule.evaluate(ecs('ecs.g7.large'), {}), /^Error: CEL evaluation failed: No such key: allowed/);
  assert.equal(complianceOf("has(parameters.allowed) && 'b' in parameters.allowed.split(',')", sg([]), { allowed: 'a,b' }), 'COMPLIANT');
  assert.equal(complianceOf('!has(parameters.allowed)', sg([]), {}), 'COMPLIANT');
});

test('has() on configuration keys', () => {
  const input = sg([], { DeletionProtection: false, Nothing: null });
  assert.equal(complianceOf('has(resource.configuration.DeletionProtection)', input), 'COMPLIANT');
  assert.equal(complianceOf('has(resource.configuration.Nothing)', input), 'COMPLIANT');
  assert.equal(complianceOf('has(resource.configuration.Missing)', input), 'NON_COMPLIANT');
  assert.equal(complianceOf('has(resource.configuration.Missing) && resource.configuration.Missing', input), 'NON_COMPLIANT');
  assert.equal(complianceOf('has(resource.configuration.Permissions.Permission)', input), 'COMPLIANT');
  assert.equal(complianceOf('has(resource.configuration.Permissions.Other)', input), 'NON_COMPLIANT');
  // An undefined member is as absent as in the stored JSON.
  assert.equal(complianceOf('has(resource.configuration.Gone)', sg([], { Gone: undefined })), 'NON_COMPLIANT');
});

test('numbers: JSON whole numbers are ints, others doubles, and both compare naturally', () => {
  const input = sg([{ ...SSH_OPEN, FromPort: 22, ToPort: 22 }], { Cpu: 4, Memory: 8192, Mem: 2.5, Bandwidth: 0.5, Big: 2 ** 60 });
  const ok = (e: string) => assert.equal(complianceOf(e, input), 'COMPLIANT', e);
  const no = (e: string) => assert.equal(complianceOf(e, input), 'NON_COMPLIANT', e);
  ok('resource.configuration.Cpu > 2');
  no('resource.configuration.Cpu > 4');
  ok('resource.configuration.Cpu == 4');
  ok('resource.configuration.Cpu == 4.0');
  ok('resource.configuration.Cpu > 3.5');
  ok('resource.configuration.Mem > 2');
  no('resource.configuration.Mem > 3');
  ok('resource.configuration.Mem == 2.5');
  ok('resource.configuration.Permissions.Permission.exists(p, p.FromPort == 22)');
  no('resource.configuration.Permissions.Permission.exists(p, p.FromPort == 23)');
  ok('resource.configuration.Permissions.Permission.exists(p, p.FromPort in [22, 3389])');
  ok("resource.configuration.Permissions.Permission.exists(p, p.FromPort <= 22 && p.ToPort >= 22 && string(p.FromPort) == '22')");
  // Arithmetic works on ints as on any CEL int…
  ok('resource.configuration.Cpu * 2 == 8');
  ok('resource.configuration.Memory / 1024 == 8');
  ok('resource.configuration.Memory % 1024 == 0');
  ok('type(resource.configuration.Cpu) == int');
  ok('type(resource.configuration.Mem) == double');
  ok('type(resource.configuration.Big) == double');
  // …and is not mixed with doubles: convert explicitly.
  ok('double(resource.configuration.Cpu) * 1.5 == 6.0');
  ok('resource.configuration.Bandwidth * 2.0 == 1.0');
  ok("int('8') >= resource.configuration.Cpu");
  assert.throws(
    () => run('resource.configuration.Cpu * 1.5 > 1.0', input),
    /^Error: CEL evaluation failed: no such overload: dyn<int> \* double \(line 1, column 1\)$/,
  );
  // Numbers against string parameters need int() or double().
  assert.equal(complianceOf('resource.configuration.Cpu <= int(parameters.maxCpu)', input, { maxCpu: '8' }), 'COMPLIANT');
  assert.equal(complianceOf('resource.configuration.Cpu <= int(parameters.maxCpu)', input, { maxCpu: '2' }), 'NON_COMPLIANT');
});

test('toCelValue converts whole numbers to bigint, deeply, and leaves the input alone', () => {
  const config = { a: 1, b: 1.5, c: [2, { d: -3 }], e: 'x', f: null, g: true, h: undefined, i: [undefined], j: 2 ** 53, k: -0 };
  const converted = toCelValue(config);
  assert.deepEqual(converted, { a: 1n, b: 1.5, c: [2n, { d: -3n }], e: 'x', f: null, g: true, i: [null], j: 2 ** 53, k: 0n });
  assert.equal(config.a, 1);
  assert.deepEqual(config.c, [2, { d: -3 }]);
});

test('a runtime error names the key and where it was asked for', () => {
  const rule = compileCelRule('resource.configuration.Encryption.Enabled == true');
  assert.throws(
    () => rule.evaluate(sg([]), {}),
    (err: Error) => {
      assert.equal(err.message, 'CEL evaluation failed: No such key: Encryption (line 1, column 24)');
      assert.ok(err.cause instanceof Error);
      return true;
    },
  );
  assert.equal(rule.evaluate(sg([], { Encryption: { Enabled: true } }), {}).complianceType, 'COMPLIANT');
  assert.throws(() => run('resource.configuration.VpcId > 1'), /CEL evaluation failed: no such overload: dyn<string> > int/);
  // A literal pattern is checked when the rule is compiled; a computed one when it is used.
  assert.throws(
    () => run("resource.configuration.VpcId.matches('[')"),
    /CEL expression does not compile at line 1, column 38: invalid regular expression "\[": missing closing \]/,
  );
  assert.throws(
    () => run('resource.configuration.VpcId.matches(parameters.re)', sg([]), { re: '[' }),
    /CEL evaluation failed: invalid regular expression "\[": missing closing \]/,
  );
});

test('expressions that read the whole configuration see all of it, converted the same way', () => {
  const input = sg([SSH_OPEN], { Cpu: 4, Tags: { Tag: [] } });
  // Whole-configuration uses: size, in, iteration over keys, bind, computed keys.
  assert.equal(complianceOf('size(resource.configuration) == 5', input), 'COMPLIANT');
  assert.equal(complianceOf("'Cpu' in resource.configuration", input), 'COMPLIANT');
  assert.equal(complianceOf("'Nope' in resource.configuration", input), 'NON_COMPLIANT');
  assert.equal(complianceOf("resource.configuration.exists(k, k == 'VpcId')", input), 'COMPLIANT');
  assert.equal(complianceOf('cel.bind(c, resource.configuration, c.Cpu * 2 == 8)', input), 'COMPLIANT');
  assert.equal(complianceOf('cel.bind(r, resource, r.configuration.Cpu * 2 == 8 && size(r.configuration) == 5)', input), 'COMPLIANT');
  assert.equal(complianceOf("resource.configuration['Cp' + 'u'] * 2 == 8", input), 'COMPLIANT');
  assert.equal(complianceOf("resource.configuration['Cpu'] * 2 == 8 && size(resource.configuration.Permissions.Permission) == 1", input), 'COMPLIANT');
  // A macro variable named resource shadows the variable.
  assert.equal(complianceOf("resource.configuration.Permissions.Permission.exists(resource, resource.PortRange == '22/22')", input), 'COMPLIANT');
});

test('compile once: evaluate does not parse again', () => {
  const parse = Environment.prototype.parse;
  let parses = 0;
  Environment.prototype.parse = function (this: Environment, expression: string) {
    parses++;
    return parse.call(this, expression);
  };
  try {
    const rule = compileCelRule('resource.tags.owner == parameters.owner');
    assert.equal(parses, 1);
    for (let i = 0; i < 1000; i++) {
      const owner = `u${i}`;
      assert.equal(rule.evaluate({ ...sg([]), tags: { owner } }, { owner }).complianceType, 'COMPLIANT');
      assert.equal(rule.evaluate({ ...sg([]), tags: { owner } }, { owner: 'someone' }).complianceType, 'NON_COMPLIANT');
    }
    assert.equal(parses, 1);
  } finally {
    Environment.prototype.parse = parse;
  }
});
