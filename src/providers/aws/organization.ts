/**
 * The organization as AWS Organizations shows it to its management account
 * (or a delegated administrator): accounts, OUs as folders by path
 * (`production`, `production/web`: OU names are unique under one parent),
 * which folder each account sits in, and the delegated administrators.
 * Every list is paged to the end.
 */
import {
  DescribeOrganizationCommand,
  paginateListAccounts,
  paginateListAccountsForParent,
  paginateListDelegatedAdministrators,
  paginateListOrganizationalUnitsForParent,
  paginateListRoots,
  type OrganizationsClient,
} from '@aws-sdk/client-organizations';
import type { Organization } from '../types.js';
import type { Logger } from '../../util/log.js';
import { codeOf } from './errors.js';

export interface OrganizationRead {
  organization: Organization;
  /** Active accounts, with their names. */
  accounts: { accountId: string; name: string }[];
}

/** Not in an organization (AWSOrganizationsNotInUseException) or not allowed to read it. */
export function isNoOrganization(err: unknown): boolean {
  return /^(AWSOrganizationsNotInUse|AccessDenied)/.test(codeOf(err) ?? '');
}

export async function readOrganization(client: OrganizationsClient, opts: { pageSize?: number; log: Logger }): Promise<OrganizationRead> {
  const page = opts.pageSize ? { client, pageSize: Math.min(opts.pageSize, 20) } : { client };
  const described = await client.send(new DescribeOrganizationCommand({}));
  const managementAccount = described.Organization?.MasterAccountId ?? '';

  const accounts: { accountId: string; name: string }[] = [];
  for await (const p of paginateListAccounts(page, {}))
    for (const a of p.Accounts ?? []) {
      // Suspended and closing accounts cannot be read; State replaces the older Status.
      const state = (a as { State?: string }).State ?? a.Status;
      if (a.Id && (state === undefined || state === 'ACTIVE')) accounts.push({ accountId: a.Id, name: a.Name ?? a.Id });
    }
  accounts.sort((x, y) => x.accountId.localeCompare(y.accountId));

  const folders: Organization['folders'] = [];
  const folderOf = new Map<string, string>();
  const roots: string[] = [];
  for await (const p of paginateListRoots(page, {})) for (const r of p.Roots ?? []) if (r.Id) roots.push(r.Id);
  // Breadth first, one call at a time: Organizations allows few requests a second.
  const queue: { id: string; path: string | null }[] = roots.map((id) => ({ id, path: null }));
  while (queue.length) {
    const { id, path } = queue.shift()!;
    if (path !== null)
      for await (const p of paginateListAccountsForParent(page, { ParentId: id })) for (const a of p.Accounts ?? []) if (a.Id) folderOf.set(a.Id, path);
    for await (const p of paginateListOrganizationalUnitsForParent(page, { ParentId: id }))
      for (const ou of p.OrganizationalUnits ?? []) {
        if (!ou.Id || !ou.Name) continue;
        const here = path ? `${path}/${ou.Name}` : ou.Name;
        folders.push({ path: here, name: ou.Name, parentPath: path });
        queue.push({ id: ou.Id, path: here });
      }
  }
  folders.sort((a, b) => a.path.localeCompare(b.path));

  const delegated = new Set<string>();
  try {
    for await (const p of paginateListDelegatedAdministrators(page, {})) for (const d of p.DelegatedAdministrators ?? []) if (d.Id) delegated.add(d.Id);
  } catch (err) {
    // Only the management account (or a delegated administrator of Organizations itself) may list them.
    if (!/^AccessDenied/.test(codeOf(err) ?? '')) throw err;
    opts.log.warn('the delegated administrators of the organization cannot be listed with these credentials', { code: codeOf(err) });
  }

  return {
    organization: {
      managementAccount,
      delegatedAdministrators: [...delegated].sort(),
      folders,
      accounts: accounts.map((a) => ({ accountId: a.accountId, name: a.name, folderPath: folderOf.get(a.accountId) ?? null })),
    },
    accounts,
  };
}
