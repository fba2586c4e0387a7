/**
 * The providers an engine governs, and which one owns an account. Several run
 * at once (the sandbox and AWS organizations, say); every account belongs to
 * exactly one, so a resource's provider is its account's.
 */
import type { Provider, ResourceKey } from './types.js';

export class ProviderRegistry {
  private readonly byName = new Map<string, Provider>();
  private owners = new Map<string, Provider>();
  private loading: Promise<void> | undefined;

  constructor(providers: Provider[]) {
    if (!providers.length) throw new Error('an engine needs at least one provider');
    for (const p of providers) {
      if (this.byName.has(p.name)) throw new Error(`two providers are named ${p.name}; give each its own name`);
      this.byName.set(p.name, p);
    }
  }

  /** Closes every provider that holds something (an SDK's sockets, a queue's long poll). */
  async close(): Promise<void> {
    await Promise.all(this.all().map((p) => p.close?.()));
  }

  all(): Provider[] {
    return [...this.byName.values()];
  }

  /** The first provider: where a bare role name is looked up, and whose organization the console shows first. */
  primary(): Provider {
    return this.all()[0]!;
  }

  get(name: string): Provider {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no provider named ${name}; the providers are ${[...this.byName.keys()].join(', ')}`);
    return p;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The provider whose account this is (accounts are read again when one is not known yet: it may have just been added). */
  async forAccount(accountId: string): Promise<Provider> {
    const known = this.owners.get(accountId);
    if (known) return known;
    await this.refresh();
    const found = this.owners.get(accountId);
    if (found) return found;
    // An account no provider lists: the only provider owns it, else it is nobody's.
    if (this.byName.size === 1) return this.primary();
    throw new Error(`no provider governs account ${accountId} (providers: ${[...this.byName.keys()].join(', ')})`);
  }

  forKey(key: Pick<ResourceKey, 'accountId'>): Promise<Provider> {
    return this.forAccount(key.accountId);
  }

  /** Reads every provider's accounts again (after an estate load or a change of organization). */
  refresh(): Promise<void> {
    this.loading ??= (async () => {
      const owners = new Map<string, Provider>();
      for (const p of this.all()) {
        let accounts: { accountId: string }[];
        try {
          accounts = await p.listAccounts();
        } catch {
          continue; // unreachable now: its accounts stay unknown until it answers
        }
        for (const a of accounts) if (!owners.has(a.accountId)) owners.set(a.accountId, p);
      }
      this.owners = owners;
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }
}
