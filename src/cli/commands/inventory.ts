import type { Command } from 'commander';
import pc from 'picocolors';
import { client, globals, print, printJson } from '../context.js';
import { collect, intOption } from '../options.js';
import { diffLines, statusColor, table, time, yaml } from '../format.js';
import { discoveryProgress, type DiscoveryProgressLine } from '../progress.js';
import type { ConfigurationItem, InventoryResource, SnapshotSummary } from '../../inventory/index.js';

interface Narrow {
  account?: string;
  region?: string;
  type?: string;
}

const narrowQuery = (o: Narrow) => ({ accountId: o.account, regionId: o.region, resourceType: o.type });

function addNarrowOptions(cmd: Command): Command {
  return cmd
    .option('--account <id>', 'account id, when the resource id is not unique')
    .option('--region <id>', 'region id, when the resource id is not unique')
    .option('--type <type>', 'resource type, when the resource id is not unique');
}

export function inventoryCommands(program: Command, get: Command) {
  get
    .command('resources')
    .description('List recorded resources, filtered')
    .option('--provider <name>', 'only what this provider recorded (sandbox, aws, … as named in confix.yaml)')
    .option('--account <id>', 'only this account')
    .option('--region <id>', 'only this region')
    .option('--type <type>', 'only this resource type, e.g. ACS::ECS::SecurityGroup')
    .option('--id <id>', 'only this resource id (a trailing * matches a prefix)')
    .option('--tag <key[=value]>', 'only resources with this tag (repeatable)', collect)
    .option('--include-deleted', 'include resources recorded as deleted')
    .option('--limit <n>', 'at most this many', intOption('--limit', 1, 5000), 100)
    .option('--all', 'every matching resource, page after page')
    .action(async (o: Narrow & { provider?: string; id?: string; tag?: string[]; includeDeleted?: boolean; limit: number; all?: boolean }, cmd: Command) => {
      const api = client(cmd);
      const items: InventoryResource[] = [];
      let cursor: string | undefined;
      let total = 0;
      do {
        const page = await api.get<{ items: InventoryResource[]; total: number; nextCursor: string | null }>('/resources', {
          ...narrowQuery(o),
          provider: o.provider,
          resourceId: o.id,
          tag: o.tag,
          includeDeleted: o.includeDeleted ? 'true' : undefined,
          limit: o.all ? 5000 : o.limit,
          cursor,
        });
        items.push(...page.items);
        total = page.total;
        cursor = page.nextCursor ?? undefined;
      } while (o.all && cursor);
      if (globals(cmd).json) return printJson({ total, items });
      if (items.length === 0) return print('no resources match');
      // The provider column once there is more than one provider among them.
      const several = new Set(items.map((r) => r.provider)).size > 1;
      print(
        table(
          [...(several ? ['PROVIDER'] : []), 'ACCOUNT', 'REGION', 'TYPE', 'ID', 'NAME', 'STATUS', 'CAPTURED'],
          items.map((r) => [
            ...(several ? [r.provider] : []),
            r.accountId,
            r.regionId,
            r.resourceType,
            r.resourceId,
            r.resourceName,
            statusColor(r.status),
            time(r.capturedAt),
          ]),
        ),
      );
      if (items.length < total) print(pc.dim(`showing ${items.length} of ${total}; use --limit, --all or filters`));
    });

  addNarrowOptions(get.command('resource <id>').description("Show a resource's current configuration")).action(async (id: string, o: Narrow, cmd: Command) => {
    const r = await client(cmd).get<InventoryResource>(`/resources/${encodeURIComponent(id)}`, narrowQuery(o));
    if (globals(cmd).json) return printJson(r);
    print(`${pc.bold(r.resourceId)}  ${r.resourceType}${r.resourceName ? `  "${r.resourceName}"` : ''}`);
    print(`  account ${r.accountId}  region ${r.regionId}  status ${statusColor(r.status)}  version ${r.version}  captured ${time(r.capturedAt)}`);
    if (Object.keys(r.tags).length)
      print(
        `  tags: ${Object.entries(r.tags)
          .map(([k, v]) => `${k}=${v}`)
          .join(', ')}`,
      );
    print(pc.dim('configuration:'));
    print(r.configuration ? yaml(r.configuration).replace(/^/gm, '  ') : '  (none: the resource is deleted)');
  });

  addNarrowOptions(
    program
      .command('history <id>')
      .description("A resource's configuration timeline, newest first, with the diff of each change")
      .option('--limit <n>', 'at most this many items', intOption('--limit', 1, 1000), 20)
      .option('--full', "print each item's whole configuration too"),
  ).action(async (id: string, o: Narrow & { limit: number; full?: boolean }, cmd: Command) => {
    const res = await client(cmd).get<{ resource: InventoryResource; items: ConfigurationItem[] }>(`/resources/${encodeURIComponent(id)}/history`, {
      ...narrowQuery(o),
      limit: o.limit,
    });
    if (globals(cmd).json) return printJson(res);
    const r = res.resource;
    print(`${pc.bold(r.resourceId)}  ${r.resourceType}  ${r.accountId}/${r.regionId}  (${r.version} configuration item${r.version === 1 ? '' : 's'})`);
    for (const ci of res.items) {
      print(`\n${pc.bold(`v${ci.version}`)}  ${time(ci.capturedAt)}  ${statusColor(ci.status)}  ${pc.dim(`via ${ci.source}`)}`);
      if (ci.status === 'ResourceDiscovered' && ci.version === 1) print(pc.dim('    first recorded'));
      else if (ci.diff.length === 0) print(pc.dim('    (tags changed)'));
      else print(diffLines(ci.diff).join('\n'));
      if (o.full && ci.configuration) print(yaml(ci.configuration).replace(/^/gm, '      '));
    }
    if (res.items.length < r.version) print(pc.dim(`\n… ${r.version - res.items.length} older item(s); use --limit`));
  });

  program
    .command('discover')
    .description(
      'Take a full snapshot now: every provider the service governs (the sandbox, the AWS entries of confix.yaml), or the given provider, accounts and types',
    )
    .option('--provider <name>', 'only this provider (its name in confix.yaml: sandbox, aws, …)')
    .option('--account <id>', 'only this account (repeatable)', collect)
    .option('--type <type>', 'only this resource type (repeatable)', collect)
    .addHelpText(
      'after',
      '\nProgress (scopes read, resources found, refusals) goes to stderr as the service reads; the summary and every refused scope follow.\n\nExamples:\n  confix discover\n  confix discover --provider aws --type AWS::S3::Bucket --json',
    )
    .action(async (o: { provider?: string; account?: string[]; type?: string[] }, cmd: Command) => {
      const body = { provider: o.provider, accountIds: o.account, resourceTypes: o.type };
      const json = globals(cmd).json;
      const progress = json ? undefined : discoveryProgress();
      let s: SnapshotSummary & { providers?: SnapshotSummary[] };
      try {
        s = await client(cmd).postStreaming('/discovery', body, (l: DiscoveryProgressLine) => progress?.line(l));
      } finally {
        progress?.stop();
      }
      if (json) return printJson(s);
      const line = (x: SnapshotSummary) =>
        `${x.resources} resources in ${x.scopes} scopes: ${x.created} new, ${x.updated} changed, ${x.deleted} deleted, ${x.unchanged} unchanged (${(x.durationMs / 1000).toFixed(1)} s)`;
      const each = s.providers ?? [s];
      if (each.length === 1) print(`snapshot (${each[0]!.provider}): ${line(each[0]!)}`);
      else {
        print(`snapshot: ${line(s)}`);
        for (const p of each) print(`  ${p.provider}: ${line(p)}`);
      }
      // A read role without a permission: say which scopes kept their last recorded state, and why.
      for (const r of s.refused ?? []) print(`refused: ${r.accountId}/${r.regionId} ${r.resourceType} kept as last recorded: ${r.code}: ${r.message}`);
    });
}
