/**
 * Discovery through read roles: an account group may name a read role that
 * each member account has; confix then reads those accounts' resources with
 * that role assumed from the group's owner (through the credential broker),
 * so the provider's IAM decides what confix may see. Accounts in no such
 * group are read with the provider's default access.
 */
import type { ReadAccess } from '../inventory/recorder.js';
import { dialectOfResourceType } from '../providers/index.js';
import type { AccountGroupStore } from './groups.js';
import type { CredentialBroker } from './broker.js';

/** How long the account → read role map is kept (also dropped on every group change). */
const TTL_MS = 10_000;

export function groupReadAccess(groups: AccountGroupStore, broker: CredentialBroker): ReadAccess {
  let map: Promise<Map<string, { role: string; home: string; group: string }>> | undefined;
  let loadedAt = 0;
  groups.on('changed', () => void (map = undefined));
  const load = async () => {
    const out = new Map<string, { role: string; home: string; group: string }>();
    const [all, members] = await Promise.all([groups.list(), groups.resolveAll()]);
    // By group name: an account in several groups with read roles is read through the first.
    for (const g of [...all].sort((a, b) => a.name.localeCompare(b.name))) {
      if (!g.readRole) continue;
      for (const a of members.get(g.name) ?? []) if (!out.has(a)) out.set(a, { role: g.readRole, home: g.ownerAccountId, group: g.name });
    }
    return out;
  };
  return async (accountId, resourceType) => {
    if (!map || Date.now() - loadedAt > TTL_MS) {
      loadedAt = Date.now();
      map = load();
      map.catch(() => void (map = undefined));
    }
    const via = (await map).get(accountId);
    if (!via) return undefined;
    const access = await broker.access({
      accountId,
      role: via.role,
      home: via.home,
      dialect: dialectOfResourceType(resourceType),
      sessionName: 'confix-discovery',
    });
    return access.credentials;
  };
}
