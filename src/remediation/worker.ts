/**
 * The remediation worker: claims executions and runs their steps — re-read
 * the resource, re-evaluate the rule (stop if it is already compliant),
 * resolve the parameters, get the credentials (assuming the execution role),
 * preview, apply, verify, confirm — saving progress
 * as it goes. A remediation by function (action `function:NAME`) runs
 * re-read, re-evaluate, preview (what would be invoked), invoke (the
 * function, with the resource as Cloud Config's event, waiting for its end)
 * and confirm, which fails the execution if the rule still finds the
 * resource non-compliant. An execution re-run after its worker died starts again from
 * the re-read, so a fix already made ends as "already compliant", never twice.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dialectOfResourceType, ProviderError, type ProviderCredentials, type ProviderRegistry } from '../providers/index.js';
import type { Recorder } from '../inventory/index.js';
import type { RuleStore } from '../rules/store.js';
import type { Evaluator } from '../evaluation/evaluator.js';
import { compileRule } from '../evaluation/compiled.js';
import { silentLogger, type Logger } from '../util/log.js';
import { ClaimLoop, ClaimingWorker } from '../util/claim-loop.js';
import { remediationAction } from './registry.js';
import { resolveParameters } from './bindings.js';
import type { ActionContext } from './types.js';
import { functionOfAction, type RemediationSpec } from './config.js';
import { FunctionNotFoundError, type FunctionStore } from '../functions/store.js';
import type { FunctionWorker } from '../functions/worker.js';
import { MAX_ATTEMPTS as INVOCATION_ATTEMPTS, type Invocation } from '../functions/invocations.js';
import type { ResourceState } from '../providers/types.js';
import { NoCredentialsError, type Access, type CredentialBroker } from '../accounts/broker.js';
import type { Rule } from '../rules/model.js';
import type { Execution, ExecutionStore, Step } from './executions.js';
import { describeException, type ExceptionStore } from './exceptions.js';
import type { RemediationControls } from './controls.js';
import type { ComplianceViews } from '../evaluation/compliance.js';
import { queueAutomatic } from './auto.js';
import './actions/index.js';
import { ConfixError } from '../errors.js';

export interface WorkerDeps {
  executions: ExecutionStore;
  exceptions: ExceptionStore;
  controls: RemediationControls;
  rules: RuleStore;
  /** The clouds: a resource is read and changed through its account's provider. */
  providers: ProviderRegistry;
  recorder: Recorder;
  evaluator: Evaluator;
  /** Credentials for acting in an account, assuming the execution role. */
  broker: CredentialBroker;
  /** The results automatic remediation weighs when an automatic attempt ends (is another one due?). */
  compliance: Pick<ComplianceViews, 'nonCompliant'>;
  /** The account a rule's role chain starts from: its account group's owner, else the management account. */
  homeAccount(rule: Rule): Promise<string | undefined>;
  /** Deployed functions and their worker, for remediations by function; without them those executions fail (FunctionsUnavailable). */
  functions?: Pick<FunctionStore, 'version'>;
  functionWorker?: Pick<FunctionWorker, 'invokeAndWait'>;
  log?: Logger;
}

/** The resource as Cloud Config hands it to a remediation function (seeds 000 and 003 read these fields). */
export interface RemediationEventItem {
  /** The provider that governs the resource (sandbox, aws, …): what context.cloud calls. */
  provider: string;
  accountId: string;
  regionId: string;
  resourceId: string;
  resourceType: string;
  configRuleId: string;
  configRuleName: string;
}

export interface WorkerOptions {
  /** Executions run at once by this worker (default 4). */
  concurrency?: number;
  /** How long a claim lasts without progress before another worker may take it (default 30 s). */
  leaseMs?: number;
  /** How often to look for due executions (default 500 ms). */
  pollMs?: number;
  owner?: string;
}

/** Ends the step sequence early with a final status. */
class Stop {
  constructor(
    readonly status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
    readonly code?: string,
    readonly message?: string,
    /** Kept with the step (a dry run's diff). */
    readonly detail?: unknown,
    /**
     * For FAILED: whether trying again can help. False for what would be the
     * same next time (a provider's refusal, a validation error, a
     * service-managed or missing resource): automatic remediation does not
     * spend attempts on it.
     */
    readonly retryable = true,
  ) {}
}

/** A failure that will be the same next time: recorded, and not retried. */
const permanent = (code: string, message: string, detail?: unknown) => new Stop('FAILED', code, message, detail, false);

type StepFn = <T>(name: Step['name'], fn: () => Promise<{ message: string; detail?: unknown; value?: T }>) => Promise<T | undefined>;
type Key = { accountId: string; regionId: string; resourceType: string; resourceId: string };

type Carry = { parameters?: Record<string, unknown> };

/** How long an execution waits for its function beyond the function's own time limit, each attempt (queueing, starting). */
const FUNCTION_WAIT_SLACK_S = 300;

/** One line of JSON, cut to `max` characters. */
function brief(v: unknown, max = 300): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** Steps are saved at least this often while an execution runs (and always before it changes anything). */
const SAVE_EVERY_MS = 1000;

/** Another worker took the execution over (this one's lease ran out): this one stops touching it. */
class LeaseLost extends ConfixError {
  constructor() {
    super('LeaseLost', 'conflict', 'the execution was taken over by another worker');
  }
}

/**
 * Emits 'execution' (kind, execution) when an execution starts, succeeds or
 * fails (for events; a cancelled one is not announced).
 */
export class RemediationWorker extends ClaimingWorker<Execution> {
  readonly owner: string;
  private readonly leaseMs: number;
  private readonly log: Logger;

  constructor(
    private readonly deps: WorkerDeps,
    opts: WorkerOptions = {},
  ) {
    super();
    this.owner = opts.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.leaseMs = opts.leaseMs ?? 30_000;
    this.log = deps.log ?? silentLogger;
    this.loop = new ClaimLoop<Execution>({
      concurrency: opts.concurrency ?? 4,
      pollMs: opts.pollMs ?? 500,
      claim: (room) => deps.executions.claim(this.owner, room, this.leaseMs),
      run: (x) => {
        this.announce('started', x);
        return this.execute(x);
      },
      log: this.log,
      names: { many: 'executions', one: 'execution' },
      describe: (x) => ({ executionId: x.executionId }),
    });
  }

  /** An execution that ran to its end: logged (a worker's terminal shows what it did) and announced. */
  private succeeded(x: Execution): void {
    this.log.info('execution finished', { executionId: x.executionId, status: 'SUCCEEDED', rule: x.ruleName, resourceId: x.resourceId });
    this.announce('succeeded', x);
  }

  /** Announces an execution's start or end to listeners (the event publisher), read fresh when it ended. */
  private announce(kind: 'started' | 'succeeded' | 'failed', x: Execution): void {
    if (this.listenerCount('execution') === 0) return;
    if (kind === 'started') return void this.emit('execution', kind, x);
    this.deps.executions.get(x.executionId).then(
      (done) => this.emit('execution', kind, done),
      (err: Error) => this.log.warn('reading a finished execution for its event failed', { executionId: x.executionId, err }),
    );
  }

  private async execute(x: Execution): Promise<void> {
    const { executions } = this.deps;
    const steps: Step[] = [];
    const key = { accountId: x.accountId, regionId: x.regionId, resourceType: x.resourceType, resourceId: x.resourceId };
    let lost = false;
    // The resolved parameters, saved with the next progress or the end.
    const carry: Carry = {};
    const save = async (extra: { priorState?: unknown } = {}) => {
      if (lost || !(await executions.progress(x.executionId, this.owner, this.leaseMs, { steps, parameters: carry.parameters, ...extra })))
        throw new LeaseLost();
    };
    // A provider call may outlast the lease: keep it alive while this worker is.
    const heartbeat = setInterval(
      () => {
        executions.renew(x.executionId, this.owner, this.leaseMs).then(
          (held) => void (lost ||= !held),
          (err: Error) => this.log.warn('renewing a lease failed', { executionId: x.executionId, err }),
        );
      },
      Math.max(50, Math.floor(this.leaseMs / 3)),
    );
    heartbeat.unref();
    try {
      await this.executeSteps(x, key, steps, save, carry);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async executeSteps(x: Execution, key: Key, steps: Step[], save: (extra?: { priorState?: unknown }) => Promise<void>, carry: Carry): Promise<void> {
    const { executions } = this.deps;
    let savedAt = Date.now();
    const step: StepFn = async (name, fn) => {
      const startedAt = new Date().toISOString();
      try {
        const r = await fn();
        steps.push({
          name,
          status: 'SUCCEEDED',
          startedAt,
          finishedAt: new Date().toISOString(),
          message: r.message,
          ...(r.detail !== undefined ? { detail: r.detail } : {}),
        });
        // Progress is saved before the change is made (so a lost lease stops
        // it), and whenever steps are slow enough for someone to watch them;
        // a fast execution is not worth a write per step. A worker that dies
        // loses only steps that are re-run from the start anyway.
        const beforeChange = name === (x.rollbackOf ? 'credentials' : 'preview');
        if (beforeChange || Date.now() - savedAt >= SAVE_EVERY_MS) {
          await save();
          savedAt = Date.now();
        }
        return r.value;
      } catch (err) {
        if (err instanceof LeaseLost) throw err;
        const message = err instanceof Stop ? (err.message ?? '') : (err as Error).message;
        const detail = err instanceof Stop && err.detail !== undefined ? { detail: err.detail } : {};
        steps.push({
          name,
          status: err instanceof Stop && err.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED',
          startedAt,
          finishedAt: new Date().toISOString(),
          message,
          ...detail,
        });
        if (err instanceof Stop) throw err;
        if (err instanceof ProviderError) throw new Stop('FAILED', err.code, err.message, undefined, err.retryable);
        throw new Stop('FAILED', 'StepFailed', `${name}: ${(err as Error).message}`);
      }
    };

    let spec: RemediationSpec | undefined;
    let changedNote = '';
    try {
      const rule = await this.deps.rules.get(x.ruleId);
      spec = rule.remediation;
      if (!spec) throw permanent('NoRemediation', `rule ${rule.name} no longer has a remediation`);
      // The rule's remediation as it is now, never the one it had when this was queued (a retry queued under
      // an action must not run that action with a function's parameters): a rollback alone keeps its own.
      if (!x.rollbackOf && x.action !== spec.action) {
        const now = spec.function ? undefined : remediationAction(spec.action);
        if (!spec.function && !now?.resourceTypes.includes(key.resourceType))
          throw new Stop(
            'CANCELLED',
            'RemediationChanged',
            `the rule's remediation changed from ${x.action} to ${spec.action} after this execution was queued, and ${spec.action} does not fix ${key.resourceType}`,
          );
        if (!(await executions.retarget(x.executionId, this.owner, spec.action))) throw new LeaseLost();
        this.log.info("running the rule's current remediation", { executionId: x.executionId, queuedWith: x.action, now: spec.action });
        changedNote = `the rule's remediation changed after this execution was queued: it runs ${spec.action}, not ${x.action}; `;
        x = { ...x, action: spec.action };
      }
      const fn = functionOfAction(x.action);
      const found = fn === undefined ? remediationAction(x.action) : undefined;
      if (fn === undefined && !found) throw permanent('UnknownAction', `action ${x.action} is not in this confix`);

      if (x.rollbackOf) {
        if (fn !== undefined) throw permanent('RollbackUnsupported', `function ${fn} recorded no prior state, so its executions cannot be rolled back`);
        return await this.rollback(x, rule, key, steps, step);
      }
      // Exempted after it was queued: do not touch the resource.
      const exempt = await this.deps.exceptions.active(x.ruleId, key);
      if (exempt && !x.dryRun) throw new Stop('CANCELLED', 'Exempted', describeException(exempt));
      const state = await this.reread(step, key, changedNote);
      const compiled = compileRule(rule);
      await step('reevaluate', async () => {
        if (compiled.external) {
          // Judged by a function, asynchronously: the stored verdict is the latest there is.
          const [r] = await this.deps.evaluator.resultFor(x.ruleId, key);
          if (r && r.compliance_type !== 'NON_COMPLIANT')
            throw new Stop('SUCCEEDED', undefined, `already ${r.compliance_type} under ${rule.name}: nothing to do (${r.annotation})`);
          return {
            message: `judged by function ${compiled.external.functionName}; its latest verdict: ${r ? `${r.compliance_type}: ${r.annotation}` : 'none yet'}`,
          };
        }
        const v = compiled.evaluate({ ...key, resourceName: state!.resourceName ?? null, tags: state!.tags, configuration: state!.configuration });
        if (v.complianceType !== 'NON_COMPLIANT') {
          // Fixed meanwhile (by its owner, or by a worker that died after acting): make the stored result say so.
          await this.deps.recorder.recordOne((await this.deps.providers.forKey(key)).name, key);
          await this.deps.evaluator.evaluateResource(key);
          throw new Stop('SUCCEEDED', undefined, `already ${v.complianceType} under ${rule.name}: nothing to do (${v.annotation})`);
        }
        return { message: `still NON_COMPLIANT: ${v.annotation}` };
      });
      if (fn !== undefined) {
        const invoked = await this.invokeFunction(step, x, rule, key, fn);
        await this.confirm(step, x, key, { function: fn, invoked, judgedLater: !!compiled.external });
        if (await executions.finish(x.executionId, this.owner, { status: 'SUCCEEDED', steps })) this.succeeded(x);
        return;
      }
      const action = found!;
      const params = await step('parameters', async () => {
        const resolved = resolveParameters(spec!.parameters, { ...key, configuration: state!.configuration });
        const p = action.parameters.safeParse(resolved);
        if (!p.success) {
          const i = p.error.issues[0]!;
          throw permanent('InvalidParameters', `parameter ${i.path.join('.') || '(all)'}: ${i.message}`);
        }
        carry.parameters = resolved;
        return { message: `resolved ${Object.keys(resolved).join(', ')}`, detail: resolved, value: p.data as unknown };
      });
      const access = await this.credentials(step, rule, spec, key);
      const ctx = await this.actionContext(key, state!, access.credentials);
      await step('preview', async () => {
        const p = await action.preview(ctx, params);
        if (p.refusal) throw permanent('Refused', p.refusal);
        if (p.noop) throw new Stop('SUCCEEDED', undefined, `nothing to change: ${p.summary}`);
        if (x.dryRun) throw new Stop('SUCCEEDED', undefined, `dry run, nothing changed: would ${p.summary}`, p.changes);
        return { message: p.summary, detail: p.changes };
      });
      await step('apply', async () => {
        const out = await action.apply(ctx, params);
        await save({ priorState: out.priorState ?? null });
        return { message: out.summary };
      });
      await step('verify', async () => {
        const v = await action.verify(ctx, params);
        if (!v.ok) throw new Stop('FAILED', 'PostconditionFailed', v.message);
        return { message: v.message };
      });
      await this.confirm(step, x, key);
      if (await executions.finish(x.executionId, this.owner, { status: 'SUCCEEDED', steps, parameters: carry.parameters })) this.succeeded(x);
    } catch (err) {
      if (err instanceof Stop && err.code && /^(InvalidSecurityToken|ExpiredToken|InvalidClientTokenId)/.test(err.code)) this.deps.broker.forget(x.accountId);
      if (err instanceof LeaseLost) {
        this.log.warn('lost the lease of an execution; another worker has it', { executionId: x.executionId });
        return;
      }
      const stop = err instanceof Stop ? err : new Stop('FAILED', 'InternalError', (err as Error).message);
      const failed = stop.status !== 'SUCCEEDED';
      const retry = stop.status === 'FAILED' ? this.retryPlan(x, spec, stop.retryable) : undefined;
      const message = failed && retry ? `${stop.message} (${retry.note})` : stop.message;
      const done = await executions.finish(x.executionId, this.owner, {
        status: stop.status,
        steps,
        parameters: carry.parameters,
        errorCode: failed ? stop.code : undefined,
        errorMessage: failed ? message : undefined,
        retryable: stop.retryable,
      });
      if (!done) return;
      if (stop.status !== 'CANCELLED') this.announce(stop.status === 'SUCCEEDED' ? 'succeeded' : 'failed', x);
      this.log.info('execution finished', {
        executionId: x.executionId,
        status: stop.status,
        errorCode: stop.code,
        rule: x.ruleName,
        resourceId: x.resourceId,
      });
      if (stop.status === 'FAILED' && spec && !x.dryRun) {
        const paused = await this.deps.controls.afterFailure(x.ruleId, x.ruleName, spec);
        if (paused) this.log.warn('automatic remediation paused', { rule: x.ruleName, why: paused });
      }
      if (retry) {
        // The next attempt, if the resource is still non-compliant: decided as every automatic execution is
        // (after a failure retrying cannot fix, none — unless the rule's remediation changed while this one ran).
        const { queued } = await queueAutomatic(
          { rules: this.deps.rules, executions, exceptions: this.deps.exceptions, compliance: this.deps.compliance, log: this.log },
          x.ruleId,
          { keys: [key] },
        );
        for (const n of queued) this.log.info('automatic remediation will retry', { executionId: n.executionId, attempt: n.attempt, notBefore: n.notBefore });
      }
    }
  }

  /**
   * A rollback execution: restore the prior state its original execution
   * recorded, then record and re-evaluate, as a fix is confirmed.
   */
  private async rollback(x: Execution, rule: Rule, key: Key, steps: Step[], step: StepFn): Promise<void> {
    const { executions } = this.deps;
    const original = await executions.get(x.rollbackOf!);
    const action = remediationAction(original.action)!;
    const state = await this.reread(step, key);
    const access = await this.credentials(step, rule, rule.remediation!, key);
    const ctx = await this.actionContext(key, state!, access.credentials);
    await step('apply', async () => {
      const out = await action.rollback!(ctx, original.priorState);
      return { message: `rolled back ${original.executionId}: ${out.summary}` };
    });
    await this.confirm(step, x, key);
    if (await executions.finish(x.executionId, this.owner, { status: 'SUCCEEDED', steps })) this.succeeded(x);
  }

  /** The resource as the provider has it now; a resource that is gone ends the execution. */
  private reread(step: StepFn, key: Key, note = '') {
    return step('reread', async () => {
      const s = await (await this.deps.providers.forKey(key)).describe(key);
      if (!s) throw permanent('ResourceNotFound', `${note}${key.resourceType} ${key.resourceId} no longer exists`);
      return { message: `${note}read ${key.resourceType} ${key.resourceId} from the provider`, value: s };
    });
  }

  /**
   * Whom the action's calls are made as: the execution role assumed in the
   * resource's account (chained from the home account's stored key), or,
   * without a role, the account's own key. A refusal is the provider's own.
   */
  private async credentials(step: StepFn, rule: Rule, spec: RemediationSpec, key: Key): Promise<Access> {
    const got = await step('credentials', async () => {
      const role = spec.executionRole;
      try {
        const a = await this.deps.broker.access({
          accountId: key.accountId,
          role,
          home: role ? await this.deps.homeAccount(rule) : undefined,
          dialect: dialectOfResourceType(key.resourceType),
          sessionName: 'confix-remediation',
        });
        const how = role ? `assumed ${role} in ${key.accountId}${a.cached ? ' (cached)' : ''}: ${a.via.join(' → ')}` : a.via.join(' → ');
        return {
          message: `acting as ${a.principal}; ${how}`,
          detail: { principal: a.principal, via: a.via, ...(a.expiration ? { expiration: a.expiration } : {}) },
          value: a,
        };
      } catch (err) {
        if (err instanceof NoCredentialsError) throw permanent(err.code, err.message);
        throw err;
      }
    });
    return got!;
  }

  /** What an action runs with: the fresh state, and the provider's API in the resource's account and region, signed with the execution's credentials. */
  private async actionContext(key: Key, state: ResourceState, credentials?: ProviderCredentials): Promise<ActionContext> {
    const provider = await this.deps.providers.forKey(key);
    const where = { accountId: key.accountId, regionId: key.regionId };
    return {
      resource: { ...key, configuration: state.configuration, tags: state.tags },
      call: (a, p) => provider.call(a, where, p, credentials),
      describe: async (type, id) => (await provider.describe({ ...where, resourceType: type, resourceId: id }))?.configuration ?? null,
    };
  }

  /**
   * A function remediation: preview says what would be invoked (a dry run
   * ends there), invoke runs the function with the resource as Cloud
   * Config's event — the JSON text of a list of one — and waits for its end.
   * The invocation's failure is the execution's. Answers the invocation.
   */
  private async invokeFunction(step: StepFn, x: Execution, rule: Rule, key: Key, name: string): Promise<Invocation> {
    const { functions, functionWorker } = this.deps;
    const provider = (await this.deps.providers.forKey(key)).name;
    const event: RemediationEventItem[] = [{ ...key, configRuleId: rule.ruleId, configRuleName: rule.name, provider }];
    const target = `[${key.resourceType} ${key.resourceId} in ${key.accountId}/${key.regionId}]`;
    const notDeployed = () =>
      permanent(
        'FunctionNotFound',
        `rule ${rule.name} remediates with function ${name}, which is not deployed; deploy it (confix function deploy ${name} --file …), then retry`,
      );
    const planned = await step('preview', async () => {
      if (!functions || !functionWorker) throw permanent('FunctionsUnavailable', `this confix runs no functions, so function ${name} cannot be invoked`);
      let v;
      try {
        v = await functions.version(name);
      } catch (err) {
        if (err instanceof FunctionNotFoundError) throw notDeployed();
        throw err;
      }
      const what = `function ${name} v${v.version}${v.role ? ` as role ${v.role}` : ' (it has no role)'} with ${target}`;
      const detail = { function: name, version: v.version, role: v.role, timeoutSeconds: v.timeoutSeconds, event };
      if (x.dryRun) throw new Stop('SUCCEEDED', undefined, `dry run, nothing invoked: would invoke ${what}`, detail);
      return { message: `will invoke ${what}`, detail, value: v };
    });
    const v = planned!;
    const invocation = await step('invoke', async () => {
      // A worker that re-runs this execution (its first died) finds the same invocation by the key.
      const waiting = functionWorker!.invokeAndWait({
        functionName: name,
        version: v.version,
        input: JSON.stringify(event),
        idempotencyKey: `execution:${x.executionId}`,
        source: { type: 'remediation', id: x.executionId },
      });
      // Bounded, should no function worker ever take it: the function's time limit for each of its attempts, plus slack.
      const limitS = (v.timeoutSeconds + FUNCTION_WAIT_SLACK_S) * INVOCATION_ATTEMPTS;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Stop('FAILED', 'FunctionTimedOut', `function ${name} v${v.version} did not end within ${limitS} s; is a function worker running?`)),
          limitS * 1000,
        );
        timer.unref();
      });
      let inv: Invocation;
      try {
        inv = await Promise.race([waiting, gaveUp]);
      } catch (err) {
        if (err instanceof FunctionNotFoundError) throw notDeployed();
        throw err;
      } finally {
        clearTimeout(timer);
      }
      const took = inv.durationMs === null ? '' : ` in ${inv.durationMs} ms`;
      const detail = {
        invocationId: inv.invocationId,
        function: inv.functionName,
        version: inv.version,
        status: inv.status,
        durationMs: inv.durationMs,
        ...(inv.result !== null && inv.result !== undefined ? { result: inv.result } : {}),
        ...(inv.error ? { error: { type: inv.error.type, message: inv.error.message, ...(inv.error.code ? { code: inv.error.code } : {}) } } : {}),
      };
      const ref = `function ${name} v${inv.version}, invocation ${inv.invocationId}`;
      if (inv.status === 'SUCCEEDED')
        return {
          message: `invocation ${inv.invocationId} of ${name} v${inv.version} SUCCEEDED${took}${detail.result !== undefined ? `, returning ${brief(detail.result)}` : ''}`,
          detail,
          value: inv,
        };
      const e = inv.error;
      const code = inv.status === 'TIMED_OUT' ? 'FunctionTimedOut' : inv.status === 'CANCELLED' ? 'FunctionCancelled' : e?.type || 'FunctionFailed';
      const message = e ? `${e.code ? `${e.code}: ` : ''}${e.message}` : `the function ended ${inv.status}`;
      throw new Stop('FAILED', code, `${message} (${ref}, ${inv.status}${took})`, detail);
    });
    return invocation!;
  }

  /**
   * Confirms by the path that found the problem: record the resource,
   * re-evaluate it, report the rule's result. A function reports success on
   * its own say-so, so its execution succeeds only if the rule no longer
   * finds the resource non-compliant.
   */
  private confirm(step: StepFn, x: Execution, key: Key, fn?: { function: string; invoked: Invocation; judgedLater: boolean }) {
    return step('confirm', async () => {
      await this.deps.recorder.recordOne((await this.deps.providers.forKey(key)).name, key);
      await this.deps.evaluator.evaluateResource(key);
      const [r] = await this.deps.evaluator.resultFor(x.ruleId, key);
      // A rule judged by a function gives its new verdict later: the stored one may be the old.
      if (fn?.judgedLater) return { message: `${x.ruleName} is judged by a function; its verdict on the fixed resource is written when it answers` };
      if (fn && r?.compliance_type === 'NON_COMPLIANT') {
        const returned = fn.invoked.result !== null && fn.invoked.result !== undefined ? `; it returned ${brief(fn.invoked.result)}` : '';
        throw new Stop(
          'FAILED',
          'PostconditionFailed',
          `function ${fn.function} succeeded (invocation ${fn.invoked.invocationId}), but ${x.ruleName} still reports NON_COMPLIANT: ${r.annotation}${returned}`,
        );
      }
      return { message: r ? `${x.ruleName} now reports ${r.compliance_type}: ${r.annotation}` : `${x.ruleName} has no result for the resource now` };
    });
  }

  /** For a failed automatic execution: when to try again, or that the attempts ran out (said on the execution). */
  private retryPlan(x: Execution, spec: RemediationSpec | undefined, retryable: boolean): { next?: Date; note: string } | undefined {
    if (x.trigger !== 'AUTOMATIC' || x.dryRun || x.rollbackOf) return undefined;
    if (spec?.invokeType !== 'AUTO_EXECUTION') return undefined;
    if (!retryable)
      return {
        note: 'not retried: the same attempt would fail the same way; automatic remediation leaves this resource alone until it changes, the remediation changes, or someone retries it',
      };
    if (x.attempt < spec.maximumAutomaticAttempts)
      return {
        next: new Date(Date.now() + spec.retryAttemptSeconds * 1000),
        note: `attempt ${x.attempt} of ${spec.maximumAutomaticAttempts}; retrying in ${spec.retryAttemptSeconds} s`,
      };
    return {
      note: `attempt ${x.attempt} of ${spec.maximumAutomaticAttempts}: automatic remediation leaves this resource alone until it changes again or someone retries it`,
    };
  }
}
