/**
 * Structured logging: one JSON object a line on stderr (or pretty lines on a
 * terminal). Secrets never go through here: callers log ids, not credentials.
 * As a second line of defence, a field whose name looks like it holds one
 * (SECRET_FIELD), at any depth, is written as "[redacted]".
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Field names whose values are never written. */
export const SECRET_FIELD = /secret|password|token|authorization|credential/i;
export const REDACTED = '[redacted]';

/**
 * A copy of value with every field named like a secret replaced by
 * "[redacted]", at any depth, seen as JSON would see it (toJSON is followed).
 * Errors are kept as they are (the logger writes their message).
 */
export function redact(value: unknown, seen = new WeakSet<object>()): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return redact(toJSON.call(value), seen);
    if (Array.isArray(value)) return value.map((v) => redact(v, seen));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? REDACTED : redact(v, seen);
    return out;
  } finally {
    seen.delete(value);
  }
}

export function createLogger(opts: { level?: Level; json?: boolean; base?: Record<string, unknown>; write?: (line: string) => void } = {}): Logger {
  const min = order[opts.level ?? (process.env.CONFIX_LOG_LEVEL as Level | undefined) ?? 'info'] ?? 20;
  const json = opts.json ?? !process.stderr.isTTY;
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = opts.base ?? {};
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const data = redact({ ...base, ...fields }) as Record<string, unknown>;
    const rec = { time: new Date().toISOString(), level, msg, ...data };
    if (json) write(JSON.stringify(rec, (_k, v) => (v instanceof Error ? v.message : v)));
    else {
      const extra = Object.entries(data)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v instanceof Error ? v.message : v)}`)
        .join(' ');
      write(`${rec.time.slice(11, 19)} ${level.padEnd(5)} ${msg}${extra ? '  ' + extra : ''}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, one-shot commands). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => undefined });
