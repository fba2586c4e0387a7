/** The CLI's client of the service's HTTP API. */
import { ConfixError, kindOfStatus } from '../errors.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** An error the service answered (or its absence): the API's code and words; `status` 0 when nothing answered. */
export class ApiClientError extends ConfixError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly body?: { issues?: { path: string; pathSegments: (string | number)[]; message: string }[]; provider?: string },
  ) {
    super(code, kindOfStatus(status), message, { httpStatus: status });
  }
}

/**
 * An API error as the CLI's one line. A cloud's error (the API names its
 * provider) starts with the cloud's code, as the cloud's documentation and
 * support know it by (InvalidGroup.NotFound: …); confix's own say it in words.
 */
export function errorLine(e: { code?: string; message: string; provider?: string }): string {
  if (!e.provider || !e.code || e.message.startsWith(e.code)) return e.message;
  return `${e.code}: ${e.message}`;
}

/** What the CLI reads of the note a running service leaves in its data directory (src/service.ts ServiceNote). */
export interface ServiceNote {
  url: string;
  pid?: number;
  store?: string;
  storeId?: string;
  /** The file holding the noted store's admin token; null: none on this machine; absent: an older service (admin.token). */
  tokenFile?: string | null;
}

export interface ServiceLocation {
  /** The data directory whose note and admin token file the CLI uses. */
  dir: string;
  /** The running service's note found there. */
  note?: ServiceNote;
  /** Whether dir was given (CONFIX_DATA) rather than looked for. */
  given: boolean;
  /** Where the CLI looked, for messages. */
  searched: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

function readNote(dir: string): ServiceNote | undefined {
  const info = join(dir, 'service.json');
  if (!existsSync(info)) return undefined;
  try {
    const note = JSON.parse(readFileSync(info, 'utf8')) as ServiceNote;
    return typeof note?.url === 'string' && note.url ? note : undefined;
  } catch {
    return undefined; /* a half-written or damaged note: as if there were none */
  }
}

/**
 * The data directory of the service the CLI talks to: CONFIX_DATA (or
 * --data) when given; else, as git finds .git, the first `.confix` holding a
 * service's note (`service.json`) from the current folder up to the
 * filesystem root; else ./.confix.
 */
export function locateService(opts: { data?: string } = {}, cwd = process.cwd()): ServiceLocation {
  const given = opts.data || process.env.CONFIX_DATA;
  if (given) {
    const dir = resolve(cwd, given);
    return { dir, note: readNote(dir), given: true, searched: dir };
  }
  const start = resolve(cwd);
  for (let d = start; ; d = dirname(d)) {
    const dir = join(d, '.confix');
    const note = readNote(dir);
    if (note) return { dir, note, given: false, searched: dir };
    if (dirname(d) === d) break;
  }
  return { dir: join(start, '.confix'), given: false, searched: `${join(start, '.confix')} or its parents` };
}

export interface ServiceTarget {
  url: string;
  /** How the CLI came to this address, for messages. */
  from: string;
  location: ServiceLocation;
}

/** Where the service is: --url, CONFIX_URL, the running service's note (found as locateService does), or the default address. */
export function resolveService(opts: { url?: string; data?: string }, cwd = process.cwd()): ServiceTarget {
  const location = locateService(opts, cwd);
  if (opts.url) return { url: opts.url.replace(/\/+$/, ''), from: 'given with --url', location };
  if (process.env.CONFIX_URL) return { url: process.env.CONFIX_URL.replace(/\/+$/, ''), from: 'from CONFIX_URL', location };
  const note = location.note;
  if (note)
    return {
      url: note.url.replace(/\/+$/, ''),
      from: `noted by the service${note.pid ? ` (pid ${note.pid})` : ''} in ${join(location.dir, 'service.json')}`,
      location,
    };
  return { url: DEFAULT_URL, from: `the default address: no confix service is noted in ${location.searched}`, location };
}

/** Where the service is: --url, CONFIX_URL, the running service's note, or the default. */
export function resolveServiceUrl(opts: { url?: string; data?: string }): string {
  return resolveService(opts).url;
}

export interface ResolvedToken {
  token?: string;
  /** Where it came from, for messages. */
  source?: string;
  /** Where the CLI looks, in order, for the 401's message. */
  lookedIn: string;
}

const LOOPBACK = /^https?:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(\/|$)/i;

/**
 * The API token: --token, CONFIX_TOKEN, else the admin token file of the
 * service's store (CONFIX_ADMIN_TOKEN_FILE, or the file the noted service
 * names in its note, or admin.token in the data directory). The file's token
 * goes only to the noted service or a loopback address, never to another
 * machine named with --url.
 */
export function resolveToken(opts: { token?: string; data?: string }, url: string, location: ServiceLocation = locateService(opts)): ResolvedToken {
  const note = location.note;
  const noted = note !== undefined && url === note.url.replace(/\/+$/, '');
  // The noted service names its store's file (null: it has none here); an older one, or none, admin.token.
  const file = process.env.CONFIX_ADMIN_TOKEN_FILE || (noted && note.tokenFile !== undefined ? note.tokenFile : join(location.dir, 'admin.token'));
  const lookedIn = file
    ? `--token, CONFIX_TOKEN, then the admin token file ${file} (used for the service on this machine only)`
    : `--token and CONFIX_TOKEN (the service noted in ${join(location.dir, 'service.json')} has no admin token file on this machine)`;
  if (opts.token) return { token: opts.token.trim(), source: 'the --token option', lookedIn };
  if (process.env.CONFIX_TOKEN) return { token: process.env.CONFIX_TOKEN.trim(), source: 'CONFIX_TOKEN', lookedIn };
  if (file && (noted || LOOPBACK.test(url)) && existsSync(file)) {
    try {
      const token = readFileSync(file, 'utf8').trim();
      if (token) return { token, source: file, lookedIn };
    } catch {
      /* unreadable (another user's): as if there were none */
    }
  }
  return { lookedIn };
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly auth: ResolvedToken = { lookedIn: '--token or CONFIX_TOKEN' },
    /** How the CLI came to baseUrl (resolveService's from), for the message when it does not answer. */
    private readonly from?: string,
  ) {}

  get<T>(path: string, query: Record<string, string | string[] | number | boolean | undefined> = {}): Promise<T> {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === undefined) continue;
      for (const x of Array.isArray(v) ? v : [v]) qs.append(k, String(x));
    }
    const s = qs.toString();
    return this.request<T>('GET', `${path}${s ? `?${s}` : ''}`);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body);
    const data = this.parse(res, await res.text());
    if (!res.ok) throw this.failure(res.status, data);
    return data as T;
  }

  /**
   * A POST whose answer streams as JSON lines (Accept: application/x-ndjson):
   * every line but the last goes to onLine; the last is {"type":"result",
   * "result"} (answered) or {"type":"error","status","error"} (thrown as the
   * API's error). A service that answers plain JSON is answered as post().
   */
  async postStreaming<T, L extends { type: string }>(path: string, body: unknown, onLine: (line: L) => void): Promise<T> {
    const res = await this.send('POST', path, body, 'application/x-ndjson');
    if (!res.ok || !(res.headers.get('content-type') ?? '').includes('ndjson') || !res.body) {
      const data = this.parse(res, await res.text());
      if (!res.ok) throw this.failure(res.status, data);
      return data as T;
    }
    const decoder = new TextDecoder();
    let buffered = '';
    const reader = res.body.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!text) continue;
        const line = this.parse(res, text) as L & { result?: T; status?: number; error?: unknown };
        if (line.type === 'result') return line.result as T;
        if (line.type === 'error') throw this.failure(line.status ?? 500, { error: line.error });
        onLine(line);
      }
      if (done) break;
    }
    throw new ApiClientError(res.status, 'BadResponse', `the service at ${this.baseUrl} ended its answer to ${path} before the result`);
  }

  private async send(method: string, path: string, body: unknown, accept?: string): Promise<Response> {
    const url = `${this.baseUrl}/api/v1${path}`;
    try {
      return await fetch(url, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(accept ? { accept } : {}),
          ...(this.auth.token ? { authorization: `Bearer ${this.auth.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new ApiClientError(
        0,
        'ServiceUnreachable',
        `cannot reach the confix service at ${this.baseUrl}${cause ? ` (${cause})` : ''}${this.from ? `, ${this.from}` : ''}: start it with \`confix serve\`, or point --url / CONFIX_URL at it`,
      );
    }
  }

  private parse(res: Response, text: string): unknown {
    try {
      return text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiClientError(res.status, 'BadResponse', `the service at ${this.baseUrl} answered ${res.status} with something that is not JSON`);
    }
  }

  private failure(status: number, data: unknown): ApiClientError {
    const e = (data as { error?: { code?: string; message?: string; issues?: []; provider?: string } } | undefined)?.error;
    if (status === 401)
      return new ApiClientError(
        401,
        e?.code ?? 'Unauthorized',
        this.auth.token
          ? `the service refused the token from ${this.auth.source}: ${e?.message ?? 'HTTP 401'}`
          : `the service needs an API token, and none was found; the CLI looks in ${this.auth.lookedIn}. ${e?.message ?? ''}`.trim(),
        e,
      );
    return new ApiClientError(
      status,
      e?.code ?? `HTTP${status}`,
      errorLine({ code: e?.code, message: e?.message ?? `HTTP ${status}`, provider: e?.provider }),
      e,
    );
  }
}
