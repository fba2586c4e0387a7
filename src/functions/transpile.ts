/**
 * Function code to what the runtime's process evaluates: TypeScript or
 * JavaScript, ESM (`export async function handler`) or CommonJS
 * (`exports.handler = …`), turned into one CommonJS body by esbuild (which the
 * project already has through tsx), with a source map to put the author's
 * line numbers back into stack traces. Compiled code is cached by content.
 */
import { createHash } from 'node:crypto';
import { SourceMap } from 'node:module';
import { ConfixError } from '../errors.js';

/** Code that does not compile, located in the author's file. */
export class FunctionCodeError extends ConfixError {
  constructor(
    /** SyntaxError for code that does not parse; CompilerUnavailable, UnsupportedFile, … otherwise. */
    readonly type: string,
    message: string,
    readonly location?: { file: string; line: number; column: number; lineText?: string },
  ) {
    super('InvalidFunctionCode', 'invalid', message);
  }
}

export interface CompiledCode {
  fileName: string;
  /** A CommonJS body: run as function (exports, require, module, __filename, __dirname). */
  code: string;
  /** The source map from code back to the author's file (JSON). */
  map: string;
}

type Loader = 'ts' | 'js';

/** Which loader a file name asks for; refuses anything but .ts/.mts/.cts/.js/.mjs/.cjs. */
export function loaderFor(fileName: string): Loader {
  if (/\.(c|m)?ts$/.test(fileName)) return 'ts';
  if (/\.(c|m)?js$/.test(fileName)) return 'js';
  throw new FunctionCodeError('UnsupportedFile', `${fileName}: function code must be a .ts or .js file (TypeScript or JavaScript)`);
}

type Transform = typeof import('esbuild').transform;
let transformFn: Promise<Transform> | undefined;

async function esbuildTransform(): Promise<Transform> {
  transformFn ??= import('esbuild').then(
    (m) => m.transform,
    (err: unknown) => {
      transformFn = undefined;
      throw new FunctionCodeError(
        'CompilerUnavailable',
        `function code is compiled with esbuild, which could not be loaded (${(err as Error).message}); install confix with its dependencies`,
      );
    },
  );
  return transformFn;
}

const CACHE_MAX = 200;
const cache = new Map<string, Promise<CompiledCode>>();

/** Compiles function code (cached by file name and content); throws FunctionCodeError with file:line:column for code that does not parse. */
export function compileFunctionCode(source: string, fileName: string): Promise<CompiledCode> {
  const loader = loaderFor(fileName);
  const key = createHash('sha256').update(fileName).update('\0').update(source).digest('hex');
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const p = compile(source, fileName, loader);
  cache.set(key, p);
  p.catch(() => cache.delete(key));
  while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
  return p;
}

async function compile(source: string, fileName: string, loader: Loader): Promise<CompiledCode> {
  const transform = await esbuildTransform();
  try {
    const out = await transform(source, {
      loader,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcefile: fileName,
      sourcemap: 'external',
      // import('x') becomes require('x'), so dynamic imports go through the same allow-list.
      supported: { 'dynamic-import': false },
      logLevel: 'silent',
    });
    return { fileName, code: out.code, map: out.map };
  } catch (err) {
    const first = (err as { errors?: { text: string; location: { file: string; line: number; column: number; lineText: string } | null }[] }).errors?.[0];
    if (!first) throw err;
    const loc = first.location;
    const text = /Top-level await is currently not supported/.test(first.text)
      ? 'top-level await is not supported in function code; await inside the handler instead'
      : first.text;
    if (!loc) throw new FunctionCodeError('SyntaxError', `${fileName}: ${text}`);
    throw new FunctionCodeError('SyntaxError', `${fileName}:${loc.line}:${loc.column + 1}: ${text}\n    ${loc.lineText}\n    ${' '.repeat(loc.column)}^`, {
      file: fileName,
      line: loc.line,
      column: loc.column + 1,
      lineText: loc.lineText,
    });
  }
}

/**
 * A stack trace from the function's process with positions in the compiled code put back
 * to the author's lines, keeping the message and the frames in the author's
 * file only (the runtime's own frames say nothing to the author).
 */
export function mapStack(stack: string, compiled: Pick<CompiledCode, 'fileName' | 'map'>): string {
  let map: SourceMap | undefined;
  try {
    map = new SourceMap(JSON.parse(compiled.map));
  } catch {
    map = undefined;
  }
  const lines = stack.split('\n');
  const firstFrame = lines.findIndex((l) => /^\s+at /.test(l));
  const head = firstFrame < 0 ? lines : lines.slice(0, firstFrame);
  const frames = firstFrame < 0 ? [] : lines.slice(firstFrame).filter((l) => l.includes(compiled.fileName + ':'));
  const esc = compiled.fileName.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const position = new RegExp(`${esc}:(\\d+):(\\d+)`, 'g');
  const mapped = frames.map((l) =>
    l.replace(position, (whole, line: string, col: string) => {
      const entry = map?.findEntry(Number(line) - 1, Number(col) - 1) as { originalLine?: number; originalColumn?: number } | undefined;
      if (!entry || entry.originalLine === undefined || entry.originalColumn === undefined) return whole;
      return `${compiled.fileName}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    }),
  );
  return [...head, ...mapped].join('\n');
}
