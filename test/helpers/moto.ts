/**
 * moto, the open-source AWS emulator, for the AWS provider's tests: one
 * `moto_server` per test file on a free 127.0.0.1 port, reset between tests
 * (POST /moto-api/reset), stopped at the end (its whole process group).
 * moto must be installed (`python3 -c 'import moto'`, `moto_server` on PATH).
 */
import { after, before, beforeEach } from 'node:test';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

// The SDK warns once per process that its 2027 releases need Node 22; the tests run on 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Static credentials moto accepts (any key is the default account, 123456789012). */
export const MOTO_CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY' };
export const MOTO_ACCOUNT = '123456789012';

export interface Moto {
  endpoint: string;
  port: number;
  /** moto_server's process-group leader (it runs detached, in a group of its own): for CPU and memory readings. */
  pid: number;
  /** Forgets everything moto holds (every account, every service). */
  reset(): Promise<void>;
  /**
   * IAM authentication and authorisation: 'on' from the next request (every
   * call must be signed with a key moto knows and allowed by its policies),
   * or 'off' (moto's default: anything goes).
   */
  auth(mode: 'on' | 'off'): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running)
    if (p.pid)
      try {
        process.kill(-p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
});

async function post(url: string, body?: string): Promise<Response> {
  return fetch(url, { method: 'POST', ...(body !== undefined ? { body } : {}), signal: AbortSignal.timeout(10_000) });
}

async function launch(port: number): Promise<{ child: ChildProcess; output: () => string; exited: Promise<number | null> }> {
  // Its own process group, so that stop() ends moto_server and whatever it started (pyenv shims exec, werkzeug may fork).
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
  let out = '';
  const keep = (b: Buffer) => (out = (out + b.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', (err) => {
      keep(Buffer.from(String(err)));
      resolve(-1);
    });
  });
  running.add(child);
  return { child, output: () => out, exited };
}

/** Starts moto_server and waits until it answers. */
export async function startMoto(): Promise<Moto> {
  let lastOutput = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const { child, output, exited } = await launch(port);
    let dead = false;
    void exited.then(() => (dead = true));
    const deadline = Date.now() + 30_000;
    while (!dead && Date.now() < deadline) {
      try {
        if ((await post(`${endpoint}/moto-api/reset`)).ok) {
          const stop = async () => {
            if (!child.pid || dead) return;
            try {
              process.kill(-child.pid, 'SIGTERM');
            } catch {
              /* gone */
            }
            const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
            if (!done)
              try {
                process.kill(-child.pid, 'SIGKILL');
              } catch {
                /* gone */
              }
            running.delete(child);
          };
          return {
            endpoint,
            port,
            pid: child.pid!,
            async reset() {
              const r = await post(`${endpoint}/moto-api/reset`);
              if (!r.ok) throw new Error(`moto reset answered ${r.status}`);
            },
            async auth(mode) {
              // moto enforces IAM after INITIAL_NO_AUTH_ACTION_COUNT requests; reset-auth sets it and starts counting again.
              const r = await post(`${endpoint}/moto-api/reset-auth`, mode === 'on' ? '0' : 'inf');
              if (!r.ok) throw new Error(`moto reset-auth answered ${r.status}`);
            },
            stop,
          };
        }
      } catch {
        // not listening yet
      }
      await sleep(150);
    }
    lastOutput = output();
    if (child.pid && !dead)
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    running.delete(child);
  }
  throw new Error(
    `moto_server did not start (is moto installed? python3 -c 'import moto'; moto_server on PATH)${lastOutput ? `; it said:\n${lastOutput}` : ''}`,
  );
}

/**
 * One moto for the test file that calls this (at its top level): started
 * before its first test, reset before each, stopped after the last. The
 * answer stands for it from the first test on.
 */
export function useMoto(): Moto {
  let m: Moto | undefined;
  before(async () => {
    m = await startMoto();
  });
  after(async () => {
    await m?.stop();
  });
  beforeEach(async () => {
    await m!.reset();
  });
  const started = (): Moto => {
    if (!m) throw new Error('moto is started before the first test: use it inside a test or hook');
    return m;
  };
  return {
    get endpoint() {
      return started().endpoint;
    },
    get port() {
      return started().port;
    },
    get pid() {
      return started().pid;
    },
    reset: () => started().reset(),
    auth: (mode) => started().auth(mode),
    stop: () => started().stop(),
  };
}
