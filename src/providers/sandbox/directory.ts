/**
 * Writes the sandbox's resource directory: the estate loads it whole, a
 * policy document (kind: Organization) changes the parts it declares.
 */
import type { Queryable } from '../../store/index.js';
import type { DirectoryChange, NormalizedOrganization } from '../organization.js';
export type { DirectoryChange };

/** Creates the directory (estate load) or replaces it. */
export async function writeDirectory(q: Queryable, o: NormalizedOrganization): Promise<void> {
  await q.query(
    `INSERT INTO sandbox_organization (id, management_account, delegated_administrators) VALUES (true, $1, $2)
     ON CONFLICT (id) DO UPDATE SET management_account = EXCLUDED.management_account, delegated_administrators = EXCLUDED.delegated_administrators`,
    [o.managementAccount, o.delegatedAdministrators],
  );
  await changeDirectory(q, { folders: o });
}

/** Changes what is given of an existing directory, in the caller's transaction. */
export async function changeDirectory(q: Queryable, c: DirectoryChange): Promise<void> {
  if (c.delegatedAdministrators) await q.query('UPDATE sandbox_organization SET delegated_administrators = $1', [c.delegatedAdministrators]);
  if (c.folders) {
    await q.query('UPDATE sandbox_accounts SET folder_path = NULL');
    await q.query('DELETE FROM sandbox_folders');
    for (const f of c.folders.folders)
      await q.query('INSERT INTO sandbox_folders (path, name, parent_path) VALUES ($1, $2, $3)', [f.path, f.name, f.parentPath]);
    for (const [account, path] of c.folders.accountFolders)
      await q.query('UPDATE sandbox_accounts SET folder_path = $2 WHERE account_id = $1', [account, path]);
  }
}
