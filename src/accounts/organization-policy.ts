/**
 * The organization in policy files (kind: Organization): delegated
 * administrators and folders declared as code, checked against the resource
 * directory as it is, planned as a diff and applied with the rest of the
 * policy. Accounts come from the cloud; a document places them, it does not
 * create them.
 */
import type { Organization } from '../providers/index.js';
import { flattenFolders, policyOrganizationSchema, type DirectoryChange } from '../providers/organization.js';
import { diffConfigurations, type DiffOp } from '../inventory/diff.js';
import type { GroupIssue } from './groups.js';

export interface OrganizationPlan {
  /** What changes, as a diff of the directory's view (delegated administrators, folder → accounts). */
  changes: DiffOp[];
  /** What to write. */
  change: DirectoryChange;
  /** The directory after the change (groups are checked against it). */
  after: Organization;
}

/** The parts of a directory a policy document declares, for people and diffs. */
export function organizationView(o: Organization): { managementAccount: string; delegatedAdministrators: string[]; folders: Record<string, string[]> } {
  const folders: Record<string, string[]> = {};
  for (const f of o.folders) folders[f.path] = [];
  for (const a of o.accounts) if (a.folderPath !== null) (folders[a.folderPath] ??= []).push(a.accountId);
  for (const k of Object.keys(folders)) folders[k]!.sort();
  return { managementAccount: o.managementAccount, delegatedAdministrators: [...o.delegatedAdministrators].sort(), folders };
}

/** Checks a kind: Organization document against the directory; every problem is reported at its path. */
export function checkOrganizationDocument(body: unknown, org: Organization | null): { plan?: OrganizationPlan; issues: GroupIssue[] } {
  const parsed = policyOrganizationSchema.safeParse(body);
  if (!parsed.success) return { issues: parsed.error.issues.map((i) => ({ path: i.path as (string | number)[], message: i.message })) };
  if (!org)
    return {
      issues: [
        {
          path: [],
          message:
            'the cloud has no organization (resource directory) to declare; its management account and member accounts come from the estate file (organization: { managementAccount: … })',
        },
      ],
    };
  const d = parsed.data;
  const issues: GroupIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path, message });
  const accounts = new Set(org.accounts.map((a) => a.accountId));
  const known = (id: string, path: (string | number)[]) => {
    if (!accounts.has(id))
      add(
        path,
        `account ${id} is not in the organization (its accounts are ${[...accounts].sort().join(', ')}); accounts come from the cloud, a policy only places them`,
      );
  };
  if (d.managementAccount !== undefined && d.managementAccount !== org.managementAccount)
    add(
      ['managementAccount'],
      `the organization's management account is ${org.managementAccount}, not ${d.managementAccount}; it cannot be changed by a policy`,
    );
  const change: DirectoryChange = {};
  if (d.delegatedAdministrators) {
    const seen = new Set<string>();
    d.delegatedAdministrators.forEach((id, i) => {
      known(id, ['delegatedAdministrators', i]);
      if (id === org.managementAccount) add(['delegatedAdministrators', i], `${id} is the management account; it administers already`);
      if (seen.has(id)) add(['delegatedAdministrators', i], `${id} is listed twice`);
      seen.add(id);
    });
    change.delegatedAdministrators = [...seen];
  }
  if (d.folders) change.folders = flattenFolders(d.folders, known, add, ['folders']);
  if (issues.length) return { issues };

  const after: Organization = {
    managementAccount: org.managementAccount,
    delegatedAdministrators: change.delegatedAdministrators ?? org.delegatedAdministrators,
    folders: change.folders ? change.folders.folders : org.folders,
    accounts: org.accounts.map((a) => ({ ...a, folderPath: change.folders ? (change.folders.accountFolders.get(a.accountId) ?? null) : a.folderPath })),
  };
  const changes = diffConfigurations(organizationView(org), organizationView(after));
  return { plan: { changes, change, after }, issues };
}
