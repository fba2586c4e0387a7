// CEL matches() is RE2 (linear time, RE2 syntax), not a backtracking
// JavaScript RegExp: a pattern that is catastrophic for backtracking evaluates
// in milliseconds over attacker-chosen configuration values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileCelRule, compileRe2, CelCompileError, RE2_PATTERN_MAX, RE2_PROGRAM_MAX } from '../../src/rules/cel.js';
import type { EvaluationInput } from '../../src/rules/types.js';

const REDOS = "resource.configuration.Description.matches('^redos([A-Za-z0-9]+)+$')";

function sg(configuration: Record<string, unknown>): EvaluationInput {
  return {
    accountId: '123456789012',
    regionId: 'cn-hangzhou',
    resourceType: 'ACS::ECS::SecurityGroup',
    resourceId: 'sg-1',
    resourceName: 'web',
    tags: { env: 'prod' },
    configuration: { SecurityGroupId: 'sg-1', ...configuration },
  };
}

const verdict = (expression: string, configuration: Record<string, unknown> = {}, parameters: Record<string, string> = {}) =>
  compileCelRule(expression).evaluate(sg(configuration), parameters);
const compliance = (expression: string, configuration: Record<string, unknown> = {}, parameters: Record<string, string> = {}) =>
  verdict(expression, configuration, parameters).complianceType;

function compileError(expression: string): CelCompileError {
  try {
    compileCelRule(expression);
  } catch (err) {
    assert.ok(err instanceof CelCompileError, `expected a CelCompileError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${expression} compiled`);
}

test('the ReDoS rule over a 29-a description (~35 s with a JavaScript RegExp) evaluates in milliseconds, with the right verdict', () => {
  const rule = compileCelRule(REDOS);
  for (const n of [29, 5_000, 100_000]) {
    const started = performance.now();
    const v = rule.evaluate(sg({ Description: `redos${'a'.repeat(n)}!` }), {});
    const ms = performance.now() - started;
    assert.equal(v.complianceType, 'NON_COMPLIANT', `${n} a's and a !`);
    assert.equal(v.annotation, `custom rule: ${REDOS} is false`);
    assert.ok(ms < 1000, `${n} characters took ${ms.toFixed(1)} ms`);
  }
  assert.equal(rule.evaluate(sg({ Description: `redos${'a'.repeat(29)}` }), {}).complianceType, 'COMPLIANT');
  assert.equal(rule.evaluate(sg({ Description: `redos${'a'.repeat(100_000)}` }), {}).complianceType, 'COMPLIANT');
  // Other classic catastrophic patterns.
  for (const [pattern, text] of [
    ['^(a|aa)+$', `${'a'.repeat(50_000)}b`],
    ['^(x+x+)+y$', 'x'.repeat(50_000)],
    ['^(\\\\w+\\\\s?)+$', `${'word '.repeat(10_000)}!`],
    ['(.*a){20}', `${'a'.repeat(20_000)}`],
  ]) {
    const started = performance.now();
    compliance(`resource.configuration.Description.matches('${pattern}')`, { Description: text });
    const ms = performance.now() - started;
    assert.ok(ms < 1000, `${pattern} took ${ms.toFixed(1)} ms`);
  }
});

test('ordinary regular expressions: search semantics, anchors, classes, flags, escapes, in both forms and anywhere in an expression', () => {
  const ok = (e: string, c: Record<string, unknown> = {}, p: Record<string, string> = {}) => assert.equal(compliance(e, c, p), 'COMPLIANT', e);
  const no = (e: string, c: Record<string, unknown> = {}, p: Record<string, string> = {}) => assert.equal(compliance(e, c, p), 'NON_COMPLIANT', e);
  const c = { VpcId: 'vpc-123', Description: 'Web Tier (prod)', Name: 'Ünïcode', Empty: '' };
  // A match anywhere, unless anchored (CEL matches is RE2 search).
  ok("resource.configuration.VpcId.matches('123')", c);
  no("resource.configuration.VpcId.matches('^123')", c);
  ok("resource.configuration.VpcId.matches('^vpc-[0-9]+$')", c);
  no("resource.configuration.VpcId.matches('^vpc-[a-z]+$')", c);
  ok("resource.configuration.VpcId.matches('^vpc-\\\\d{3}$')", c);
  no("resource.configuration.VpcId.matches('^vpc-\\\\d{4}$')", c);
  // Flags inline, as RE2 writes them; (?i) is not JavaScript syntax.
  ok("resource.configuration.Description.matches('(?i)^web tier')", c);
  no("resource.configuration.Description.matches('^web tier')", c);
  ok("resource.configuration.Description.matches('(?i:WEB) Tier')", c);
  ok("resource.configuration.Description.matches('\\\\(prod\\\\)$')", c);
  ok("resource.configuration.Description.matches('^(Web|App) Tier')", c);
  ok("resource.configuration.Description.matches('[[:upper:]][[:lower:]]+')", c);
  ok("resource.configuration.Name.matches('^\\\\p{L}+$')", c);
  ok("resource.configuration.Empty.matches('^$')", c);
  ok("resource.configuration.Empty.matches('')", c);
  ok("'line1\\nline2'.matches('(?m)^line2$')");
  no("'line1\\nline2'.matches('^line2$')");
  // The global form, as the CEL specification has it.
  ok("matches(resource.configuration.VpcId, '^vpc-')", c);
  no("matches(resource.configuration.VpcId, '^sg-')", c);
  // Patterns from parameters, in macros, negated, on tags and names.
  ok('resource.configuration.VpcId.matches(parameters.re)', c, { re: '^vpc-\\d+$' });
  no('resource.configuration.VpcId.matches(parameters.re)', c, { re: '^(?i)VPC-X' });
  ok("resource.tags.env.matches('^(prod|staging)$') && resource.name.matches('^w')");
  ok("['a1', 'b2'].all(x, x.matches('^[a-z][0-9]$'))");
  ok("!['a1', 'b2'].exists(x, matches(x, '^c'))");
  ok("resource.configuration.Description.matches('Tier') ? true : false", c);
  ok("cel.bind(re, '^vpc-', resource.configuration.VpcId.matches(re))", c);
});

test('a pattern RE2 does not support is a compile error at the pattern when literal, an evaluation error when computed', () => {
  for (const [pattern, why] of [
    ['(a)\\\\1', /invalid escape sequence/],
    ['a(?=b)', /invalid or unsupported Perl syntax/],
    ['a(?!b)', /invalid or unsupported Perl syntax/],
    ['(?<=a)b', /invalid named capture|invalid or unsupported Perl syntax/],
    ['[a-', /missing closing \]/],
    ['a{1001}', /invalid repeat count/],
  ] as const) {
    const e = compileError(`resource.configuration.Description.matches('${pattern}')`);
    assert.equal(e.position?.column, 44, `the position is the pattern's (${pattern})`);
    assert.match(e.detail, /^invalid regular expression ".*": /);
    assert.match(e.detail, why);
    assert.match(e.detail, /matches\(\) uses RE2 syntax/);
    assert.match(e.message, /^CEL expression does not compile at line 1, column 44: invalid regular expression/);
  }
  assert.equal(compileError("matches(resource.configuration.Description, '(a)\\\\1')").position?.column, 45);
  // From a parameter: the rule compiles, and that resource's evaluation fails saying why.
  const rule = compileCelRule('resource.configuration.Description.matches(parameters.re)');
  assert.throws(
    () => rule.evaluate(sg({ Description: 'aa' }), { re: '(a)\\1' }),
    /^Error: CEL evaluation failed: invalid regular expression "\(a\)\\\\1": invalid escape sequence: `\\1` \(matches\(\) uses RE2 syntax: no backreferences or lookaround\) \(line 1, column \d+\)$/,
  );
  assert.equal(rule.evaluate(sg({ Description: 'aa' }), { re: '(a)a' }).complianceType, 'COMPLIANT');
});

test('matches() is typed: a string receiver and pattern, else no matching overload', () => {
  assert.match(compileError("1.matches('x')").detail, /found no matching overload for 'int.matches\(string\)'/);
  assert.match(compileError("'x'.matches(1)").detail, /found no matching overload for 'string.matches\(int\)'/);
  assert.match(compileError("matches('x', 1)").detail, /found no matching overload for 'matches\(string, int\)'/);
  assert.equal(compileCelRule("'abc'.matches('b')").evaluate(sg({}), {}).complianceType, 'COMPLIANT');
  // A configuration value is dyn: its type is seen when the rule runs.
  assert.throws(
    () => verdict("resource.configuration.Port.matches('^2')", { Port: 22 }),
    /CEL evaluation failed: found no matching overload for 'int.matches\(string\)'/,
  );
  assert.throws(
    () => verdict('resource.configuration.Description.matches(resource.configuration.Port)', { Description: 'x', Port: 22 }),
    /found no matching overload for 'string.matches\(int\)'/,
  );
});

test('patterns are bounded: length and RE2 program size', () => {
  const long = 'a'.repeat(RE2_PATTERN_MAX + 1);
  assert.match(
    compileError(`resource.configuration.Description.matches('${long}')`).detail,
    new RegExp(`regular expression of ${RE2_PATTERN_MAX + 1} characters exceeds the limit of ${RE2_PATTERN_MAX}`),
  );
  assert.equal(
    compliance(`resource.configuration.Description.matches('${'a'.repeat(RE2_PATTERN_MAX)}')`, { Description: 'a'.repeat(RE2_PATTERN_MAX) }),
    'COMPLIANT',
  );
  const big = compileError("resource.configuration.Description.matches('(a?){1000}a{1000}')");
  assert.match(big.detail, new RegExp(`too complex: its RE2 program has \\d+ instructions, the limit is ${RE2_PROGRAM_MAX}`));
  // The message quotes a long pattern shortened.
  const e = compileRe2(`(${'b'.repeat(1500)}`);
  assert.equal(typeof e, 'string');
  assert.ok((e as string).length < 500, e as string);
  assert.match(e as string, /…\(1501 chars\)/);
});

test('compiled patterns are cached, and the cache is bounded', () => {
  const a = compileRe2('^cached-[0-9]+$');
  assert.notEqual(typeof a, 'string');
  assert.equal(compileRe2('^cached-[0-9]+$'), a, 'the same compiled pattern');
  for (let i = 0; i < 1000; i++) compileRe2(`^filler-${i}$`);
  const b = compileRe2('^cached-[0-9]+$');
  assert.notEqual(b, a, 'dropped after many others, compiled anew');
  assert.equal(compileRe2('^cached-[0-9]+$'), b);
});
