/**
 * Organizations in neutral terms: folder trees as estate files and policy
 * documents (kind: Organization) declare them, flattened to folder paths and
 * an account → folder map, and the change a policy document makes. The
 * sandbox writes them into its directory; the engine checks documents with them.
 */
import { z } from 'zod';

const accountId = z.string().regex(/^\d{12}$/, 'a 12-digit account id (quote it in YAML: "100931896542")');

export type Add = (path: (string | number)[], message: string) => void;

export interface FolderInput {
  name: string;
  accounts?: string[];
  folders?: FolderInput[];
}
export const folderSchema: z.ZodType<FolderInput> = z.lazy(() =>
  z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9 _.-]{1,64}$/, 'a folder name: letters, digits, spaces and _.-'),
    accounts: z.array(accountId).default([]),
    folders: z.array(folderSchema).default([]),
  }),
);

/**
 * The organization as a policy document (kind: Organization) declares it:
 * what is given is made so (delegated administrators exactly as listed,
 * folders and the accounts in them exactly as nested; an account in no folder
 * sits at the root); what is left out is left as it is. Accounts themselves
 * come from the cloud (the estate), and the management account cannot move:
 * when given, it must be the directory's.
 */
export const policyOrganizationSchema = z.strictObject({
  managementAccount: accountId.optional(),
  delegatedAdministrators: z.array(accountId).optional(),
  folders: z.array(folderSchema).optional(),
});
export type PolicyOrganizationInput = z.output<typeof policyOrganizationSchema>;

export interface NormalizedOrganization {
  managementAccount: string;
  delegatedAdministrators: string[];
  folders: { path: string; name: string; parentPath: string | null }[];
  /** account id → folder path (accounts in no folder sit at the root). */
  accountFolders: Map<string, string>;
}

/** What a policy document (kind: Organization) changes in a directory. */
export interface DirectoryChange {
  delegatedAdministrators?: string[];
  /** Folders and the account → folder map, replaced together (accounts not in the map sit at the root). */
  folders?: Pick<NormalizedOrganization, 'folders' | 'accountFolders'>;
}

export function flattenFolders(
  declared: FolderInput[],
  known: (id: string, path: (string | number)[]) => void,
  add: Add,
  at: (string | number)[],
): Pick<NormalizedOrganization, 'folders' | 'accountFolders'> {
  const out: Pick<NormalizedOrganization, 'folders' | 'accountFolders'> = { folders: [], accountFolders: new Map() };
  const walk = (list: FolderInput[], parent: string | null, path: (string | number)[]) => {
    list.forEach((f, i) => {
      const here = parent ? `${parent}/${f.name}` : f.name;
      if (out.folders.some((x) => x.path === here)) add([...path, i, 'name'], `folder ${here} is declared twice`);
      out.folders.push({ path: here, name: f.name, parentPath: parent });
      (f.accounts ?? []).forEach((id, j) => {
        known(id, [...path, i, 'accounts', j]);
        const other = out.accountFolders.get(id);
        if (other !== undefined) add([...path, i, 'accounts', j], `account ${id} is already in folder ${other}; an account sits in one folder`);
        else out.accountFolders.set(id, here);
      });
      walk(f.folders ?? [], here, [...path, i, 'folders']);
    });
  };
  walk(declared, null, at);
  return out;
}
