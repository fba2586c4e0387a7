import type { Command } from 'commander';
import { collect, distinctPaths } from '../options.js';
import pc from 'picocolors';
import { print, printJson, globals } from '../context.js';
import { table } from '../format.js';
import { progressBar } from '../progress.js';
import { readEstateFile } from '../../providers/index.js';
import { describePolicyProblems, readPolicyDocuments } from '../../policy/files.js';
import { PolicyValidationError } from '../../policy/plan.js';
import { scan } from '../../scan.js';

export function scanCommand(program: Command) {
  program
    .command('scan')
    .description('One shot, no service: load an estate into a fresh sandbox, apply policies, evaluate, report (exit 0 even when resources are non-compliant)')
    .requiredOption('--estate <file>', 'estate file (YAML or JSON)')
    .requiredOption('--policies <path>', 'a policy file or a directory of them; repeat --policies for more (they add up)', collect)
    .option('--remediate', "then run every rule's remediation on what it found (no grace period, no approval), and evaluate again")
    .action(async (o: { estate: string; policies: string[]; remediate?: boolean }, cmd: Command) => {
      const json = globals(cmd).json;
      const { raw, lineOf } = await readEstateFile(o.estate);
      const docs = readPolicyDocuments(distinctPaths(o.policies));
      const bars: Record<string, ReturnType<typeof progressBar>> = {};
      let report;
      try {
        report = await scan({
          estate: raw,
          estateSource: o.estate,
          estateLineOf: lineOf,
          policies: docs.map((d) => ({ source: d.source, kind: d.kind, body: d.body })),
          remediate: o.remediate,
          onProgress: json
            ? undefined
            : (phase, done, total) => {
                const bar = (bars[phase] ??= progressBar(phase === 'record' ? 'recording ' : 'evaluating', total));
                bar.update(done);
                if (done >= total) bar.stop();
              },
        });
      } catch (err) {
        if (err instanceof PolicyValidationError) throw new Error(describePolicyProblems(docs, err.issues));
        throw err;
      } finally {
        for (const b of Object.values(bars)) b.stop();
      }
      if (json) return printJson(report);
      print(`scanned ${report.resources} resources with ${report.rules.length} rules: ${report.evaluations} evaluations\n`);
      print(
        table(
          ['RULE', 'NON_COMPLIANT', 'COMPLIANT', 'N/A', 'INSUFFICIENT'],
          (report.before ?? report.rules).map((r) => [r.name, r.nonCompliant ? pc.red(String(r.nonCompliant)) : '0', r.compliant, r.notApplicable, r.insufficientData]),
        ),
      );
      if (report.remediations) {
        print(`\nremediation: ${report.remediations.filter((x) => x.status === 'SUCCEEDED').length} succeeded, ${report.remediations.filter((x) => x.status === 'FAILED').length} failed, ${report.remediations.filter((x) => x.status === 'NOT_STARTED').length} not started`);
        for (const x of report.remediations) if (x.error) print(pc.dim(`  ${x.rule} ${x.resourceId}: ${x.status}: ${x.error}`));
        print(`\nafter remediation:`);
        print(table(['RULE', 'NON_COMPLIANT', 'COMPLIANT'], report.rules.map((r) => [r.name, r.nonCompliant ? pc.red(String(r.nonCompliant)) : '0', r.compliant])));
      }
      for (const r of report.rules) {
        if (!r.nonCompliantResources.length) continue;
        print(`\n${pc.bold(r.name)}: ${r.nonCompliant} non-compliant`);
        for (const x of r.nonCompliantResources.slice(0, 20)) print(`  ${x.resourceType} ${x.resourceId} (${x.accountId}/${x.regionId}): ${x.annotation}`);
        if (r.nonCompliantResources.length > 20) print(pc.dim(`  … ${r.nonCompliantResources.length - 20} more (--json lists them all)`));
      }
    });
}
