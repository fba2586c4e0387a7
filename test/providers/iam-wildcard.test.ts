// IAM wildcards (* and ?) are matched without RegExp, in time linear in the
// text: the same answers as the RegExp they replace, and fast on long input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionMatches, resourceMatches, wildcardMatch } from '../../src/providers/sandbox/iam/evaluate.js';

/** The matcher as it was: `*` → `.*`, `?` → `.`, flags `s` and, for ACS and actions, `i`. */
function regexpMatch(pattern: string, text: string, caseInsensitive: boolean): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's').test(text);
}

test('wildcards: the cases policies use', () => {
  assert.equal(resourceMatches('acs:ecs:*:*:securitygroup/sg-prod-*', 'acs:ecs:cn-hangzhou:1:securitygroup/sg-prod-42', 'acs'), true);
  assert.equal(resourceMatches('acs:ecs:*:*:securitygroup/sg-prod-*', 'acs:ecs:cn-hangzhou:1:securitygroup/sg-dev-42', 'acs'), false);
  assert.equal(
    resourceMatches('acs:ecs:*:*:securitygroup/SG-PROD-*', 'acs:ecs:cn-hangzhou:1:securitygroup/sg-prod-42', 'acs'),
    true,
    'ACS names are case-insensitive',
  );
  assert.equal(resourceMatches('arn:aws:s3:::Bucket-*', 'arn:aws:s3:::bucket-1', 'aws'), false, 'AWS ARNs are case-sensitive');
  assert.equal(resourceMatches('arn:aws:s3:::bucket-?', 'arn:aws:s3:::bucket-1', 'aws'), true);
  assert.equal(resourceMatches('arn:aws:s3:::bucket-?', 'arn:aws:s3:::bucket-12', 'aws'), false);
  assert.equal(resourceMatches('*', 'anything at all', 'aws'), true);
  assert.equal(actionMatches('ECS:describe*', 'ecs:DescribeInstances'), true);
  assert.equal(actionMatches('ecs:*Instance', 'ecs:StopInstance'), true);
  assert.equal(actionMatches('ecs:*Instance', 'ecs:StopInstances'), false);
  // Regular-expression characters are themselves.
  assert.equal(wildcardMatch('a.b', 'axb', false), false);
  assert.equal(wildcardMatch('a.b', 'a.b', false), true);
  assert.equal(wildcardMatch('(x)+[y]$', '(x)+[y]$', false), true);
  assert.equal(wildcardMatch('a*', 'a\nb', false), true, '* spans newlines');
  assert.equal(wildcardMatch('', '', false), true);
  assert.equal(wildcardMatch('', 'a', false), false);
  assert.equal(wildcardMatch('***', '', false), true);
  assert.equal(wildcardMatch('?', '', false), false);
});

test('wildcards: the same answers as the RegExp they replace (differential, random patterns and texts)', () => {
  // Letters in both cases, characters whose case mappings are special in JS
  // RegExp (ß, ſ, K Kelvin sign, ı, İ), regex metacharacters, a newline, a surrogate pair half.
  const alphabet = ['a', 'A', 'b', 'B', 's', 'S', 'k', 'K', 'i', 'I', 'ß', 'ſ', '\u212a', 'ı', 'İ', 'é', 'É', '.', '/', ':', '-', '\n', '(', '\\', '\ud83d'];
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const word = (len: number, extra: string[]) =>
    Array.from({ length: len }, () => (rnd(4) === 0 && extra.length ? extra[rnd(extra.length)]! : alphabet[rnd(alphabet.length)]!)).join('');
  let matched = 0;
  for (let i = 0; i < 20_000; i++) {
    const text = word(rnd(8), []);
    // Patterns built half the time from the text, so that many match.
    const pattern =
      rnd(2) === 0
        ? [...text].map((ch) => (rnd(5) === 0 ? '?' : rnd(6) === 0 ? '*' : rnd(3) === 0 ? ch.toUpperCase() : ch)).join('') + (rnd(4) === 0 ? '*' : '')
        : word(rnd(7), ['*', '?']);
    for (const ci of [false, true]) {
      const expected = regexpMatch(pattern, text, ci);
      if (expected) matched++;
      assert.equal(wildcardMatch(pattern, text, ci), expected, `${JSON.stringify(pattern)} vs ${JSON.stringify(text)} (caseInsensitive: ${ci})`);
    }
  }
  assert.ok(matched > 2000, `enough of the cases match (${matched})`);
});

test('wildcards: linear in the text — 100,000 characters against patterns with several stars', () => {
  const cases: [string, string, boolean][] = [
    ['*a*a*a*a*b', 'a'.repeat(100_000), false], // a RegExp took over 10 minutes on 10,000
    ['acs:ecs:*:*:securitygroup/sg-prod-*', `acs:ecs:cn-hangzhou:1:securitygroup/${':'.repeat(100_000)}`, false], // a RegExp: ~6 s on 60,000
    ['*:*:*:*:*:*:x', ':'.repeat(100_000), false],
    ['*aaaaaaaaaaaaaaaaaaab', 'a'.repeat(100_000), false],
    ['*?*?*?*?*?*', 'x'.repeat(100_000), true],
    ['*A*B*C*', `${'a'.repeat(50_000)}b${'x'.repeat(49_998)}c`, true],
  ];
  for (const [pattern, text, expected] of cases) {
    for (const ci of [false, true]) {
      const started = performance.now();
      const got = wildcardMatch(pattern, text, ci);
      const ms = performance.now() - started;
      if (!(pattern.includes('A') && !ci)) assert.equal(got, expected, `${pattern} (caseInsensitive: ${ci})`);
      assert.ok(ms < 200, `${pattern} against ${text.length} characters took ${ms.toFixed(1)} ms`);
    }
  }
});
