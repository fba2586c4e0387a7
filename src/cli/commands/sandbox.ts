import { InvalidArgumentError, type Command } from 'commander';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import pc from 'picocolors';
import { stringify as toYaml } from 'yaml';
import { client, globals, print, printJson } from '../context.js';
import { floatOption, intOption } from '../options.js';
import { table, yaml } from '../format.js';
import { ApiClientError } from '../client.js';
import { readEstateFile, generateEstate, formatPath, type OrganizationChange } from '../../providers/sandbox/index.js';
import { progressBar } from '../progress.js';

/** What the CLI needs of a parameter's JSON Schema (from GET /sandbox/actions). */
interface ParamSchema {
  type?: string | string[];
  items?: ParamSchema;
  anyOf?: ParamSchema[];
  oneOf?: ParamSchema[];
}
export type ParamSchemas = Record<string, ParamSchema>;

const types = (s: ParamSchema | undefined): string[] =>
  !s ? [] : [...(Array.isArray(s.type) ? s.type : s.type ? [s.type] : []), ...[...(s.anyOf ?? []), ...(s.oneOf ?? [])].flatMap(types)];

/** The schema of an array-typed parameter's items, or undefined when the parameter is not an array. */
function arrayItems(s: ParamSchema | undefined): ParamSchema | undefined {
  if (!s) return undefined;
  if (types(s).includes('array')) return s.items ?? [...(s.anyOf ?? []), ...(s.oneOf ?? [])].find((x) => types(x).includes('array'))?.items ?? {};
  return undefined;
}

/** A value as JSON where it parses as JSON, else the string itself. */
function jsonish(raw: string): unknown {
  if (/^[[{"]|^(true|false|null|-?\d+(\.\d+)?)$/.test(raw)) {
    try {
      return JSON.parse(raw);
    } catch {
      /* a string that only looks like JSON */
    }
  }
  return raw;
}

/** One value of a scalar item or parameter, by its schema: a string stays a string ("0123", "true"), numbers and booleans are read as such. */
function scalar(raw: string, s: ParamSchema | undefined): unknown {
  const t = types(s);
  if (!t.length || !t.every((x) => x === 'string')) return jsonish(raw);
  const v = raw.startsWith('"') ? jsonish(raw) : raw; // "…" in JSON's quotes still works
  return typeof v === 'string' ? v : raw;
}

/**
 * "K=V" arguments into API parameters. A value is JSON where it parses
 * (numbers, booleans, lists, objects), else a string; a parameter the action's
 * schema says is a string stays a string. For a parameter the schema says is
 * an array, `K=a K=b`, `K=a,b` and `K='["a","b"]'` all give ["a", "b"], and
 * one value gives a list of one. Without a schema a repeated key makes a list.
 */
export function parseParams(args: string[], schemas: ParamSchemas = {}): Record<string, unknown> {
  const given = new Map<string, string[]>();
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new Error(`parameter "${a}" is not KEY=VALUE`);
    const k = a.slice(0, i);
    given.set(k, [...(given.get(k) ?? []), a.slice(i + 1)]);
  }
  const out: Record<string, unknown> = {};
  for (const [k, raws] of given) {
    const items = arrayItems(schemas[k]);
    if (items) {
      const listOfScalars = types(items).every((t) => t !== 'object' && t !== 'array');
      out[k] = raws.flatMap((raw) => {
        if (raw.startsWith('[') || raw.startsWith('"')) {
          const v = jsonish(raw);
          if (Array.isArray(v)) return v;
          if (typeof v === 'string') return [v];
        }
        if (!listOfScalars) return [jsonish(raw)];
        return raw === '' ? [] : raw.split(',').map((x) => scalar(x.trim(), items));
      });
    } else {
      const values = raws.map((raw) => scalar(raw, schemas[k]));
      out[k] = values.length === 1 ? values[0] : values;
    }
  }
  return out;
}

export function sandboxCommands(program: Command) {
  const sandbox = program.command('sandbox').description('The embedded emulated cloud: load estates, generate them, call its API');

  sandbox
    .command('load <file>')
    .description('Load an estate file (YAML or JSON) into the sandbox and record it; a bad file is refused whole')
    .option(
      '--replace',
      "delete resources of the file's accounts that it does not list, and let its organization replace the current one even where account groups depend on it",
    )
    .action(async (file: string, o: { replace?: boolean }, cmd: Command) => {
      const { raw, lineOf } = await readEstateFile(file);
      const count = Array.isArray((raw as { resources?: unknown[] })?.resources) ? (raw as { resources: unknown[] }).resources.length : 0;
      const json = globals(cmd).json;
      if (!json && process.stderr.isTTY) process.stderr.write(`loading ${count} resources from ${file}…\n`);
      try {
        const res = await client(cmd).post<{
          load: Record<string, number> & { organization?: OrganizationChange };
          snapshot: { created: number; updated: number; deleted: number; durationMs: number };
        }>('/sandbox/estate', { estate: raw, replace: o.replace ?? false });
        if (json) return printJson(res);
        const l = res.load;
        print(
          `loaded ${file}: ${l.accounts} accounts, ${l.resources} resources (${l.created} new, ${l.updated} changed, ${l.unchanged} unchanged${o.replace ? `, ${l.deleted} deleted` : ''})`,
        );
        const org = l.organization;
        if (org?.changed) {
          const lost = [
            org.removed.managementAccount ? `management account ${org.removed.managementAccount} → ${org.after.managementAccount}` : '',
            org.removed.folders.length ? `folders ${org.removed.folders.join(', ')} removed` : '',
            org.removed.delegatedAdministrators.length ? `delegated administrators ${org.removed.delegatedAdministrators.join(', ')} removed` : '',
          ].filter(Boolean);
          print(
            pc.yellow(
              org.before
                ? `the organization was replaced by the file's${lost.length ? `: ${lost.join('; ')}` : ''} (now: management account ${org.after.managementAccount}, folders ${org.after.folders.join(', ') || 'none'})`
                : `the organization is the file's: management account ${org.after.managementAccount}, folders ${org.after.folders.join(', ') || 'none'}`,
            ),
          );
        }
        print(
          `recorded: ${res.snapshot.created} discovered, ${res.snapshot.updated} changed, ${res.snapshot.deleted} deleted in ${(res.snapshot.durationMs / 1000).toFixed(1)} s`,
        );
      } catch (err) {
        // Point at the file's lines: the service names paths, this side knows the text.
        if (err instanceof ApiClientError && err.code === 'InvalidEstate' && err.body?.issues) {
          const lines = err.body.issues.slice(0, 20).map((i) => {
            const line = lineOf(i.pathSegments);
            return `  ${file}${line ? `:${line}` : ''}: ${formatPath(i.pathSegments)}: ${i.message}`;
          });
          const more = err.body.issues.length > 20 ? [`  … and ${err.body.issues.length - 20} more`] : [];
          throw new Error([`estate ${file} refused; nothing was loaded:`, ...lines, ...more].join('\n'));
        }
        throw err;
      }
    });

  sandbox
    .command('generate')
    .description('Write a realistic generated estate (deterministic for a seed)')
    .requiredOption('--accounts <n>', 'number of accounts', intOption('--accounts', 1, 100_000))
    .requiredOption('--resources <n>', 'number of resources', intOption('--resources', 0, 10_000_000))
    .option('--seed <n>', 'random seed', intOption('--seed'), 1)
    .option('--misconfigured <share>', 'share of resources misconfigured, 0 to 1', floatOption('--misconfigured', 0, 1), 0.2)
    .option('-o, --out <file>', 'write here (.json or .yaml) instead of standard output as YAML')
    .action(async (o: { accounts: number; resources: number; seed: number; misconfigured: number; out?: string }) => {
      const bar = o.out ? progressBar('generating', o.resources) : undefined;
      const estate = generateEstate({
        accounts: o.accounts,
        resources: o.resources,
        seed: o.seed,
        misconfiguredShare: o.misconfigured,
        onProgress: (done) => bar?.update(done),
      });
      bar?.stop();
      const asJson = o.out?.toLowerCase().endsWith('.json');
      const header = `# confix sandbox generate --accounts ${o.accounts} --resources ${o.resources} --seed ${o.seed} --misconfigured ${o.misconfigured}\n`;
      const body = asJson ? JSON.stringify(estate) + '\n' : header + toYaml(estate, { lineWidth: 0 });
      if (!o.out) return void process.stdout.write(body);
      await new Promise<void>((ok, fail) => {
        const s = createWriteStream(o.out!);
        s.on('error', fail);
        s.end(body, () => ok());
      });
      process.stderr.write(`wrote ${estate.resources?.length ?? 0} resources in ${o.accounts} accounts to ${o.out}\n`);
    });

  sandbox
    .command('call <action> [params...]')
    .description(
      'Call a sandbox API action with KEY=VALUE parameters, e.g.\n  confix sandbox call ecs:AuthorizeSecurityGroup SecurityGroupId=sg-web-prod IpProtocol=TCP PortRange=22/22 SourceCidrIp=0.0.0.0/0',
    )
    .option('--account <id>', 'account (needed only to create, or when the id is not unique)')
    .option('--region <id>', 'region (needed only to create, or when the id is not unique)')
    .addHelpText(
      'after',
      `
Parameters use the cloud API's own names (\`confix sandbox actions --json\`
lists each action's parameters as JSON Schema). A value is read as JSON where
it is JSON (numbers, true/false, lists, objects), else as a string; a
parameter the action takes as a string stays a string. A parameter the
action takes as a list accepts the key repeated, a comma-separated list, or
JSON, and one value is a list of one:
  confix sandbox call ec2:StopInstances InstanceIds=i-0a1b2c3d4e5f60002
  confix sandbox call ecs:RevokeSecurityGroup SecurityGroupId=sg-web-prod SecurityGroupRuleId=sgr-1 SecurityGroupRuleId=sgr-2
  confix sandbox call ecs:RevokeSecurityGroup SecurityGroupId=sg-web-prod SecurityGroupRuleId=sgr-1,sgr-2
  confix sandbox call ecs:RevokeSecurityGroup SecurityGroupId=sg-web-prod SecurityGroupRuleId='["sgr-1","sgr-2"]'
A list of objects (Permissions, IpPermissions) is given as JSON, or one
object per repeated key:
  confix sandbox call ec2:AuthorizeSecurityGroupIngress GroupId=sg-0fedcba9876543210 \\
    IpPermissions='{"IpProtocol":"tcp","FromPort":22,"ToPort":22,"IpRanges":[{"CidrIp":"0.0.0.0/0"}]}'
Add --json for JSON.`,
    )
    .action(async (action: string, params: string[], o: { account?: string; region?: string }, cmd: Command) => {
      const api = client(cmd);
      // The action's parameter schema says which parameters are lists (and strings); an unknown action is left for the service to name.
      const schemas = params.length
        ? ((await api.get<{ actions: { action: string; parameters: { properties?: ParamSchemas } }[] }>('/sandbox/actions')).actions.find(
            (a) => a.action === action,
          )?.parameters.properties ?? {})
        : {};
      const res = await api.post<{
        resourceId: string;
        resourceType: string;
        accountId: string;
        regionId: string;
        changed: boolean;
        result: unknown;
        configurationItemId: number | null;
      }>(`/sandbox/actions/${encodeURIComponent(action)}`, { accountId: o.account, regionId: o.region, parameters: parseParams(params, schemas) });
      if (globals(cmd).json) return printJson(res);
      print(`${action} on ${res.resourceType} ${res.resourceId} (${res.accountId}/${res.regionId}): ${res.changed ? pc.green('changed') : 'no change'}`);
      if (res.result && Object.keys(res.result).length) print(yaml(res.result).replace(/^/gm, '  '));
      if (res.changed) print(pc.dim(`recorded; see \`confix history ${res.resourceId}\``));
    });

  sandbox
    .command('iam <account>')
    .description("An account's roles (trust and attached policies) and permission policies in the sandbox")
    .action(async (account: string, _o: unknown, cmd: Command) => {
      const res = await client(cmd).get<{
        roles: { name: string; arn: string; policies: string[]; maxSessionDuration: number; trustPolicy: unknown }[];
        policies: { name: string; version: number; document: unknown }[];
      }>(`/sandbox/iam/${encodeURIComponent(account)}`);
      if (globals(cmd).json) return printJson(res);
      if (!res.roles.length && !res.policies.length) return print(`account ${account} has no roles or policies`);
      if (res.roles.length)
        print(
          table(
            ['ROLE', 'ARN', 'POLICIES', 'MAX SESSION'],
            res.roles.map((r) => [r.name, r.arn, r.policies.join(', ') || '-', `${r.maxSessionDuration} s`]),
          ),
        );
      for (const p of res.policies)
        print(`\n${pc.bold(`policy ${p.name}`)} ${pc.dim(`(version ${p.version})`)}\n${JSON.stringify(p.document, null, 2).replace(/^/gm, '  ')}`);
    });

  sandbox
    .command('put-policy <account> <name>')
    .description('Create or replace a permission policy in a sandbox account, as in the console; roles attaching it get the change at once')
    .requiredOption('-f, --file <file>', 'the policy document (JSON), or - for standard input', (v: string, previous?: string) => {
      if (previous !== undefined) throw new InvalidArgumentError('one policy document per put-policy: give -f once');
      return v;
    })
    .addHelpText(
      'after',
      `
Example (seed 000: take cms:InstallMonitoringAgent away from the member account's role):
  echo '{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}' |
    confix sandbox put-policy 178366182654 ConfigCustomRemediationPolicy -f -`,
    )
    .action(async (account: string, name: string, o: { file: string }, cmd: Command) => {
      const text = o.file === '-' ? await readStdin() : await readFile(o.file, 'utf8');
      const res = await client(cmd).put<{ name: string; version: number }>(`/sandbox/iam/${encodeURIComponent(account)}/policies/${encodeURIComponent(name)}`, {
        document: text,
      });
      if (globals(cmd).json) return printJson(res);
      print(`policy ${res.name} in ${account} is now version ${res.version}`);
    });

  sandbox
    .command('actions')
    .description("List the sandbox API's actions and resource types")
    .option('--type <type>', 'only actions on this resource type')
    .action(async (o: { type?: string }, cmd: Command) => {
      const res = await client(cmd).get<{ actions: { action: string; resourceType: string; kind: string; description: string; parameters: unknown }[] }>(
        '/sandbox/actions',
      );
      const actions = res.actions.filter((a) => !o.type || a.resourceType === o.type);
      if (globals(cmd).json) return printJson({ ...res, actions });
      print(
        table(
          ['ACTION', 'RESOURCE TYPE', 'KIND', 'DESCRIPTION'],
          actions.map((a) => [a.action, a.resourceType, a.kind, a.description]),
        ),
      );
    });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
