/** Output for people: tables, timelines and diffs. Scripts use --json instead. */
import Table from 'cli-table3';
import pc from 'picocolors';
import { stringify as toYaml } from 'yaml';
import { readablePath, type DiffOp } from '../inventory/diff.js';

export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({
    head: head.map((h) => pc.bold(h)),
    style: { head: [], border: [], compact: true },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
  });
  for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? '' : String(c))));
  return t
    .toString()
    .split('\n')
    .map((l) => l.replace(/^ /, '').trimEnd())
    .join('\n');
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function yaml(value: unknown): string {
  return toYaml(value, { lineWidth: 0, sortMapEntries: true }).trimEnd();
}

/** A value on one line when short, else as an indented YAML block under the line. */
function show(v: unknown, indent: string): string {
  const s = JSON.stringify(v);
  if (s === undefined) return ' undefined';
  if (s.length <= 80 || v === null || typeof v !== 'object') return ' ' + s;
  return '\n' + yaml(v).replace(/^/gm, indent + '    ');
}

export function diffLines(diff: DiffOp[], indent = '    '): string[] {
  return diff.map((d) => {
    const p = readablePath(d.path);
    if (d.op === 'add') return pc.green(`${indent}+ ${p}:${show(d.value, indent)}`);
    if (d.op === 'remove') return pc.red(`${indent}- ${p}:${show(d.previousValue, indent)}`);
    if (d.op === 'replace') {
      const before = JSON.stringify(d.previousValue) ?? 'undefined';
      const after = JSON.stringify(d.value) ?? 'undefined';
      if (before.length + after.length <= 120) return pc.yellow(`${indent}~ ${p}: ${before} → ${after}`);
      return pc.yellow(`${indent}~ ${p}:\n${indent}  was:${show(d.previousValue, indent)}\n${indent}  now:${show(d.value, indent)}`);
    }
    return `${indent}> ${p} (moved from ${d.from ? readablePath(d.from) : '?'})`;
  });
}

export function statusColor(s: string): string {
  if (s === 'ResourceDeleted') return pc.red(s);
  if (s === 'ResourceDiscovered') return pc.cyan(s);
  return s;
}
