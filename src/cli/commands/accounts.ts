/**
 * Accounts, the organization and account groups: `confix get accounts`,
 * `confix get organization`, `confix get account-groups`, `confix get
 * account-group NAME`, `confix account-group put|delete` and `confix
 * organization delegate|undelegate`.
 */
import { InvalidArgumentError, type Command } from 'commander';
import pc from 'picocolors';
import { client, globals, print, printJson } from '../context.js';
import { table } from '../format.js';
import type { AccountGroup, AccountGroupMembers } from '../../accounts/groups.js';
import type { Organization } from '../../providers/index.js';
import type { GroupCompliance, AccountCompliance } from '../../evaluation/compliance.js';

interface AccountView {
  accountId: string;
  name: string;
  regions: string[];
  resources: number;
  folderPath: string | null;
  organizationRole: 'management' | 'delegated-administrator' | 'member' | 'none';
  credentials: boolean;
  groups: string[];
}

type GroupView = AccountGroup & { memberAccounts: string[]; rules: string[]; problems: string[] };
type ComplianceView = Omit<GroupCompliance, 'accounts'> & { group: string; accounts: (AccountCompliance & { name: string | null })[] };

const ROLE: Record<AccountView['organizationRole'], string> = {
  management: pc.bold('management'),
  'delegated-administrator': 'delegated admin',
  member: 'member',
  none: pc.dim('none'),
};

function describeMembers(m: AccountGroupMembers): string {
  if ('organization' in m) return 'the whole organization';
  if ('folder' in m) return `folder ${m.folder}`;
  return `accounts ${m.accounts.join(', ')}`;
}

/** "111,222" or "111 222": a list of account ids. */
function accountList(value: string): string[] {
  const ids = value.split(/[\s,]+/).filter(Boolean);
  if (!ids.length) throw new InvalidArgumentError('give at least one account id, comma-separated');
  return ids;
}

/** The organization's folders as a tree, accounts under their folder. */
export function organizationTree(org: Organization): string {
  const lines: string[] = [];
  const role = (id: string) =>
    id === org.managementAccount ? pc.bold(' [management]') : org.delegatedAdministrators.includes(id) ? ' [delegated administrator]' : '';
  const accountsIn = (path: string | null) => org.accounts.filter((a) => a.folderPath === path);
  const foldersIn = (path: string | null) => org.folders.filter((f) => f.parentPath === path);
  const walk = (path: string | null, indent: string) => {
    const items: (() => void)[] = [];
    const accounts = accountsIn(path);
    const folders = foldersIn(path);
    const total = accounts.length + folders.length;
    let i = 0;
    for (const a of accounts) {
      const last = ++i === total;
      items.push(() => lines.push(`${indent}${last ? '└─ ' : '├─ '}${a.accountId}  ${a.name}${role(a.accountId)}`));
    }
    for (const f of folders) {
      const last = ++i === total;
      items.push(() => {
        lines.push(`${indent}${last ? '└─ ' : '├─ '}${pc.bold(`${f.name}/`)}`);
        walk(f.path, indent + (last ? '   ' : '│  '));
      });
    }
    for (const item of items) item();
  };
  lines.push('(root)');
  walk(null, '');
  return lines.join('\n');
}

export function accountCommands(program: Command, get: Command) {
  get
    .command('accounts')
    .description('Accounts: regions, resources, folder and role in the organization, whether confix holds credentials, account groups')
    .addHelpText('after', '\nAdd --json for JSON (a list of accounts).')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: AccountView[] }>('/accounts');
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no accounts; load an estate with `confix sandbox load FILE`');
      print(
        table(
          ['ACCOUNT', 'NAME', 'ROLE', 'FOLDER', 'CREDENTIALS', 'GROUPS', 'REGIONS', 'RESOURCES'],
          items.map((a) => [
            a.accountId,
            a.name,
            ROLE[a.organizationRole],
            a.folderPath ?? '',
            a.credentials ? 'stored' : pc.dim('none'),
            a.groups.join(', '),
            a.regions.join(', '),
            a.resources,
          ]),
        ),
      );
    });

  get
    .command('organization')
    .description('The organization (resource directory): management account, delegated administrators, folders as a tree')
    .addHelpText('after', '\nAdd --json for JSON.')
    .action(async (_o: unknown, cmd: Command) => {
      const org = await client(cmd).get<Organization>('/organization');
      if (globals(cmd).json) return printJson(org);
      const name = (id: string) => org.accounts.find((a) => a.accountId === id)?.name;
      print(`management account: ${org.managementAccount}${name(org.managementAccount) ? ` (${name(org.managementAccount)})` : ''}`);
      print(
        `delegated administrators: ${org.delegatedAdministrators.length ? org.delegatedAdministrators.map((d) => `${d}${name(d) ? ` (${name(d)})` : ''}`).join(', ') : 'none'}`,
      );
      print(`${org.accounts.length} account${org.accounts.length === 1 ? '' : 's'} in ${org.folders.length} folder${org.folders.length === 1 ? '' : 's'}:`);
      print(organizationTree(org));
    });

  get
    .command('account-groups')
    .description('Account groups (aggregators): owner, members, the rules scoped to each')
    .addHelpText('after', '\nAdd --json for JSON.')
    .action(async (_o: unknown, cmd: Command) => {
      const { items } = await client(cmd).get<{ items: GroupView[] }>('/account-groups');
      if (globals(cmd).json) return printJson(items);
      if (!items.length) return print('no account groups; create one with `confix account-group put NAME --folder F` (see --help)');
      print(
        table(
          ['NAME', 'OWNER', 'MEMBERS', 'ACCOUNTS', 'RULES', 'READ ROLE', 'ORIGIN'],
          items.map((g) => [g.name, g.ownerAccountId, describeMembers(g.members), g.memberAccounts.length, g.rules.join(', '), g.readRole ?? '', g.origin]),
        ),
      );
      for (const g of items) for (const p of g.problems) print(pc.yellow(`warning: ${g.name}: ${p}`));
    });

  get
    .command('account-group <name>')
    .description("An account group: owner, members and the compliance of each member account under the group's rules")
    .addHelpText('after', '\nAdd --json for JSON ({group, compliance}).')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const api = client(cmd);
      const path = `/account-groups/${encodeURIComponent(name)}`;
      const group = await api.get<GroupView>(path);
      const compliance = await api.get<ComplianceView>(`${path}/compliance`);
      if (globals(cmd).json) return printJson({ group, compliance });
      print(`${pc.bold(group.name)}${group.description ? `  ${group.description}` : ''}`);
      print(
        `  owner ${group.ownerAccountId}  members: ${describeMembers(group.members)}${group.readRole ? `  read role ${group.readRole}` : ''}  origin ${group.origin}`,
      );
      print(`  rules: ${group.rules.length ? group.rules.join(', ') : pc.dim('none scoped to this group')}`);
      for (const p of group.problems) print(pc.yellow(`  warning: ${p}`));
      if (!compliance.accounts.length) return print(pc.dim('\nthe group holds no accounts'));
      print('');
      print(
        table(
          ['ACCOUNT', 'NAME', 'NON_COMPLIANT RESOURCES', 'NON_COMPLIANT', 'COMPLIANT', 'N/A', 'INSUFFICIENT'],
          compliance.accounts.map((a) => [
            a.accountId,
            a.name,
            a.totals.nonCompliantResources ? pc.red(String(a.totals.nonCompliantResources)) : '0',
            a.totals.nonCompliant,
            a.totals.compliant,
            a.totals.notApplicable,
            a.totals.insufficientData,
          ]),
        ),
      );
      if (compliance.rules.length > 1 || compliance.accounts.some((a) => a.totals.nonCompliant)) {
        print(`\n${pc.bold('by rule')}`);
        print(
          table(
            ['ACCOUNT', 'RULE', 'NON_COMPLIANT', 'COMPLIANT'],
            compliance.accounts.flatMap((a) =>
              a.rules.map((r) => [a.accountId, r.ruleName, r.nonCompliant ? pc.red(String(r.nonCompliant)) : '0', r.compliant]),
            ),
          ),
        );
      }
    });

  const group = program
    .command('account-group')
    .description('Create, replace and delete account groups (aggregators): the accounts a rule scoped to the group evaluates');

  group
    .command('put <name>')
    .description('Create or replace an account group; the rules scoped to it are evaluated again over its members')
    .option('--accounts <ids>', 'these accounts (comma-separated)', accountList)
    .option('--folder <folder>', "a folder's accounts, its sub-folders' too (a path like production/web, or a unique folder name)")
    .option('--organization', 'every account of the organization')
    .option('--owner <id>', 'the owning account: the management account (default) or a delegated administrator')
    .option('--read-role <role>', 'the role discovery assumes in each member account')
    .option('--description <text>', 'what the group is for')
    .addHelpText(
      'after',
      `
Give the members one way: --accounts, --folder or --organization. Only the
organization's management account or a delegated administrator may own a
group (see \`confix organization delegate\`); rules in the group are
evaluated and remediated from the owner.

Examples:
  confix account-group put seed-000 --accounts 100931896542,178366182654
  confix account-group put production --folder production --read-role ConfigReadRole
  confix account-group put everything --organization --owner 178366182654 --description "audit, run by the security account"
  confix account-group put production --folder production --json`,
    )
    .action(
      async (
        name: string,
        o: { accounts?: string[]; folder?: string; organization?: boolean; owner?: string; readRole?: string; description?: string },
        cmd: Command,
      ) => {
        const given = [o.accounts && '--accounts', o.folder !== undefined && '--folder', o.organization && '--organization'].filter(Boolean);
        if (given.length !== 1)
          throw new Error(
            given.length ? `give the members one way, not ${given.join(' and ')}` : 'give the members: --accounts ID,ID, --folder F or --organization',
          );
        const members = o.accounts ? { accounts: o.accounts } : o.folder !== undefined ? { folder: o.folder } : { organization: true };
        const body: Record<string, unknown> = { members };
        if (o.owner !== undefined) body.ownerAccountId = o.owner;
        if (o.readRole !== undefined) body.readRole = o.readRole;
        if (o.description !== undefined) body.description = o.description;
        const g = await client(cmd).put<GroupView>(`/account-groups/${encodeURIComponent(name)}`, body);
        if (globals(cmd).json) return printJson(g);
        print(
          `account group ${g.name}: ${describeMembers(g.members)}, owned by ${g.ownerAccountId}; ${g.memberAccounts.length} account${g.memberAccounts.length === 1 ? '' : 's'}: ${g.memberAccounts.join(', ') || 'none'}`,
        );
        if (g.rules.length) print(`evaluated again: ${g.rules.join(', ')}`);
      },
    );

  group
    .command('delete <name>')
    .description('Delete an account group; refused while a rule is scoped to it')
    .addHelpText('after', '\nExample:\n  confix account-group delete seed-000')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const res = await client(cmd).delete<{ deleted: string }>(`/account-groups/${encodeURIComponent(name)}`);
      if (globals(cmd).json) return printJson(res);
      print(`deleted account group ${name}`);
    });

  const organization = program.command('organization').description("Manage the organization's delegated administrators (accounts that may own account groups)");

  organization
    .command('delegate <account>')
    .description('Register a member account as a delegated administrator')
    .addHelpText('after', '\nExample:\n  confix organization delegate 178366182654')
    .action(async (account: string, _o: unknown, cmd: Command) => {
      const org = await client(cmd).post<Organization>('/organization/delegated-administrators', { accountId: account });
      if (globals(cmd).json) return printJson(org);
      print(`${account} is a delegated administrator; delegated administrators: ${org.delegatedAdministrators.join(', ')}`);
    });

  organization
    .command('undelegate <account>')
    .description('Deregister a delegated administrator; refused while it owns account groups')
    .addHelpText('after', '\nExample:\n  confix organization undelegate 178366182654')
    .action(async (account: string, _o: unknown, cmd: Command) => {
      const org = await client(cmd).delete<Organization>(`/organization/delegated-administrators/${encodeURIComponent(account)}`);
      if (globals(cmd).json) return printJson(org);
      print(
        `${account} is no longer a delegated administrator; delegated administrators: ${org.delegatedAdministrators.length ? org.delegatedAdministrators.join(', ') : 'none'}`,
      );
    });
}
