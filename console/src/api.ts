/** Talking to the confix API: the token, the caller's role, errors, and polled reads. */
import { useCallback, useEffect, useRef, useState } from 'react';

const TOKEN_KEY = 'confix.token';
export type Role = 'viewer' | 'operator' | 'admin';

/**
 * Where the console learns the token's role. Should a service not answer it
 * (404), the console offers only what a viewer may use; the API decides in
 * any case, and a refusal is shown as such.
 */
export const ROLE_ENDPOINT = '/tokens/self';
export const ROLE_WITHOUT_ENDPOINT: Role = 'viewer';

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Called on any 401: the token is missing, expired or revoked. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

export async function api<T = any>(
  path: string,
  init: { method?: string; json?: unknown; query?: Record<string, string | number | boolean | undefined> } = {},
): Promise<T> {
  const qs = init.query ? Object.entries(init.query).filter(([, v]) => v !== undefined && v !== '') : [];
  const url = `/api/v1${path}${qs.length ? '?' + new URLSearchParams(qs.map(([k, v]) => [k, String(v)])).toString() : ''}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  const t = token.get();
  if (t) headers.authorization = `Bearer ${t}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = new ApiError(res.status, body?.error?.code ?? `HTTP${res.status}`, body?.error?.message ?? `${res.status} ${res.statusText}`);
    if (res.status === 401) onUnauthorized();
    throw err;
  }
  return body as T;
}

/** The role of the signed-in token. */
export async function fetchRole(): Promise<{ role: Role; name?: string }> {
  try {
    const self = await api<{ role: Role; name?: string }>(ROLE_ENDPOINT);
    return { role: self.role, name: self.name };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return { role: ROLE_WITHOUT_ENDPOINT };
    throw err;
  }
}

export function roleAtLeast(have: Role, need: Role): boolean {
  const order: Role[] = ['viewer', 'operator', 'admin'];
  return order.indexOf(have) >= order.indexOf(need);
}

/** How often pages read again, so a change or a fix appears without reloading. */
export const POLL_MS = 2000;

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Reads `path` now and every POLL_MS while the page is visible (live = false: once). */
export function useApi<T = any>(path: string | null, query?: Record<string, string | number | boolean | undefined>, live = true): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError | Error>();
  const [loading, setLoading] = useState(true);
  const key = path === null ? null : path + JSON.stringify(query ?? {});
  const seq = useRef(0);
  const load = useCallback(() => {
    if (path === null) return;
    const n = ++seq.current;
    api<T>(path, { query })
      .then((d) => {
        if (n !== seq.current) return;
        setData(d);
        setError(undefined);
      })
      .catch((e: Error) => {
        if (n === seq.current) setError(e);
      })
      .finally(() => {
        if (n === seq.current) setLoading(false);
      });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  useEffect(() => {
    setLoading(true);
    setData(undefined);
    load();
    if (!live) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') load();
    }, POLL_MS);
    return () => clearInterval(timer);
  }, [load, live]);
  return { data, error, loading, reload: load };
}
