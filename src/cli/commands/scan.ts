import type { Command } from 'commander';
import { collect, distinctPaths } from '../options.js';
import pc from 'picocolors';
import { print, printJson, globals } from '../context.js';
import { table } from '../format.js';
import { progressBar } from '../progress.js';
import { createAwsProvider, readEstateFile, type Provider } from '../../providers/index.js';
import { describePolicyProblems, readPolicyDocuments } from '../../policy/files.js';
import { PolicyValidationError } from '../../policy/plan.js';
import { scan } from '../../scan.js';

interface ScanOptions {
  estate?: string;
  provider?: string;
  profile?: string;
  regions?: string;
  organizationRole?: string;
  organization?: boolean;
  policies: string[];
  remediate?: boolean;
}

export function scanCommand(program: Command) {
  program
    .command('scan')
    .description(
      'One shot, no service: load an estate into a fresh sandbox (or discover a real cloud with --provider aws), apply policies, evaluate, report (exit 0 even when resources are non-compliant)',
    )
    .option('--estate <file>', 'estate file (YAML or JSON) for the sandbox')
    .option(
      '--provider <kind>',
      'discover a real cloud instead of an estate: aws (its credentials from the SDK chain: AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL, …)',
    )
    .option('--profile <name>', 'with --provider aws: this profile of ~/.aws/config')
    .option('--regions <list>', 'with --provider aws: these regions, comma-separated (default: every enabled region)')
    .option('--organization-role <name>', 'with --provider aws: read member accounts through this role (default OrganizationAccountAccessRole)')
    .option('--no-organization', 'with --provider aws: only the account of the credentials, not its organization')
    .requiredOption('--policies <path>', 'a policy file or a directory of them; repeat --policies for more (they add up)', collect)
    .option('--remediate', "then run every rule's remediation on what it found (no grace period, no approval), and evaluate again")
    .addHelpText(
      'after',
      `
Examples:
  confix scan --estate examples/estates/demo.yaml --policies examples/policies
  AWS_PROFILE=audit confix scan --provider aws --regions us-east-1,eu-central-1 --policies examples/policies --json
  confix scan --provider aws --policies examples/policies --remediate     # fixes what it finds: read the plan first`,
    )
    .action(async (o: ScanOptions, cmd: Command) => {
      const json = globals(cmd).json;
      if (!o.estate === !o.provider) throw new Error('give --estate FILE (the sandbox) or --provider aws (a real cloud), one of them');
      if (o.provider && o.provider !== 'aws') throw new Error(`--provider takes aws (got "${o.provider}")`);
      if (!o.provider && (o.profile || o.regions || o.organizationRole || o.organization === false))
        throw new Error('--profile, --regions and the organization options go with --provider aws');
      const regions = o.regions
        ?.split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      const { raw, lineOf } = o.estate ? await readEstateFile(o.estate) : { raw: undefined, lineOf: undefined };
      const docs = readPolicyDocuments(distinctPaths(o.policies));
      const bars: Record<string, ReturnType<typeof progressBar>> = {};
      let report;
      try {
        report = await scan({
          ...(o.estate
            ? { estate: raw, estateSource: o.estate, estateLineOf: lineOf }
            : {
                providers: ((aws: Provider) => () => [aws])(
                  await createAwsProvider({
                    profile: o.profile,
                    regions,
                    organization: o.organization === false ? false : o.organizationRole ? { roleName: o.organizationRole } : undefined,
                  }),
                ),
              }),
          policies: docs.map((d) => ({ source: d.source, kind: d.kind, body: d.body })),
          remediate: o.remediate,
          onProgress: json
            ? undefined
            : (phase, done, total) => {
                const bar = (bars[phase] ??= progressBar(phase === 'record' ? (o.estate ? 'recording ' : 'discovering (scopes)') : 'evaluating', total));
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
      for (const r of report.refused ?? []) print(pc.yellow(`refused: ${r.resourceType} in ${r.accountId}/${r.regionId}: ${r.code}: ${r.message}`));
      print(
        table(
          ['RULE', 'NON_COMPLIANT', 'COMPLIANT', 'N/A', 'INSUFFICIENT'],
          (report.before ?? report.rules).map((r) => [
            r.name,
            r.nonCompliant ? pc.red(String(r.nonCompliant)) : '0',
            r.compliant,
            r.notApplicable,
            r.insufficientData,
          ]),
        ),
      );
      if (report.remediations) {
        print(
          `\nremediation: ${report.remediations.filter((x) => x.status === 'SUCCEEDED').length} succeeded, ${report.remediations.filter((x) => x.status === 'FAILED').length} failed, ${report.remediations.filter((x) => x.status === 'NOT_STARTED').length} not started`,
        );
        for (const x of report.remediations) if (x.error) print(pc.dim(`  ${x.rule} ${x.resourceId}: ${x.status}: ${x.error}`));
        print(`\nafter remediation:`);
        print(
          table(
            ['RULE', 'NON_COMPLIANT', 'COMPLIANT'],
            report.rules.map((r) => [r.name, r.nonCompliant ? pc.red(String(r.nonCompliant)) : '0', r.compliant]),
          ),
        );
      }
      for (const r of report.rules) {
        if (!r.nonCompliantResources.length) continue;
        print(`\n${pc.bold(r.name)}: ${r.nonCompliant} non-compliant`);
        for (const x of r.nonCompliantResources.slice(0, 20)) print(`  ${x.resourceType} ${x.resourceId} (${x.accountId}/${x.regionId}): ${x.annotation}`);
        if (r.nonCompliantResources.length > 20) print(pc.dim(`  … ${r.nonCompliantResources.length - 20} more (--json lists them all)`));
      }
    });
}
