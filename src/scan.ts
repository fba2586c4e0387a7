/**
 * One-shot scan: load an estate into a fresh in-memory sandbox, apply
 * policies, evaluate everything, report. No service, no saved state.
 */
import { openEphemeralStore } from './store/ephemeral.js';
import { SandboxCloud } from './providers/sandbox/index.js';
import { Recorder } from './inventory/index.js';
import { RuleStore } from './rules/store.js';
import { Evaluator } from './evaluation/evaluator.js';
import { ComplianceViews } from './evaluation/compliance.js';
import { applyPolicy, type PolicyInput } from './policy/plan.js';

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
}

export interface ScanInput {
  estate: unknown;
  estateSource: string;
  estateLineOf?: (path: (string | number)[]) => number | undefined;
  policies: PolicyInput[];
  onProgress?: (phase: 'record' | 'evaluate', done: number, total: number) => void;
}

export async function scan(input: ScanInput): Promise<ScanReport> {
  const db = await openEphemeralStore();
  try {
    const sandbox = new SandboxCloud(db);
    const recorder = new Recorder(db, [sandbox]);
    const rules = new RuleStore(db);
    const evaluator = new Evaluator(db, rules);
    const compliance = new ComplianceViews(db);
    const load = await sandbox.loadEstate(input.estate, { source: input.estateSource, lineOf: input.estateLineOf });
    // Policies are checked before the slow part, so a bad file fails fast.
    await applyPolicy(db, rules, input.policies);
    await recorder.snapshot(sandbox.name, {
      onProgress: (p) => input.onProgress?.('record', p.resources, load.resources),
    });
    const summary = await evaluator.evaluateRules(undefined, { onProgress: (d, t) => input.onProgress?.('evaluate', d, t) });
    const counts = await compliance.byRule();
    const report: ScanReport = { resources: load.resources, evaluations: summary.evaluations, rules: [] };
    for (const rule of await rules.list()) {
      const c = counts.get(rule.ruleId) ?? { compliant: 0, nonCompliant: 0, notApplicable: 0, insufficientData: 0 };
      const nc = await compliance.results({ ruleId: rule.ruleId, complianceType: 'NON_COMPLIANT', limit: 10000 });
      report.rules.push({
        name: rule.name,
        ...c,
        nonCompliantResources: nc.items.map((r) => ({ accountId: r.accountId, regionId: r.regionId, resourceType: r.resourceType, resourceId: r.resourceId, annotation: r.annotation })),
      });
    }
    return report;
  } finally {
    await db.close();
  }
}
