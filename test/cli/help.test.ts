// Every command's --help, read from the program itself (no service, no child
// process): commander adds "(default: X)" to an option with a default value,
// so a description that says its default too prints it twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';

function allCommands(c: Command, path: string[] = ['confix']): { path: string; cmd: Command }[] {
  return [{ path: path.join(' '), cmd: c }, ...c.commands.flatMap((s) => allCommands(s, [...path, s.name()]))];
}

test('no help line mentions a default twice', () => {
  const commands = allCommands(buildProgram());
  assert.ok(commands.length > 80, `walked ${commands.length} commands`);
  const twice: string[] = [];
  for (const { path, cmd } of commands)
    for (const line of cmd.helpInformation().split('\n')) {
      // A default *value* spelled "default" (--topic's) is not a mention.
      const mentions = line.replace(/"[^"]*"/g, '""').match(/\bdefault/gi) ?? [];
      if (mentions.length > 1) twice.push(`${path}: ${line.trim()}`);
    }
  assert.deepEqual(twice, []);
});

test('the delete verb covers every kind, each with its help', () => {
  const del = buildProgram().commands.find((c) => c.name() === 'delete')!;
  assert.deepEqual(
    del.commands.map((c) => c.name()),
    ['rule', 'account-group', 'topic', 'subscription', 'function', 'exception', 'credentials', 'token'],
  );
  for (const c of del.commands) {
    const h = c.helpInformation();
    assert.match(h, /^Usage: confix delete [a-z-]+ \[options\] <[a-z]+>/, c.name());
    assert.ok(c.description().length > 20, c.name());
  }
});
