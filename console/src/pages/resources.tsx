import { useState } from 'react';
import { api, type Get, useApi } from '../api';
import { A, AutomaticState, Badge, Can, Choice, Diff, ErrorBox, Field, Json, Risk, Show, Table, Tabs, ago, fmtTime, href } from '../ui';
import { ExecutionTable } from './executions';

export function ResourcesPage() {
  const [resourceType, setType] = useState('');
  const [accountId, setAccount] = useState('');
  const [tag, setTag] = useState('');
  const [q, setQ] = useState('');
  const summary = useApi<Get<'/inventory/summary'>>('/inventory/summary', undefined, false);
  const accounts = useApi<Get<'/accounts'>>('/accounts', undefined, false);
  const list = useApi<Get<'/resources'>>('/resources', { resourceType, accountId, tag: tag.includes('=') ? tag : undefined, limit: 500 });
  const nc = useApi<Get<'/compliance'>>('/compliance', { complianceType: 'NON_COMPLIANT', limit: 10000 });
  const failing = new Map<string, number>();
  for (const r of nc.data?.items ?? [])
    failing.set(`${r.accountId}/${r.regionId}/${r.resourceId}`, (failing.get(`${r.accountId}/${r.regionId}/${r.resourceId}`) ?? 0) + 1);
  const types = Object.keys(summary.data?.byType ?? {}).sort();
  return (
    <>
      <h1>Resources</h1>
      <form className="filters" aria-label="Filter resources" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="id or name" />
        </label>
        <Choice label="Type" value={resourceType} onChange={setType} options={types} />
        <Choice
          label="Account"
          value={accountId}
          onChange={setAccount}
          options={(accounts.data?.items ?? []).map((a): [string, string] => [a.accountId, `${a.accountId} (${a.name})`])}
        />
        <label>
          Tag (key=value)
          <input value={tag} onChange={(e) => setTag(e.target.value)} placeholder="env=prod" />
        </label>
      </form>
      <Show r={list}>
        {(d) => {
          const rows = d.items.filter((r) => !q || `${r.resourceId} ${r.resourceName ?? ''}`.toLowerCase().includes(q.toLowerCase()));
          return (
            <Table
              caption={`${rows.length} of ${d.total} resources`}
              rows={rows}
              rowKey={(r) => `${r.accountId}/${r.regionId}/${r.resourceType}/${r.resourceId}`}
              cols={[
                ['Resource', (r) => <A to={href('resources', r.resourceId, r.accountId)}>{r.resourceId}</A>],
                ['Name', (r) => r.resourceName ?? ''],
                ['Type', (r) => r.resourceType],
                ['Account', (r) => r.accountId],
                ['Region', (r) => r.regionId],
                [
                  'Compliance',
                  (r) => {
                    const n = failing.get(`${r.accountId}/${r.regionId}/${r.resourceId}`);
                    return n ? <span className="text-bad">{n} non-compliant</span> : <span className="muted">ok</span>;
                  },
                ],
                [
                  'Tags',
                  (r) =>
                    Object.entries(r.tags ?? {})
                      .map(([k, v]) => `${k}=${v}`)
                      .join(', '),
                ],
                ['Version', (r) => `v${r.version}, ${ago(r.capturedAt)}`],
              ]}
            />
          );
        }}
      </Show>
    </>
  );
}

export function ResourcePage({ id, accountId }: { id: string; accountId?: string }) {
  const q = { accountId };
  const path = `/resources/${encodeURIComponent(id)}`;
  const history = useApi<Get<'/resources/{resourceId}/history'>>(`${path}/history`, { ...q, limit: 100 });
  const results = useApi<Get<'/compliance'>>('/compliance', { resourceId: id, accountId, limit: 1000 });
  const executions = useApi<Get<'/executions'>>('/executions', { resourceId: id, accountId, limit: 100 });
  const changes = useApi<Get<'/compliance/timeline'>>('/compliance/timeline', { resourceId: id, accountId, limit: 100 });
  const [err, setErr] = useState<unknown>();
  const [msg, setMsg] = useState<string>();
  const reevaluate = async () => {
    setErr(undefined);
    try {
      const r = history.data?.resource;
      await api('/evaluations', { json: { resourceId: id, accountId: r?.accountId, regionId: r?.regionId, resourceType: r?.resourceType } });
      setMsg('Re-evaluated under every rule.');
      results.reload();
    } catch (e) {
      setErr(e);
    }
  };
  return (
    <Show r={history}>
      {(h) => {
        const r = h.resource;
        return (
          <>
            <p className="crumbs">
              <A to="#/resources">Resources</A> /
            </p>
            <h1>
              {r.resourceId} {r.resourceName && r.resourceName !== r.resourceId ? <span className="muted">({r.resourceName})</span> : null}
            </h1>
            <dl className="fields">
              <Field label="Type">{r.resourceType}</Field>
              <Field label="Account / region">{`${r.accountId} / ${r.regionId}`}</Field>
              <Field label="Status">{r.status}</Field>
              <Field label="Version">{`v${r.version}, captured ${fmtTime(r.capturedAt)}`}</Field>
              <Field label="Tags">
                {Object.entries(r.tags ?? {})
                  .map(([k, v]) => `${k}=${v}`)
                  .join(', ') || '—'}
              </Field>
            </dl>
            <Can atLeast="operator">
              <div className="actions">
                <button type="button" onClick={reevaluate}>
                  Re-evaluate this resource
                </button>
                {msg && <span role="status">{msg}</span>}
              </div>
            </Can>
            <ErrorBox error={err} />
            <h2>Results under every rule</h2>
            <Show r={results}>
              {(d) => (
                <Table
                  rows={d.items}
                  empty="No rule covers this resource."
                  rowKey={(x) => x.ruleId}
                  cols={[
                    ['Rule', (x) => <A to={href('rules', x.ruleName)}>{x.ruleName}</A>],
                    ['Risk', (x) => <Risk level={x.riskLevel} />],
                    ['Result', (x) => <Badge value={x.complianceType} />],
                    ['Why', (x) => x.annotation],
                    ['Evaluated', (x) => ago(x.invokedAt)],
                    ['Automatic remediation', (x) => <AutomaticState status={x.automaticRemediation} />],
                  ]}
                />
              )}
            </Show>
            <Tabs
              label="Resource"
              tabs={[
                [
                  `Timeline (${h.items.length})`,
                  () => (
                    <ol className="timeline" aria-label="Configuration timeline">
                      {h.items.map((it) => (
                        <li key={it.id}>
                          <div className="step-head">
                            <strong>v{it.version}</strong> <span className="muted">{fmtTime(it.capturedAt)}</span> · {it.source} · {it.status}
                          </div>
                          {it.version === 1 || !it.diff ? (
                            <p className="muted">First recorded configuration.</p>
                          ) : (
                            <Diff ops={it.diff} label={`Changes in v${it.version}`} />
                          )}
                        </li>
                      ))}
                    </ol>
                  ),
                ],
                [
                  'Compliance history',
                  () => (
                    <Show r={changes}>
                      {(d) => (
                        <Table
                          rows={d.items}
                          empty="No results recorded."
                          rowKey={(x) => String(x.id)}
                          cols={[
                            ['When', (x) => fmtTime(x.recordedAt)],
                            ['Rule', (x) => <A to={href('rules', x.ruleName)}>{x.ruleName}</A>],
                            ['Result', (x) => <Badge value={x.complianceType} />],
                            ['Before', (x) => <Badge value={x.previousComplianceType} />],
                            ['Why', (x) => x.annotation],
                          ]}
                        />
                      )}
                    </Show>
                  ),
                ],
                ['Configuration', () => <Json value={r.configuration} label="Current configuration" />],
                ['Executions', () => <Show r={executions}>{(d) => <ExecutionTable items={d.items} />}</Show>],
              ]}
            />
          </>
        );
      }}
    </Show>
  );
}
