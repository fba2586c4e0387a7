/**
 * The function worker: claims queued invocations and runs each in the
 * runtime (one process per invocation, time and memory limits enforced),
 * with the short-lived credentials of the function's role, assumed through
 * the sandbox IAM by the function service. It keeps the leases of what it
 * runs and stops an invocation someone cancelled. Emits 'finished' with
 * every invocation it ends.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseRoleArn, ProviderError, type ProviderRegistry } from '../providers/index.js';
import { ClaimLoop, ClaimingWorker } from '../util/claim-loop.js';
import { silentLogger, type Logger } from '../util/log.js';
import { invoke, type FunctionCredentials, type InvocationHandle, type LogLine } from './runtime.js';
import { definitionOf, type FunctionStore } from './store.js';
import { FINAL, type Invocation, type InvocationSource, type InvocationStore } from './invocations.js';
import type { TokenStore } from '../security/tokens.js';

export interface FunctionWorkerOptions {
  /** Invocations run at once (default 4). */
  concurrency?: number;
  leaseMs?: number;
  pollMs?: number;
  /** How often running invocations' leases are kept and cancel requests looked for (default 500 ms). */
  heartbeatMs?: number;
}

/**
 * Where functions' context.confix and context.cloud send their calls. With a
 * TokenStore the worker mints each invocation its own operator token
 * (fn:<function>:<invocation>, expiring with the function's timeout, revoked
 * when it ends); a fixed `token` is used only without one.
 */
export interface FunctionApi {
  baseUrl: string;
  token?: string;
}

/** An invocation's token outlives the function's timeout by this much (start-up, the last call's answer). */
const TOKEN_GRACE_MS = 60_000;

/** Credentials are reused until this long before they expire. */
const RENEW_BEFORE_MS = 5 * 60_000;

export class FunctionWorker extends ClaimingWorker<Invocation> {
  readonly owner = `${hostname()}:${process.pid}:fn-${randomBytes(3).toString('hex')}`;
  private readonly running = new Map<string, InvocationHandle>();
  /** Log lines of running invocations not saved yet (saved with each heartbeat). */
  private readonly unsaved = new Map<string, LogLine[]>();
  private readonly leaseMs: number;
  private api: FunctionApi | undefined;
  private readonly roleCache = new Map<string, Promise<FunctionCredentials & { expiration: string }>>();

  constructor(
    private readonly deps: { functions: FunctionStore; invocations: InvocationStore; providers: ProviderRegistry; tokens?: TokenStore; log?: Logger },
    opts: FunctionWorkerOptions = {},
  ) {
    super();
    this.setMaxListeners(0);
    const log = deps.log ?? silentLogger;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.loop = new ClaimLoop<Invocation>({
      concurrency: opts.concurrency ?? 4,
      pollMs: opts.pollMs ?? 500,
      claim: async (room) => {
        // Invocations whose worker died for the last time: their tokens go now, not when they expire.
        for (const lost of await deps.invocations.failLost()) await this.revokeTokensOf(lost.functionName, lost.invocationId);
        return deps.invocations.claim(this.owner, room, this.leaseMs);
      },
      run: (i) => this.run(i),
      log,
      names: { many: 'invocations', one: 'invocation' },
      describe: (i) => ({ invocationId: i.invocationId, function: i.functionName }),
    });
    // Unref'd, and idle while nothing runs: it lives as long as the worker.
    setInterval(() => void this.beat().catch((err: Error) => log.warn('keeping invocation leases failed', { err })), opts.heartbeatMs ?? 500).unref();
  }

  /** Functions reach confix's API (and the sandbox cloud's) here; set once the service listens. */
  setApi(api: FunctionApi | undefined): void {
    this.api = api;
  }

  /**
   * Stops claiming and waits for the invocations under way, keeping their
   * leases meanwhile (so no other worker runs them twice); those still
   * running after `graceMs` (default 30 s) are cancelled.
   */
  override async stop(opts: { graceMs?: number } = {}): Promise<void> {
    const late = setTimeout(() => {
      for (const h of this.running.values()) h.cancel('the worker stopped before the invocation ended');
    }, opts.graceMs ?? 30_000);
    late.unref();
    try {
      await this.loop.stop();
    } finally {
      // The heartbeat stays (it does nothing while nothing runs), so a worker started again keeps its leases.
      clearTimeout(late);
    }
  }

  /**
   * Queues an invocation and waits for its end (a remediation or a
   * subscription's delivery running a function). The idempotency key makes
   * a retried caller find the invocation it started before.
   */
  async invokeAndWait(req: { functionName: string; version?: number; input: unknown; idempotencyKey?: string; source: InvocationSource }): Promise<Invocation> {
    const queued = await this.deps.invocations.enqueue(req);
    this.wake();
    return this.wait(queued.invocationId);
  }

  /** Waits for an invocation's end: told by this worker, or read every second (another process may run it). */
  wait(id: string): Promise<Invocation> {
    return new Promise<Invocation>((resolve, reject) => {
      let done = false;
      const finish = (i: Invocation) => {
        if (done) return;
        done = true;
        this.off('finished', onFinished);
        clearInterval(poll);
        resolve(i);
      };
      const onFinished = (i: Invocation) => {
        if (i.invocationId === id) finish(i);
      };
      const check = () =>
        this.deps.invocations.get(id).then(
          (i) => {
            if (FINAL.includes(i.status)) finish(i);
          },
          (err: Error) => {
            if (done) return;
            done = true;
            this.off('finished', onFinished);
            clearInterval(poll);
            reject(err);
          },
        );
      this.on('finished', onFinished);
      const poll = setInterval(check, 1000);
      void check();
    });
  }

  private async beat(): Promise<void> {
    const ids = [...this.running.keys()];
    if (!ids.length) return;
    // Lines so far, so `confix logs --follow` and the console show a long invocation as it runs.
    for (const [id, lines] of this.unsaved) {
      if (!lines.length) continue;
      this.unsaved.set(id, []);
      await this.deps.invocations.appendLogs(id, this.owner, lines);
    }
    for (const id of await this.deps.invocations.renew(ids, this.owner, this.leaseMs)) this.running.get(id)?.cancel('cancelled by request');
  }

  private async run(inv: Invocation): Promise<void> {
    const { functions, invocations } = this.deps;
    let handle: InvocationHandle;
    let tokenId: string | undefined;
    try {
      const version = await functions.version(inv.functionName, inv.version);
      const credentials = version.role ? await this.roleCredentials(version.name, version.role) : undefined;
      // Taken up after its worker died (a killed service): the earlier attempts' tokens end now.
      if (inv.attempt > 1) await this.revokeTokensOf(inv.functionName, inv.invocationId);
      let api = this.api;
      if (api && this.deps.tokens) {
        const minted = await this.deps.tokens.mintForInvocation(
          inv.functionName,
          inv.invocationId,
          inv.attempt,
          version.timeoutSeconds * 1000 + TOKEN_GRACE_MS,
        );
        tokenId = minted.record.id;
        api = { ...api, token: minted.token };
      }
      const unsaved: LogLine[] = [];
      this.unsaved.set(inv.invocationId, unsaved);
      handle = invoke(definitionOf(version), {
        event: inv.input ?? undefined,
        requestId: inv.invocationId,
        credentials,
        api,
        onLog: (line) => this.unsaved.get(inv.invocationId)?.push(line),
      });
    } catch (err) {
      this.unsaved.delete(inv.invocationId);
      if (tokenId) await this.revokeToken(tokenId);
      const e = err as Error & { code?: string };
      const ended = await invocations.fail(inv.invocationId, this.owner, {
        type: err instanceof ProviderError ? 'AssumeRoleFailed' : e.name || 'Error',
        message: err instanceof ProviderError ? `the function's role could not be assumed: ${e.code}: ${e.message}` : e.message,
        ...(e.code ? { code: e.code } : {}),
      });
      if (ended) this.emit('finished', ended);
      return;
    }
    this.running.set(inv.invocationId, handle);
    try {
      const result = await handle.done;
      const ended = await invocations.finish(inv.invocationId, this.owner, result);
      if (ended) this.emit('finished', ended);
    } finally {
      this.running.delete(inv.invocationId);
      this.unsaved.delete(inv.invocationId);
      if (tokenId) await this.revokeToken(tokenId);
    }
  }

  private async revokeTokensOf(functionName: string, invocationId: string): Promise<void> {
    await this.deps.tokens
      ?.revokeForInvocation(functionName, invocationId)
      .catch((err: Error) =>
        (this.deps.log ?? silentLogger).warn("revoking a lost invocation's API tokens failed; they expire by themselves", { err, invocationId }),
      );
  }

  /** The invocation's token ends with it. */
  private async revokeToken(id: string): Promise<void> {
    await this.deps.tokens
      ?.revoke(id)
      .catch((err: Error) => (this.deps.log ?? silentLogger).warn("revoking an invocation's API token failed; it expires by itself", { err }));
  }

  /**
   * The function role's credentials: a role name is the management account's
   * role; an ARN names its account and dialect. The function service assumes
   * it, so the role's trust policy must name fc.aliyuncs.com (or
   * lambda.amazonaws.com). Cached until shortly before they expire.
   */
  private async roleCredentials(functionName: string, role: string): Promise<FunctionCredentials> {
    let arn = role;
    const primary = this.deps.providers.primary();
    if (!parseRoleArn(role)) {
      const home = await primary.managementAccount();
      if (!home)
        throw new ProviderError(
          primary.name,
          primary.kind === 'aws' ? 'NoSuchEntity' : 'EntityNotExist.Role',
          `role "${role}" is a bare name, and ${primary.name} has no management account to find it in; give the role's ARN`,
          false,
          404,
        );
      arn = primary.roleArn(home, role);
    }
    const cached = this.roleCache.get(arn);
    if (cached) {
      const c = await cached.catch(() => undefined);
      if (c && Date.parse(c.expiration) - Date.now() > RENEW_BEFORE_MS) return c;
    }
    // The role's account's cloud assumes it, as its function service would.
    const owner = parseRoleArn(arn)!.accountId;
    const p = this.deps.providers
      .forAccount(owner)
      .then((provider) => provider.assumeRoleForFunction({ roleArn: arn, sessionName: `fn-${functionName}`.slice(0, 64) }))
      .then((c) => ({
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.accessKeySecret,
        sessionToken: c.securityToken,
        accessKeySecret: c.accessKeySecret,
        securityToken: c.securityToken,
        expiration: c.expiration,
      }));
    this.roleCache.set(arn, p);
    p.catch(() => this.roleCache.delete(arn));
    return p;
  }
}
