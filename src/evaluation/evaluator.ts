/**
 * The evaluator: judges resources against the rules whose scope matches them,
 * on configuration changes (rules indexed by resource type), on the rules'
 * periodic schedules, and on demand. Only a changed result writes a timeline
 * entry and emits a 'compliance-change' event; a resource whose configuration
 * changed while it stayed NON_COMPLIANT emits 'still-non-compliant'; every
 * finished evaluation emits 'evaluated'.
 */
import { EventEmitter } from 'node:events';
import type { Db } from '../store/index.js';
import { chunks } from '../store/index.js';
import type { Recorder, RecordedEvent } from '../inventory/index.js';
import type { ResourceKey, Tags, Configuration } from '../providers/types.js';
import type { RuleStore } from '../rules/store.js';
import type { Rule } from '../rules/model.js';
import type { ComplianceType, RiskLevel, Verdict } from '../rules/types.js';
import { silentLogger, type Logger } from '../util/log.js';
import { compileRule, type CompiledRule } from './compiled.js';

/**
 * Emitted as 'evaluated' when an evaluation of rules over their whole scope
 * (`keys` absent) or of some resources under every rule that covers them ended,
 * whether or not results changed.
 */
export interface EvaluatedEvent {
  ruleIds: string[];
  keys?: ResourceKey[];
}

/**
 * Emitted as 'compliance-change' when a result's compliance type changes (or
 * the result closes), and as 'still-non-compliant' (previous and current both
 * NON_COMPLIANT) when a non-compliant resource's configuration changed.
 */
export interface ComplianceChange extends ResourceKey {
  ruleId: string;
  ruleName: string;
  riskLevel: RiskLevel;
  previous: ComplianceType | null;
  /** null when the result closed (the resource was deleted or left the rule's scope). */
  current: ComplianceType | null;
  annotation: string;
  ciId: number | null;
  recordedAt: Date;
}

/**
 * A resource a function-judged rule must see: handed to the function rule
 * runner, whose verdict comes back through putFunctionVerdict().
 */
export interface FunctionRuleRequest {
  rule: Rule;
  functionName: string;
  resource: ResourceKey & { resourceName: string | null; tags: Tags; configuration: Configuration; ciId: number; capturedAt: Date };
  /** Why it is judged: a configuration change, or a periodic/full evaluation (then `invokedAt` is that evaluation's start). */
  messageType: 'ConfigurationItemChangeNotification' | 'ScheduledNotification';
  invokedAt: Date;
}

/** Account groups' member accounts, and word when groups change (AccountGroupStore). */
export interface AccountGroupResolver {
  resolveAll(): Promise<Map<string, Set<string>>>;
  on(event: 'changed', listener: (names: string[]) => void): unknown;
  off(event: 'changed', listener: (names: string[]) => void): unknown;
}

export interface EvaluationSummary {
  rules: number;
  resources: number;
  evaluations: number;
  changed: number;
  closed: number;
  durationMs: number;
}

/** A resource as the evaluator reads it from the inventory. */
interface Subject extends ResourceKey {
  resourceName: string | null;
  tags: Tags;
  configuration: Configuration | null;
  ciId: number;
  capturedAt: Date;
  deleted: boolean;
}

interface Existing {
  compliance_type: ComplianceType;
  annotation: string;
  ci_id: number | null;
}

interface ResultWrite {
  rule: CompiledRule;
  subject: ResourceKey & { ciId: number | null; capturedAt: Date };
  previous: Existing | undefined;
  /** null closes the result. */
  verdict: Verdict | null;
}

const keyOf = (ruleId: string, k: ResourceKey) => `${ruleId}\u0001${k.accountId}\u0001${k.regionId}\u0001${k.resourceType}\u0001${k.resourceId}`;

const SUBJECT_SQL = `SELECT r.account_id, r.region_id, r.resource_type, r.resource_id, r.resource_name, r.tags, r.status, r.ci_id, r.captured_at, c.configuration
  FROM resources r JOIN configuration_items c ON c.id = r.ci_id`;

interface SubjectRow {
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  resource_name: string | null;
  tags: Tags;
  status: string;
  ci_id: number;
  captured_at: Date;
  configuration: Configuration | null;
}

function toSubject(r: SubjectRow): Subject {
  return {
    accountId: r.account_id,
    regionId: r.region_id,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    resourceName: r.resource_name,
    tags: r.tags,
    configuration: r.configuration,
    ciId: r.ci_id,
    capturedAt: new Date(r.captured_at),
    deleted: r.status === 'ResourceDeleted',
  };
}

export class Evaluator extends EventEmitter {
  private compiled: CompiledRule[] = [];
  private byType = new Map<string, CompiledRule[]>();
  /** Account groups' members as resolved when the rules were last loaded. */
  private memberships = new Map<string, Set<string>>();
  private loaded: Promise<void> | undefined;
  /** One evaluation at a time: results of one resource are never written by two at once. */
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  /** Items recorded but not yet judged: judged together, so a snapshot's thousands cost a few statements. */
  private pending: RecordedEvent[] = [];
  /** Resources function-judged rules must see, gathered while judging and handed over after each write. */
  private functionRequests: FunctionRuleRequest[] = [];
  private functionRunner: ((requests: FunctionRuleRequest[]) => void) | undefined;
  private readonly onRecorded = (ev: RecordedEvent) => {
    this.pending.push(ev);
    if (this.pending.length > 1) return; // a flush is already queued
    void this.enqueue(async () => {
      while (this.pending.length) {
        const batch = this.pending.splice(0, 2000);
        await this.evaluateChanges(batch);
      }
    }).catch((err: Error) => this.log.error('evaluation after a change failed', { err }));
  };
  private readonly onRulesChanged = () => {
    this.loaded = undefined;
  };
  private readonly onGroupsChanged = (names: string[]) => {
    void this.refreshGroups(names).catch((err: Error) => this.log.error('evaluation after an account group changed failed', { groups: names, err }));
  };

  constructor(
    private readonly db: Db,
    private readonly rules: RuleStore,
    private readonly log: Logger = silentLogger,
    private readonly groups?: AccountGroupResolver,
  ) {
    super();
    this.setMaxListeners(100);
    rules.on('changed', this.onRulesChanged);
    groups?.on('changed', this.onGroupsChanged);
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Waits until every queued evaluation has finished. */
  idle(): Promise<void> {
    return this.chain.then(() => undefined);
  }

  private async ensureLoaded(): Promise<void> {
    this.loaded ??= (async () => {
      const all = await this.rules.list();
      const memberships = all.some((r) => r.scope.accountGroup !== undefined) && this.groups ? await this.groups.resolveAll() : new Map<string, Set<string>>();
      const compiled: CompiledRule[] = [];
      for (const r of all) {
        if (r.state !== 'ACTIVE') continue;
        const group = r.scope.accountGroup;
        if (group !== undefined && !memberships.has(group))
          this.log.warn('rule is scoped to an account group that does not exist; it judges no resources', { rule: r.name, accountGroup: group });
        try {
          compiled.push(compileRule(r, memberships));
        } catch (err) {
          this.log.error('rule cannot be compiled; skipped', { rule: r.name, err: err as Error });
        }
      }
      const byType = new Map<string, CompiledRule[]>();
      for (const c of compiled) for (const t of c.types) byType.set(t, [...(byType.get(t) ?? []), c]);
      this.compiled = compiled;
      this.byType = byType;
      this.memberships = memberships;
    })();
    return this.loaded;
  }

  /**
   * Who runs function-judged rules (the service's function rule runner).
   * Without one, such rules keep the results they have.
   */
  setFunctionRunner(runner: ((requests: FunctionRuleRequest[]) => void) | undefined): void {
    this.functionRunner = runner;
  }

  private handOverFunctionRequests(): void {
    const reqs = this.functionRequests;
    if (!reqs.length) return;
    this.functionRequests = [];
    if (!this.functionRunner) {
      this.log.warn('rules judged by functions were not evaluated: no function runner here (the service runs them)', {
        rules: [...new Set(reqs.map((r) => r.rule.name))],
      });
      return;
    }
    this.functionRunner(reqs);
  }

  /**
   * Writes the verdict a rule's function gave for a resource as it was at
   * `ciId`. Ignored (false) when the resource has changed since (its newer
   * item is being judged), was deleted, or left the rule's scope, or when the
   * rule is no longer judged by a function.
   */
  putFunctionVerdict(req: { ruleId: string; key: ResourceKey; ciId: number }, verdict: Verdict): Promise<boolean> {
    return this.enqueue(async () => {
      await this.ensureLoaded();
      const rule = this.compiled.find((c) => c.rule.ruleId === req.ruleId);
      if (!rule?.external) return false;
      const [s] = await this.subjectsOf(req.key);
      if (!s || s.deleted || Number(s.ciId) !== Number(req.ciId) || !rule.inScope(s)) return false;
      const existing = await this.existingFor([s], [rule]);
      await this.write([{ rule, subject: s, previous: existing.get(keyOf(rule.rule.ruleId, s)), verdict }], new Date());
      return true;
    });
  }

  /** Follow a recorder's configuration items, and run periodic rules on their schedule. */
  attach(recorder: Recorder, opts: { schedulerMs?: number } = {}): void {
    recorder.on('recorded', this.onRecorded);
    const every = opts.schedulerMs ?? 5000;
    if (every > 0) {
      this.timer = setInterval(() => void this.runDuePeriodic().catch((err: Error) => this.log.error('periodic evaluation failed', { err })), every);
      this.timer.unref();
    }
  }

  detach(recorder: Recorder): void {
    recorder.off('recorded', this.onRecorded);
    if (this.timer) clearInterval(this.timer);
    this.rules.off('changed', this.onRulesChanged);
    this.groups?.off('changed', this.onGroupsChanged);
  }

  /**
   * Resolves account groups' members again and re-evaluates the rules scoped
   * to the named groups and to every group whose members changed, so results
   * of accounts that left a group close and those of accounts that joined
   * appear. Called when a group changes (the store's 'changed' event) and
   * when the organization may have (an estate loaded).
   */
  refreshGroups(names: string[] = []): Promise<EvaluationSummary> {
    return this.enqueue(async () => {
      let before: Map<string, Set<string>> | undefined;
      if (this.loaded) {
        try {
          await this.loaded;
          before = this.memberships;
        } catch {
          before = undefined;
        }
      }
      this.loaded = undefined;
      await this.ensureLoaded();
      const after = this.memberships;
      const same = (a: Set<string> | undefined, b: Set<string> | undefined) => !!a && !!b && a.size === b.size && [...a].every((x) => b.has(x));
      const changed = new Set(names);
      for (const g of new Set([...(before?.keys() ?? []), ...after.keys()])) if (!before || !same(before.get(g), after.get(g))) changed.add(g);
      // Never loaded here: results may come from another process's view, so every group rule is judged again.
      const rules = this.compiled.filter((c) => c.rule.scope.accountGroup !== undefined && (!before || changed.has(c.rule.scope.accountGroup)));
      return this.fullEvaluation(rules);
    });
  }

  // --- on change -----------------------------------------------------------

  private async evaluateChanges(events: RecordedEvent[]): Promise<void> {
    await this.ensureLoaded();
    // The latest item per resource; only resources some change-triggered rule covers.
    const latest = new Map<string, RecordedEvent>();
    for (const ev of events) {
      if (!(this.byType.get(ev.resourceType) ?? []).some((c) => c.onChange)) continue;
      const k = keyOf('', ev);
      const prev = latest.get(k);
      if (!prev || prev.ciId < ev.ciId) latest.set(k, ev);
    }
    if (latest.size === 0) return;
    const subjects: Subject[] = [];
    const unread: number[] = [];
    for (const ev of latest.values()) {
      if (ev.state === undefined) unread.push(ev.ciId);
      else
        subjects.push({
          accountId: ev.accountId,
          regionId: ev.regionId,
          resourceType: ev.resourceType,
          resourceId: ev.resourceId,
          resourceName: ev.state?.resourceName ?? null,
          tags: ev.state?.tags ?? {},
          configuration: ev.state?.configuration ?? null,
          ciId: ev.ciId,
          capturedAt: ev.capturedAt,
          deleted: ev.state === null,
        });
    }
    for (const ids of chunks(unread, 2000)) {
      const rows = await this.db.query<SubjectRow>(
        `SELECT c.account_id, c.region_id, c.resource_type, c.resource_id, c.resource_name, c.tags, c.status, c.id AS ci_id, c.captured_at, c.configuration
         FROM configuration_items c WHERE c.id = ANY($1::bigint[])`,
        [ids],
      );
      subjects.push(...rows.map(toSubject));
    }
    const rules = [...new Set(subjects.flatMap((s) => (this.byType.get(s.resourceType) ?? []).filter((c) => c.onChange)))];
    const existing = await this.existingFor(subjects, rules);
    const now = new Date();
    const writes = this.judge(subjects, rules, existing, false, undefined, { messageType: 'ConfigurationItemChangeNotification', invokedAt: now });
    await this.write(writes, now);
    this.handOverFunctionRequests();
  }

  // --- full evaluations ---------------------------------------------------

  /** Evaluates rules (by name; default every active rule) over their whole scope. */
  evaluateRules(names?: string[], opts: { onProgress?: (done: number, total: number) => void } = {}): Promise<EvaluationSummary> {
    return this.enqueue(async () => {
      await this.ensureLoaded();
      let rules = this.compiled;
      if (names) {
        const all = await this.rules.list();
        for (const n of names) if (!all.some((r) => r.name === n || r.ruleId === n)) throw new Error(`no rule named "${n}"`);
        rules = this.compiled.filter((c) => names.includes(c.rule.name) || names.includes(c.rule.ruleId));
        // Inactive rules named explicitly: nothing to evaluate, say so through the summary.
      }
      return this.fullEvaluation(rules, opts.onProgress);
    });
  }

  /** Re-evaluates one resource under every rule whose scope matches it. */
  evaluateResource(key: ResourceKey): Promise<EvaluationSummary> {
    return this.enqueue(async () => {
      const started = Date.now();
      await this.ensureLoaded();
      const rules = this.byType.get(key.resourceType) ?? [];
      const subjects = await this.subjectsOf(key);
      const existing = await this.existingFor(subjects, rules);
      const counter = { evaluations: 0 };
      const writes = this.judge(subjects, rules, existing, false, counter, {
        messageType: 'ConfigurationItemChangeNotification',
        invokedAt: new Date(started),
      });
      const { changed, closed } = await this.write(writes, new Date(started));
      this.handOverFunctionRequests();
      if (rules.length && subjects.length) this.emit('evaluated', { ruleIds: rules.map((r) => r.rule.ruleId), keys: [key] } satisfies EvaluatedEvent);
      return { rules: rules.length, resources: subjects.length, evaluations: counter.evaluations, changed, closed, durationMs: Date.now() - started };
    });
  }

  /** One resource as recorded now (none when it was never recorded). */
  private async subjectsOf(key: ResourceKey): Promise<Subject[]> {
    const rows = await this.db.query<SubjectRow>(
      `${SUBJECT_SQL} WHERE r.account_id = $1 AND r.region_id = $2 AND r.resource_type = $3 AND r.resource_id = $4`,
      [key.accountId, key.regionId, key.resourceType, key.resourceId],
    );
    return rows.map(toSubject);
  }

  /** The current result of a rule for one resource (empty when it has none). */
  async resultFor(ruleId: string, key: ResourceKey): Promise<Existing[]> {
    return this.db.query<Existing>(
      `SELECT compliance_type, annotation, ci_id FROM evaluation_results WHERE rule_id = $1 AND account_id = $2 AND region_id = $3 AND resource_type = $4 AND resource_id = $5`,
      [ruleId, key.accountId, key.regionId, key.resourceType, key.resourceId],
    );
  }

  /** Runs the periodic rules whose time has come. */
  async runDuePeriodic(now = new Date()): Promise<string[]> {
    const due = await this.rules.duePeriodic(now);
    if (due.length === 0) return [];
    await this.evaluateRules(due);
    return due;
  }

  private async fullEvaluation(rules: CompiledRule[], onProgress?: (done: number, total: number) => void): Promise<EvaluationSummary> {
    const started = new Date();
    const summary: EvaluationSummary = { rules: rules.length, resources: 0, evaluations: 0, changed: 0, closed: 0, durationMs: 0 };
    if (rules.length === 0) return summary;
    const ruleIds = rules.map((r) => r.rule.ruleId);
    const types = [...new Set(rules.flatMap((r) => [...r.types]))];
    const byType = new Map<string, CompiledRule[]>();
    for (const r of rules) for (const t of r.types) byType.set(t, [...(byType.get(t) ?? []), r]);

    // Every current result of these rules; whatever is not visited below is closed.
    const existing = new Map<string, Existing>();
    const rows = await this.db.query<
      ResourceKey & Existing & { rule_id: string; account_id: string; region_id: string; resource_type: string; resource_id: string }
    >(
      'SELECT rule_id, account_id, region_id, resource_type, resource_id, compliance_type, annotation, ci_id FROM evaluation_results WHERE rule_id = ANY($1::text[])',
      [ruleIds],
    );
    for (const r of rows)
      existing.set(keyOf(r.rule_id, { accountId: r.account_id, regionId: r.region_id, resourceType: r.resource_type, resourceId: r.resource_id }), r);

    const [{ n: total } = { n: 0 }] = await this.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM resources WHERE status <> 'ResourceDeleted' AND resource_type = ANY($1::text[])`,
      [types],
    );
    const counter = { evaluations: 0 };
    const visited = new Set<string>();
    // Type by type, in key order: the (type, account, region, id) index serves
    // both the filter and the order, so each page is an index range scan
    // whatever the planner's statistics.
    for (const type of types) {
      const rs = byType.get(type) ?? [];
      let after: string[] | null = null;
      for (;;) {
        // One JSON text per page, parsed once: decoding thousands of rows column
        // by column costs the embedded store more than the evaluation itself.
        const [pageRow]: { j: string | null }[] = await this.db.query<{ j: string | null }>(
          `SELECT json_agg(json_build_array(r.account_id, r.region_id, r.resource_id, r.resource_name, r.tags, r.ci_id, r.captured_at, c.configuration)
                           ORDER BY r.account_id, r.region_id, r.resource_id)::text AS j
           FROM (SELECT account_id, region_id, resource_id, resource_name, tags, ci_id, captured_at FROM resources
                 WHERE resource_type = $1 AND status <> 'ResourceDeleted'
                 ${after ? 'AND (account_id, region_id, resource_id) > ($2, $3, $4)' : ''}
                 ORDER BY account_id, region_id, resource_id LIMIT 5000) r
           CROSS JOIN LATERAL (SELECT configuration FROM configuration_items WHERE id = r.ci_id) c`,
          after ? [type, ...after] : [type],
        );
        const page = JSON.parse(pageRow?.j ?? '[]') as [string, string, string, string | null, Tags, number, string, Configuration][];
        if (page.length === 0) break;
        const subjects: Subject[] = page.map(([accountId, regionId, resourceId, resourceName, tags, ciId, capturedAt, configuration]) => ({
          accountId,
          regionId,
          resourceType: type,
          resourceId,
          resourceName,
          tags,
          ciId,
          configuration,
          capturedAt: new Date(capturedAt),
          deleted: false,
        }));
        const writes: ResultWrite[] = [];
        for (const s of subjects) {
          for (const w of this.judge([s], rs, existing, true, counter, { messageType: 'ScheduledNotification', invokedAt: started })) writes.push(w);
          for (const r of rs) visited.add(keyOf(r.rule.ruleId, s));
        }
        summary.resources += subjects.length;
        const out = await this.write(writes, started);
        this.handOverFunctionRequests();
        summary.changed += out.changed;
        summary.closed += out.closed;
        const last = page[page.length - 1]!;
        after = [last[0], last[1], last[2]];
        onProgress?.(summary.resources, total);
      }
    }
    // Results of resources deleted or no longer of these types: close them.
    const closing: ResultWrite[] = [];
    for (const [k, ex] of existing) {
      if (visited.has(k)) continue;
      const [ruleId, accountId, regionId, resourceType, resourceId] = k.split('\u0001') as [string, string, string, string, string];
      const rule = rules.find((r) => r.rule.ruleId === ruleId)!;
      closing.push({ rule, subject: { accountId, regionId, resourceType, resourceId, ciId: null, capturedAt: started }, previous: ex, verdict: null });
    }
    const out = await this.write(closing, started);
    summary.closed += out.closed;
    summary.changed += out.changed;
    await this.rules.markEvaluated(
      rules.map((r) => ({ ruleId: r.rule.ruleId, periodicSeconds: r.periodicSeconds })),
      started,
    );
    summary.evaluations = counter.evaluations;
    summary.durationMs = Date.now() - started.getTime();
    this.log.info('rules evaluated', { ...summary, ruleNames: rules.map((r) => r.rule.name) });
    // Results that stayed NON_COMPLIANT are news to automatic remediation too.
    this.emit('evaluated', { ruleIds } satisfies EvaluatedEvent);
    return summary;
  }

  // --- judging and writing -----------------------------------------------

  private async existingFor(subjects: Subject[], rules: CompiledRule[]): Promise<Map<string, Existing>> {
    const out = new Map<string, Existing>();
    if (subjects.length === 0 || rules.length === 0) return out;
    type Row = Existing & { rule_id: string; account_id: string; region_id: string; resource_type: string; resource_id: string };
    const one = subjects.length === 1 ? subjects[0]! : undefined;
    const rows = one
      ? await this.db.query<Row>(
          `SELECT rule_id, account_id, region_id, resource_type, resource_id, compliance_type, annotation, ci_id FROM evaluation_results
           WHERE account_id = $1 AND region_id = $2 AND resource_type = $3 AND resource_id = $4 AND rule_id = ANY($5::text[])`,
          [one.accountId, one.regionId, one.resourceType, one.resourceId, rules.map((r) => r.rule.ruleId)],
        )
      : await this.db.query<Existing & { rule_id: string; account_id: string; region_id: string; resource_type: string; resource_id: string }>(
          `SELECT e.rule_id, e.account_id, e.region_id, e.resource_type, e.resource_id, e.compliance_type, e.annotation, e.ci_id
       FROM evaluation_results e JOIN json_to_recordset($1::json) AS k(a text, r text, t text, i text)
         ON e.account_id = k.a AND e.region_id = k.r AND e.resource_type = k.t AND e.resource_id = k.i
       WHERE e.rule_id = ANY($2::text[])`,
          [JSON.stringify(subjects.map((s) => ({ a: s.accountId, r: s.regionId, t: s.resourceType, i: s.resourceId }))), rules.map((r) => r.rule.ruleId)],
        );
    for (const r of rows)
      out.set(keyOf(r.rule_id, { accountId: r.account_id, regionId: r.region_id, resourceType: r.resource_type, resourceId: r.resource_id }), r);
    return out;
  }

  /** Verdicts (or closings) for subjects under rules; a rule that throws gives INSUFFICIENT_DATA for that resource only. */
  private judge(
    subjects: Subject[],
    rules: CompiledRule[],
    existing: Map<string, Existing>,
    onlyChanges: boolean,
    counter = { evaluations: 0 },
    why: Pick<FunctionRuleRequest, 'messageType' | 'invokedAt'> = { messageType: 'ConfigurationItemChangeNotification', invokedAt: new Date() },
  ): ResultWrite[] {
    const out: ResultWrite[] = [];
    for (const s of subjects) {
      for (const rule of rules) {
        if (!rule.types.has(s.resourceType)) continue;
        const previous = existing.get(keyOf(rule.rule.ruleId, s));
        let verdict: Verdict | null;
        if (s.deleted || !s.configuration || !rule.inScope(s)) {
          if (!previous) continue;
          verdict = null;
        } else if (rule.external) {
          // Judged by a function, asynchronously: its verdict is written when it answers.
          counter.evaluations++;
          this.functionRequests.push({
            rule: rule.rule,
            functionName: rule.external.functionName,
            resource: {
              accountId: s.accountId,
              regionId: s.regionId,
              resourceType: s.resourceType,
              resourceId: s.resourceId,
              resourceName: s.resourceName,
              tags: s.tags,
              configuration: s.configuration,
              ciId: s.ciId,
              capturedAt: s.capturedAt,
            },
            ...why,
          });
          continue;
        } else {
          counter.evaluations++;
          try {
            verdict = rule.evaluate({
              accountId: s.accountId,
              regionId: s.regionId,
              resourceType: s.resourceType,
              resourceId: s.resourceId,
              resourceName: s.resourceName,
              tags: s.tags,
              configuration: s.configuration,
            });
          } catch (err) {
            verdict = { complianceType: 'INSUFFICIENT_DATA', annotation: `the rule failed on this resource: ${(err as Error).message}` };
          }
        }
        const w: ResultWrite = { rule, subject: s, previous, verdict };
        if (!onlyChanges || this.differs(w)) out.push(w);
      }
    }
    return out;
  }

  private differs(w: ResultWrite): boolean {
    if (!w.verdict) return w.previous !== undefined;
    return (
      !w.previous ||
      w.previous.compliance_type !== w.verdict.complianceType ||
      w.previous.annotation !== w.verdict.annotation ||
      this.changedWhileNonCompliant(w)
    );
  }

  /**
   * The configuration changed and the resource is still NON_COMPLIANT: worth
   * its own event, since automatic remediation that gave up on a resource
   * tries again once it changes.
   */
  private changedWhileNonCompliant(w: ResultWrite): boolean {
    return (
      w.verdict?.complianceType === 'NON_COMPLIANT' &&
      w.previous?.compliance_type === 'NON_COMPLIANT' &&
      w.subject.ciId !== null &&
      w.previous.ci_id !== null &&
      w.subject.ciId !== w.previous.ci_id
    );
  }

  /** Writes results whose verdict differs; a changed compliance type (or a close) also gets a timeline entry and an event. */
  private async write(writes: ResultWrite[], invokedAt: Date): Promise<{ changed: number; closed: number }> {
    const changedWrites = writes.filter((w) => this.differs(w));
    if (changedWrites.length === 0) return { changed: 0, closed: 0 };
    const recordedAt = new Date();
    const upserts = changedWrites.filter((w) => w.verdict);
    const closes = changedWrites.filter((w) => !w.verdict);
    const timeline = changedWrites.filter((w) => !w.verdict || w.previous?.compliance_type !== w.verdict.complianceType);
    const k = (w: ResultWrite) => ({
      u: w.rule.rule.ruleId,
      a: w.subject.accountId,
      r: w.subject.regionId,
      t: w.subject.resourceType,
      i: w.subject.resourceId,
    });
    // One statement per batch: results upserted and deleted, timeline appended,
    // from one parsed parameter (atomic, and one round trip).
    const rowsOf = (list: ResultWrite[]) =>
      list.map((w) => ({
        ...k(w),
        c: w.verdict?.complianceType ?? 'NOT_APPLICABLE',
        p: w.previous?.compliance_type ?? null,
        n: w.verdict?.annotation ?? "result closed: the resource was deleted or left the rule's scope",
        ci: w.subject.ciId,
        o: w.subject.capturedAt,
        del: !w.verdict,
        tl: !w.verdict || w.previous?.compliance_type !== w.verdict.complianceType,
      }));
    for (const batch of chunks(changedWrites, 5000)) {
      const rows = rowsOf(batch);
      // Only the parts this batch needs: a DELETE joined with nothing to
      // delete would still scan the whole results table.
      const parts: string[] = [];
      if (rows.some((r) => !r.del))
        parts.push(`up AS (
           INSERT INTO evaluation_results AS e (rule_id, account_id, region_id, resource_type, resource_id, compliance_type, annotation, ci_id, ordering_at, invoked_at, recorded_at)
           SELECT u, a, r, t, i, c, n, ci, o, $2, $3 FROM x WHERE NOT del
           ON CONFLICT (rule_id, account_id, region_id, resource_type, resource_id) DO UPDATE SET
             compliance_type = EXCLUDED.compliance_type, annotation = EXCLUDED.annotation, ci_id = EXCLUDED.ci_id,
             ordering_at = EXCLUDED.ordering_at, invoked_at = EXCLUDED.invoked_at, recorded_at = EXCLUDED.recorded_at
           RETURNING 1)`);
      if (rows.some((r) => r.del))
        parts.push(`gone AS (
           DELETE FROM evaluation_results e USING x
           WHERE x.del AND e.rule_id = x.u AND e.account_id = x.a AND e.region_id = x.r AND e.resource_type = x.t AND e.resource_id = x.i
           RETURNING 1)`);
      if (rows.some((r) => r.tl))
        parts.push(`tl AS (
           INSERT INTO evaluation_timeline (rule_id, account_id, region_id, resource_type, resource_id, compliance_type, previous_compliance_type, annotation, ci_id, closed, ordering_at, invoked_at, recorded_at)
           SELECT u, a, r, t, i, c, p, n, ci, del, o, $2, $3 FROM x WHERE tl
           RETURNING 1)`);
      await this.db.query(
        `WITH x AS MATERIALIZED (
           SELECT * FROM json_to_recordset($1::json) AS x(u text, a text, r text, t text, i text, c text, p text, n text, ci bigint, o timestamptz, del boolean, tl boolean)),
         ${parts.join(',\n         ')}
         SELECT 1`,
        [JSON.stringify(rows), invokedAt, recordedAt],
      );
    }
    const again = this.listenerCount('still-non-compliant') > 0 ? changedWrites.filter((w) => this.changedWhileNonCompliant(w)) : [];
    for (const [name, list] of [
      ['compliance-change', this.listenerCount('compliance-change') > 0 ? timeline : []],
      ['still-non-compliant', again],
    ] as const) {
      for (const w of list) {
        const ev: ComplianceChange = {
          accountId: w.subject.accountId,
          regionId: w.subject.regionId,
          resourceType: w.subject.resourceType,
          resourceId: w.subject.resourceId,
          ruleId: w.rule.rule.ruleId,
          ruleName: w.rule.rule.name,
          riskLevel: w.rule.rule.riskLevel,
          previous: w.previous?.compliance_type ?? null,
          current: w.verdict?.complianceType ?? null,
          annotation: w.verdict?.annotation ?? 'result closed',
          ciId: w.subject.ciId,
          recordedAt,
        };
        this.emit(name, ev);
      }
    }
    return { changed: upserts.length, closed: closes.length };
  }
}

export type { Rule };
