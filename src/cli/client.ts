/** The CLI's client of the service's HTTP API. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class ApiClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body?: { issues?: { path: string; pathSegments: (string | number)[]; message: string }[] },
  ) {
    super(message);
  }
}

const dataDir = (opts: { data?: string }) => resolve(opts.data ?? process.env.CONFIX_DATA ?? '.confix');

/** The URL in the running service's note, if there is one. */
function notedUrl(opts: { data?: string }): string | undefined {
  const info = join(dataDir(opts), 'service.json');
  if (!existsSync(info)) return undefined;
  try {
    const { url } = JSON.parse(readFileSync(info, 'utf8')) as { url?: string };
    return url || undefined;
  } catch {
    return undefined; /* a half-written note: fall back to the default */
  }
}

/** Where the service is: --url, CONFIX_URL, the running service's note in the data directory, or the default. */
export function resolveServiceUrl(opts: { url?: string; data?: string }): string {
  if (opts.url) return opts.url.replace(/\/+$/, '');
  if (process.env.CONFIX_URL) return process.env.CONFIX_URL.replace(/\/+$/, '');
  return notedUrl(opts) ?? 'http://127.0.0.1:8080';
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
 * The API token: --token, CONFIX_TOKEN, else the admin token file the service
 * wrote on its first start (CONFIX_ADMIN_TOKEN_FILE, or admin.token next to
 * its note in the data directory). The file's token goes only to the noted
 * service or a loopback address, never to another machine named with --url.
 */
export function resolveToken(opts: { token?: string; data?: string }, url: string): ResolvedToken {
  const file = process.env.CONFIX_ADMIN_TOKEN_FILE || join(dataDir(opts), 'admin.token');
  const lookedIn = `--token, CONFIX_TOKEN, then the admin token file ${file} (used for the service on this machine only)`;
  if (opts.token) return { token: opts.token.trim(), source: 'the --token option', lookedIn };
  if (process.env.CONFIX_TOKEN) return { token: process.env.CONFIX_TOKEN.trim(), source: 'CONFIX_TOKEN', lookedIn };
  if ((url === notedUrl(opts) || LOOPBACK.test(url)) && existsSync(file)) {
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
    const url = `${this.baseUrl}/api/v1${path}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.auth.token ? { authorization: `Bearer ${this.auth.token}` } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new ApiClientError(
        0,
        'ServiceUnreachable',
        `cannot reach the confix service at ${this.baseUrl}${cause ? ` (${cause})` : ''}: start it with \`confix serve\`, or point --url / CONFIX_URL at it`,
      );
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiClientError(res.status, 'BadResponse', `the service at ${this.baseUrl} answered ${res.status} with something that is not JSON`);
    }
    if (!res.ok) {
      const e = (data as { error?: { code?: string; message?: string; issues?: [] } } | undefined)?.error;
      if (res.status === 401)
        throw new ApiClientError(
          401,
          e?.code ?? 'Unauthorized',
          this.auth.token
            ? `the service refused the token from ${this.auth.source}: ${e?.message ?? 'HTTP 401'}`
            : `the service needs an API token, and none was found; the CLI looks in ${this.auth.lookedIn}. ${e?.message ?? ''}`.trim(),
          e,
        );
      throw new ApiClientError(res.status, e?.code ?? `HTTP${res.status}`, e?.message ?? `HTTP ${res.status}`, e);
    }
    return data as T;
  }
}
