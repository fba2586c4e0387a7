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

/** Where the service is: --url, CONFIX_URL, the running service's note in the data directory, or the default. */
export function resolveServiceUrl(opts: { url?: string; data?: string }): string {
  if (opts.url) return opts.url.replace(/\/+$/, '');
  if (process.env.CONFIX_URL) return process.env.CONFIX_URL.replace(/\/+$/, '');
  const info = join(resolve(opts.data ?? process.env.CONFIX_DATA ?? '.confix'), 'service.json');
  if (existsSync(info)) {
    try {
      const { url } = JSON.parse(readFileSync(info, 'utf8')) as { url?: string };
      if (url) return url;
    } catch {
      /* a half-written note: fall back to the default */
    }
  }
  return 'http://127.0.0.1:8080';
}

export class ApiClient {
  constructor(readonly baseUrl: string) {}

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
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
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
      throw new ApiClientError(res.status, e?.code ?? `HTTP${res.status}`, e?.message ?? `HTTP ${res.status}`, e);
    }
    return data as T;
  }
}
