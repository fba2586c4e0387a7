import { test } from 'node:test';
import assert from 'node:assert/strict';
import { truncate, quoteTruncated, MESSAGE_VALUE_MAX } from '../../src/util/text.js';

test('truncate keeps short values and shortens long ones, saying how long they were', () => {
  assert.equal(truncate('sg-1'), 'sg-1');
  assert.equal(truncate('x'.repeat(MESSAGE_VALUE_MAX)), 'x'.repeat(MESSAGE_VALUE_MAX));
  assert.equal(truncate('x'.repeat(60_000)), `${'x'.repeat(100)}…(60000 chars)`);
  assert.equal(truncate('abcdef', 3), 'abc…(6 chars)');
  // A surrogate pair is not cut in half.
  assert.equal(truncate(`ab${'😀'.repeat(5)}`, 3), 'ab…(12 chars)');
  assert.equal(quoteTruncated('a"b'.repeat(100), 4), '"a\\"ba…(300 chars)"');
});
