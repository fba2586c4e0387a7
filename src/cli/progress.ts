import cliProgress from 'cli-progress';
import type { DiscoveryLine } from '../api/routes/inventory.js';

/** A progress bar on a terminal's stderr; nothing at all when output is piped. */
export function progressBar(label: string, total: number): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY || total < 1000) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n) => bar.update(n), stop: () => bar.stop() };
}

/** What POST /discovery streams, but its last line (answered or thrown by the client). */
export type DiscoveryProgressLine = Exclude<DiscoveryLine, { type: 'result' | 'error' }>;

/** How often a progress line is written when stderr is not a terminal. */
const PLAIN_EVERY_MS = 5000;

/**
 * Per-scope progress of a discovery on stderr: on a terminal a bar per
 * provider (scopes done, resources found, refusals, the scope just read);
 * otherwise a line when a provider starts and at most every 5 s, so a log
 * shows a long run moving without a line per scope.
 */
export function discoveryProgress(stream: NodeJS.WriteStream = process.stderr): { line(l: DiscoveryProgressLine): void; stop(): void } {
  const refused = new Map<string, number>();
  if (stream.isTTY) {
    const bars = new cliProgress.MultiBar(
      {
        format: 'discovering {provider} [{bar}] {value}/{total} scopes, {resources} resources{refused}  {scope}',
        stream,
        hideCursor: true,
        clearOnComplete: true,
      },
      cliProgress.Presets.shades_classic,
    );
    const each = new Map<string, cliProgress.SingleBar>();
    return {
      line(l) {
        if (l.type === 'start') each.set(l.provider, bars.create(l.scopes, 0, { provider: l.provider, resources: 0, refused: '', scope: '' }));
        if (l.type !== 'scope') return;
        if (l.refused) refused.set(l.provider, (refused.get(l.provider) ?? 0) + 1);
        const n = refused.get(l.provider);
        each.get(l.provider)?.update(l.scopesDone, {
          resources: l.resources,
          refused: n ? `, ${n} refused` : '',
          scope: `${l.scope.accountId}/${l.scope.regionId} ${l.scope.resourceType}`,
        });
      },
      stop: () => bars.stop(),
    };
  }
  let last = 0;
  return {
    line(l) {
      if (l.type === 'start') {
        stream.write(`discovering ${l.provider}: ${l.scopes} scopes\n`);
        last = Date.now();
      }
      if (l.type !== 'scope') return;
      if (l.refused) refused.set(l.provider, (refused.get(l.provider) ?? 0) + 1);
      if (Date.now() - last < PLAIN_EVERY_MS) return;
      last = Date.now();
      const n = refused.get(l.provider);
      stream.write(`discovering ${l.provider}: ${l.scopesDone}/${l.scopes} scopes, ${l.resources} resources${n ? `, ${n} refused` : ''}\n`);
    },
    stop: () => undefined,
  };
}
