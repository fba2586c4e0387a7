/**
 * Policy files: YAML documents (one or many per file, `---` between them),
 * each with a `kind`. A path may be a file or a directory of .yaml/.yml files.
 * Every document keeps a way back to its lines, so errors name file and line.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LineCounter, parseAllDocuments, isNode } from 'yaml';
import { YamlAliasError, yamlToJS } from '../util/yaml.js';
import { ConfixError } from '../errors.js';

export interface PolicyDocument {
  /** "file.yaml" or "file.yaml#2" for the second document of a file. */
  source: string;
  file: string;
  kind: string;
  /** The document without its kind. */
  body: Record<string, unknown>;
  lineOf(path: (string | number)[]): number | undefined;
}

export class PolicyFileError extends ConfixError {
  constructor(readonly problems: string[]) {
    super('InvalidPolicyFile', 'invalid', problems.join('\n'));
  }
}

export const KINDS = ['Rule', 'AccountGroup', 'Organization', 'RemediationException'] as const;

function listFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new PolicyFileError([`${path}: no such file or directory`]);
  }
  if (st.isFile()) return [path];
  const out: string[] = [];
  for (const e of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && /\.ya?ml$/i.test(e.name)) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  if (out.length === 0) throw new PolicyFileError([`${path}: no .yaml or .yml files in this directory`]);
  return out.sort();
}

/** Reads every policy document under the paths; throws PolicyFileError listing every syntax or kind problem. */
export function readPolicyDocuments(paths: string[], cwd = process.cwd()): PolicyDocument[] {
  const docs: PolicyDocument[] = [];
  const problems: string[] = [];
  for (const p of paths) {
    for (const file of listFiles(p)) {
      const rel = relative(cwd, file);
      const shown = rel && !rel.startsWith('..') ? rel : file;
      const text = readFileSync(file, 'utf8');
      const lc = new LineCounter();
      const all = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true });
      const list = Array.isArray(all) ? all : [all];
      list.forEach((doc, i) => {
        const source = list.length > 1 ? `${shown}#${i + 1}` : shown;
        if (doc.errors.length) {
          for (const e of doc.errors) problems.push(`${shown}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
          return;
        }
        let value: unknown;
        try {
          value = yamlToJS(doc, shown); // aliases bounded, as for estate files
        } catch (err) {
          if (!(err instanceof YamlAliasError)) throw err;
          problems.push(`${shown}:${doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1}: ${err.reason}`);
          return;
        }
        if (value === null || value === undefined) return; // an empty document (a trailing ---)
        const startLine = doc.contents?.range ? lc.linePos(doc.contents.range[0]).line : 1;
        if (typeof value !== 'object' || Array.isArray(value)) {
          problems.push(`${shown}:${startLine}: a policy document must be a mapping with a kind (one of ${KINDS.join(', ')})`);
          return;
        }
        const { kind, ...body } = value as Record<string, unknown>;
        if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
          problems.push(`${shown}:${startLine}: kind: expected one of ${KINDS.join(', ')}, got ${kind === undefined ? 'nothing' : JSON.stringify(kind)}`);
          return;
        }
        docs.push({
          source,
          file: shown,
          kind,
          body,
          lineOf(path) {
            for (let n = path.length; n >= 0; n--) {
              const node = doc.getIn(path.slice(0, n), true);
              if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
            }
            return startLine;
          },
        });
      });
    }
  }
  if (problems.length) throw new PolicyFileError(problems);
  return docs;
}

/** One message for a refused policy, each problem at its file and line. */
export function describePolicyProblems(docs: PolicyDocument[], issues: { document: number; path: (string | number)[]; message: string }[]): string {
  const lines = issues.map((i) => {
    const d = docs[i.document]!;
    return `  ${d.file}:${d.lineOf(i.path) ?? '?'}: ${i.path.join('.') || '(document)'}: ${i.message}`;
  });
  return [`the policy has ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was changed:`, ...lines].join('\n');
}
