/**
 * One-shot scan: load an estate into a fresh in-memory sandbox (or discover
 * a real cloud through its provider), apply policies, evaluate everything,
 * report; with remediate, fix and look again. No service, no saved state.
 */
import { openEphemeralStore } from './store/ephemeral.js';
import { applyPolicy, type PolicyInput } from './policy/plan.js';
import { startRemediation } from './remediation/start.js';
import { createEngine } from './engine.js';
import type { Provider, SandboxCloud } from './providers/index.js';
import type { SnapshotSummary } from './inventory/recorder.js';

export interface ScanRuleReport {
  name: string;
  compliant: number;
  nonCompliant: number;
  notApplicable: number;
  insufficientData: number;
  nonCompliantResources: { accountId: string; regionId: string; resourceType: string; resourceId: string; annotation: string }[];
}

export interface ScanReport {
  resources: number;
  evaluations: number;
  rules: ScanRuleReport[];
  /** With remediate: the rules as they were before remediation. */
  before?: ScanRuleReport[];
  /** With remediate: one entry per execution. */
  remediations?: { rule: string; resourceId: string; status: string; error: string | null }[];
  /** Scopes a provider refused to read (a missing permission), with its words. */
  refused?: NonNullable<SnapshotSummary['refused']>;
}

export interface ScanInput {
  /** An estate for the sandbox; or give `providers` to scan real clouds. */
  estate?: unknown;
  estateSource?: string;
  /** The clouds to discover instead of an estate (e.g. an AwsProvider). */
  providers?: (sandbox: SandboxCloud) => Provider[];
  estateLineOf?: (path: (string | number)[]) => number | undefined;
  policies: PolicyInput[];
  /** Run every rule's remediation on its non-compliant resources (automatic and manual alike), then evaluate again. */
  remediate?: boolean;
  onProgress?: (phase: 'record' | 'evaluate', done: number, total: number) => void;
}

export async function scan(input: ScanInput): Promise<ScanReport> {
  const db = await openEphemeralStore();
  let engine: ReturnType<typeof createEngine> | undefined;
  try {
    engine = createEngine(db, { worker: { concurrency: 8 }, ...(input.providers ? { providers: input.providers } : {}) });
    const { sandbox, recorder, rules, evaluator, compliance } = engine;
    const load =
      input.estate !== undefined ? await sandbox.loadEstate(input.estate, { source: input.estateSource ?? 'estate', lineOf: input.estateLineOf }) : undefined;
    // Policies are checked before the slow part, so a bad file fails fast.
    await applyPolicy(engine, input.policies);
    let resources = 0;
    const refused: NonNullable<ScanReport['refused']> = [];
    for (const p of engine.providers.all()) {
      const snap = await recorder.snapshot(p.name, {
        onProgress: (pr) => (load ? input.onProgress?.('record', pr.resources, load.resources) : input.onProgress?.('record', pr.scopesDone, pr.scopes)),
      });
      resources += snap.resources;
      refused.push(...(snap.refused ?? []));
    }
    const summary = await evaluator.evaluateRules(undefined, { onProgress: (d, t) => input.onProgress?.('evaluate', d, t) });
    // Rules judged by functions: a scan deploys none, so they say so (INSUFFICIENT_DATA) rather than stay silent.
    await engine.functionRules.idle();
    const rulesReport = async (): Promise<ScanRuleReport[]> => {
      const counts = await compliance.byRule();
      const out: ScanRuleReport[] = [];
      for (const rule of await rules.list()) {
        const c = counts.get(rule.ruleId) ?? { compliant: 0, nonCompliant: 0, notApplicable: 0, insufficientData: 0 };
        const nc = await compliance.results({ ruleId: rule.ruleId, complianceType: 'NON_COMPLIANT', limit: 10000 });
        out.push({
          name: rule.name,
          ...c,
          nonCompliantResources: nc.items.map((r) => ({
            accountId: r.accountId,
            regionId: r.regionId,
            resourceType: r.resourceType,
            resourceId: r.resourceId,
            annotation: r.annotation,
          })),
        });
      }
      return out;
    };
    const report: ScanReport = {
      resources: load?.resources ?? resources,
      evaluations: summary.evaluations,
      rules: await rulesReport(),
      ...(refused.length ? { refused } : {}),
    };
    if (input.remediate) {
      // No grace period and no approval here: a one-shot scan fixes what it finds, then looks again.
      const { executions, worker } = engine;
      report.remediations = [];
      for (const rule of await rules.list()) {
        if (!rule.remediation || rule.state !== 'ACTIVE') continue;
        const res = await startRemediation(engine, { rule: rule.name, allNonCompliant: true, trigger: 'API', skipApproval: true });
        for (const f of res.failed) report.remediations.push({ rule: rule.name, resourceId: f.resourceId, status: 'NOT_STARTED', error: f.reason });
      }
      await worker.drain();
      for (const x of (await executions.list({ limit: 10000 })).reverse())
        report.remediations.push({
          rule: x.ruleName,
          resourceId: x.resourceId,
          status: x.status,
          error: x.errorCode ? `${x.errorCode}: ${x.errorMessage}` : null,
        });
      const after = await evaluator.evaluateRules();
      report.before = report.rules;
      report.rules = await rulesReport();
      report.evaluations += after.evaluations;
    }
    return report;
  } finally {
    await engine?.providers.close();
    await db.close();
  }
}
