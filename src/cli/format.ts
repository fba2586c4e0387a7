/** Output for people: tables, timelines and diffs. Scripts use --json instead. */
import Table from 'cli-table3';
import pc from 'picocolors';
import { stringify as toYaml } from 'yaml';
import { readablePath, type DiffOp } from '../inventory/diff.js';

export function table(head: string[], rows: (string | number | null | undefined)[][]): string {
  const t = new Table({
    head: head.map((h) => pc.bold(h)),
    style: { head: [], border: [], compact: true },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  });
  for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? '' : String(c))));
  return t.toString().split('\n').map((l) => l.replace(/^ /, '').trimEnd()).join('\n');
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function yaml(value: unknown): string {
  return toYaml(value, { lineWidth: 0 }).trimEnd();
}

function short(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 200 ? s.slice(0, 197) + '…' : s;
}

export function diffLines(diff: DiffOp[], indent = '    '): string[] {
  return diff.map((d) => {
    const p = readablePath(d.path);
    if (d.op === 'add') return indent + pc.green(`+ ${p}: ${short(d.value)}`);
    if (d.op === 'remove') return indent + pc.red(`- ${p}: ${short(d.previousValue)}`);
    if (d.op === 'replace') return indent + pc.yellow(`~ ${p}: ${short(d.previousValue)} → ${short(d.value)}`);
    return indent + `> ${p} (moved from ${d.from ? readablePath(d.from) : '?'})`;
  });
}

export function statusColor(s: string): string {
  if (s === 'ResourceDeleted') return pc.red(s);
  if (s === 'ResourceDiscovered') return pc.cyan(s);
  return s;
}
