/**
 * Structured logging: one JSON object a line on stderr (or pretty lines on a
 * terminal). Secrets never go through here: callers log ids, not credentials.
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

export function createLogger(opts: { level?: Level; json?: boolean; base?: Record<string, unknown>; write?: (line: string) => void } = {}): Logger {
  const min = order[opts.level ?? ((process.env.CONFIX_LOG_LEVEL as Level | undefined) ?? 'info')] ?? 20;
  const json = opts.json ?? !process.stderr.isTTY;
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const base = opts.base ?? {};
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const rec = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    if (json) write(JSON.stringify(rec, (_k, v) => (v instanceof Error ? v.message : v)));
    else {
      const extra = Object.entries({ ...base, ...fields })
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
