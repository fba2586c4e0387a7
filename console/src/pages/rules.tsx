import { useEffect, useState } from 'react';
import { api, ApiError, useApi } from '../api';
import { A, ago, AutomaticState, Badge, Can, Diff, ErrorBox, Field, href, Json, Risk, Show, Table, Tabs, useCan } from '../ui';
import { ExecutionTable } from './executions';

export function RulesPage() {
  const r = useApi<{ items: any[] }>('/rules');
  const [q, setQ] = useState('');
  return (
    <>
      <h1>Rules</h1>
      <div className="filters">
        <label>
          Search rules
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name or description" />
        </label>
      </div>
      <Show r={r}>
        {(d) => (
          <Table
            rows={d.items.filter((x) => !q || `${x.name} ${x.description ?? ''}`.toLowerCase().includes(q.toLowerCase()))}
            rowKey={(x) => x.ruleId}
            cols={[
              ['Rule', (x) => <A to={href('rules', x.name)}>{x.name}</A>],
              ['Risk', (x) => <Risk level={x.riskLevel} />],
              ['State', (x) => <Badge value={x.state} />],
              ['Non-compliant', (x) => <span className={x.compliance.nonCompliant ? 'text-bad strong' : ''}>{x.compliance.nonCompliant}</span>],
              ['Compliant', (x) => x.compliance.compliant],
              [
                'Remediation',
                (x) =>
                  x.remediation
                    ? `${x.remediation.action ?? `function:${x.remediation.function}`} (${x.remediation.invokeType === 'AUTO_EXECUTION' ? 'automatic' : 'manual'})`
                    : '—',
              ],
              ['Evaluated', (x) => ago(x.lastEvaluatedAt)],
            ]}
          />
        )}
      </Show>
    </>
  );
}

const FINISHED = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** Perform manual remediation: a dry run's preview first, then the real thing once confirmed. */
function ManualRemediation({ rule, nonCompliant, onDone }: { rule: string; nonCompliant: any[]; onDone: () => void }) {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [phase, setPhase] = useState<'idle' | 'previewing' | 'preview' | 'running' | 'done'>('idle');
  const [preview, setPreview] = useState<any[]>([]);
  const [failed, setFailed] = useState<{ resourceId: string; reason: string }[]>([]);
  const [queued, setQueued] = useState<any[]>([]);
  const [err, setErr] = useState<unknown>();
  // Selected by the whole key: the same id may name resources in two accounts.
  const keyOf = (r: any) => `${r.accountId}/${r.regionId}/${r.resourceType}/${r.resourceId}`;
  const ids = nonCompliant.map(keyOf);
  const byKey = new Map(nonCompliant.map((r) => [keyOf(r), r]));
  useEffect(() => {
    setSelected((s) => new Set([...s].filter((id) => ids.includes(id))));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ids.join(',')]);

  const start = async (dryRun: boolean) => {
    setErr(undefined);
    return api<{ queued: any[]; failed: { resourceId: string; reason: string }[] }>(`/rules/${encodeURIComponent(rule)}/remediation/executions`, {
      json: {
        resources: [...selected]
          .map((k) => byKey.get(k))
          .filter(Boolean)
          .map((r: any) => ({ resourceId: r.resourceId, accountId: r.accountId, regionId: r.regionId, resourceType: r.resourceType })),
        dryRun,
        trigger: 'MANUAL',
      },
    });
  };
  const doPreview = async () => {
    setPhase('previewing');
    setPreview([]);
    try {
      const res = await start(true);
      setFailed(res.failed);
      // Wait for the dry runs to finish: each records the change it would make.
      let items = res.queued;
      for (let i = 0; i < 60 && items.some((x) => !FINISHED.includes(x.status)); i++) {
        await new Promise((r) => setTimeout(r, 500));
        items = await Promise.all(items.map((x) => api(`/executions/${encodeURIComponent(x.executionId)}`)));
      }
      setPreview(items);
      setPhase('preview');
    } catch (e) {
      setErr(e);
      setPhase('idle');
    }
  };
  const confirm = async () => {
    setPhase('running');
    try {
      const res = await start(false);
      setQueued(res.queued);
      setFailed(res.failed);
      setPhase('done');
      onDone();
    } catch (e) {
      setErr(e);
      setPhase('preview');
    }
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <section className="card" aria-labelledby="manual-h">
      <h3 id="manual-h">Perform manual remediation</h3>
      {ids.length === 0 ? (
        <p className="muted">No non-compliant resources to remediate.</p>
      ) : (
        <fieldset disabled={phase === 'previewing' || phase === 'running'}>
          <legend>Resources to remediate</legend>
          <label className="check">
            <input type="checkbox" checked={selected.size === ids.length} onChange={(e) => setSelected(new Set(e.target.checked ? ids : []))} /> all (
            {ids.length})
          </label>
          {ids.map((id) => {
            const r = byKey.get(id);
            return (
              <label key={id} className="check">
                <input type="checkbox" checked={selected.has(id)} onChange={() => toggle(id)} /> {r.resourceId}{' '}
                <span className="muted">
                  ({r.accountId} · {r.regionId})
                </span>
              </label>
            );
          })}
        </fieldset>
      )}
      <div className="actions">
        <button type="button" className="primary" disabled={!selected.size || phase === 'previewing' || phase === 'running'} onClick={doPreview}>
          {phase === 'previewing' ? 'Preparing preview…' : 'Perform manual remediation'}
        </button>
      </div>
      <ErrorBox error={err} />
      {failed.length > 0 && (
        <div role="alert" className="alert">
          Not started:
          <ul>
            {failed.map((f) => (
              <li key={f.resourceId}>
                {f.resourceId}: {f.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
      {(phase === 'preview' || phase === 'running') && (
        <div className="preview" role="region" aria-label="Dry-run preview" data-testid="dry-run-preview">
          <h4>Dry run: what would change (nothing has changed yet)</h4>
          {preview.map((x) => {
            const step = [...x.steps].reverse().find((s: any) => s.name === 'preview') ?? x.steps[x.steps.length - 1];
            return (
              <div key={x.executionId} className="preview-item">
                <p>
                  <strong>{x.resourceId}</strong> <Badge value={x.status} /> {step?.message ?? x.errorMessage}{' '}
                  <A to={href('executions', x.executionId)}>dry run {x.executionId}</A>
                </p>
                {Array.isArray(step?.detail) && <Diff ops={step.detail} label={`Changes to ${x.resourceId}`} />}
                {x.errorMessage && <p className="text-bad">{x.errorMessage}</p>}
              </div>
            );
          })}
          <div className="actions">
            <button type="button" className="danger" onClick={confirm} disabled={phase === 'running'}>
              Confirm remediation
            </button>
            <button type="button" onClick={() => setPhase('idle')}>
              Cancel
            </button>
          </div>
        </div>
      )}
      {phase === 'done' && (
        <p role="status" data-testid="remediation-queued">
          Queued {queued.length} execution{queued.length === 1 ? '' : 's'}:{' '}
          {queued.map((x) => (
            <A key={x.executionId} to={href('executions', x.executionId)}>
              {x.executionId}{' '}
            </A>
          ))}
        </p>
      )}
    </section>
  );
}

function RemediationTab({ rule, nonCompliant }: { rule: any; nonCompliant: any[] }) {
  const r = useApi<any>(`/rules/${encodeURIComponent(rule.name)}/remediation`, { limit: 100 });
  const canRemediate = useCan('operator');
  const [err, setErr] = useState<unknown>();
  if (!rule.remediation) return <p className="muted">This rule has no remediation.</p>;
  const pause = async (what: 'pause' | 'resume') => {
    setErr(undefined);
    try {
      await api(`/rules/${encodeURIComponent(rule.name)}/remediation/${what}`, {
        method: 'POST',
        json: what === 'pause' ? { reason: 'paused in the console' } : {},
      });
      r.reload();
    } catch (e) {
      setErr(e);
    }
  };
  return (
    <Show r={r}>
      {(d) => (
        <>
          <div className="grid">
            <section className="card" aria-labelledby="rc-h">
              <h3 id="rc-h">Configuration</h3>
              <dl className="fields">
                <Field label="Action">{d.remediation.action ?? `function:${d.remediation.function}`}</Field>
                <Field label="Invoke">{d.remediation.invokeType === 'AUTO_EXECUTION' ? 'automatic' : 'manual'}</Field>
                <Field label="Approval">{d.remediation.approval}</Field>
                <Field label="Grace period">{d.remediation.delaySeconds} s</Field>
                <Field label="Retries">
                  {d.remediation.maximumAutomaticAttempts} attempts, {d.remediation.retryAttemptSeconds} s apart
                </Field>
                <Field label="Automatic remediation">{d.state.paused ? <span className="text-bad">paused: {d.state.reason}</span> : 'running'}</Field>
              </dl>
              <details>
                <summary>Parameters and controls</summary>
                <Json
                  value={{
                    parameters: d.remediation.parameters,
                    executionControls: d.remediation.executionControls,
                    executionRole: d.remediation.executionRole,
                  }}
                />
              </details>
              <Can role="operator">
                <div className="actions">
                  {d.state.paused ? (
                    <button type="button" onClick={() => pause('resume')}>
                      Resume automatic remediation
                    </button>
                  ) : (
                    <button type="button" onClick={() => pause('pause')}>
                      Pause automatic remediation
                    </button>
                  )}
                </div>
              </Can>
              <ErrorBox error={err} />
            </section>
            {canRemediate ? (
              <ManualRemediation rule={rule.name} nonCompliant={nonCompliant} onDone={r.reload} />
            ) : (
              <section className="card">
                <h3>Manual remediation</h3>
                <p className="muted" data-testid="no-remediate">
                  Your token's role may look but not remediate: an operator or admin token can.
                </p>
              </section>
            )}
          </div>
          <h3>Execution results</h3>
          <p>
            {Object.entries(d.counts as Record<string, number>)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => (
                <span key={s} className="count">
                  <Badge value={s} /> {n}{' '}
                </span>
              ))}
          </p>
          <ExecutionTable items={d.executions} compact />
        </>
      )}
    </Show>
  );
}

export function RulePage({ name }: { name: string }) {
  const rule = useApi<any>(`/rules/${encodeURIComponent(name)}`);
  const results = useApi<{ items: any[]; total: number }>('/compliance', { rule: name, limit: 1000 });
  const exceptions = useApi<{ items: any[] }>(`/rules/${encodeURIComponent(name)}/remediation/exceptions`);
  const [msg, setMsg] = useState<string>();
  const [err, setErr] = useState<unknown>();
  const reevaluate = async () => {
    setErr(undefined);
    setMsg('Evaluating…');
    try {
      const s = await api<any>('/evaluations', { json: { rule: name } });
      setMsg(`Evaluated: ${s.evaluations ?? 0} evaluations.`);
      rule.reload();
      results.reload();
    } catch (e) {
      setMsg(undefined);
      setErr(e);
    }
  };
  if (rule.error instanceof ApiError && rule.error.status === 404) return <ErrorBox error={rule.error} />;
  return (
    <Show r={rule}>
      {(x) => {
        const items = results.data?.items ?? [];
        const nonCompliant = items.filter((i) => i.complianceType === 'NON_COMPLIANT');
        return (
          <>
            <p className="crumbs">
              <A to="#/rules">Rules</A> /
            </p>
            <h1>
              {x.name} <Risk level={x.riskLevel} /> <Badge value={x.state} />
            </h1>
            {x.description && <p>{x.description}</p>}
            <Can role="operator">
              <div className="actions">
                <button type="button" onClick={reevaluate}>
                  Re-evaluate
                </button>
                {msg && <span role="status">{msg}</span>}
              </div>
            </Can>
            <ErrorBox error={err} />
            <Tabs
              label="Rule"
              tabs={[
                [
                  `Non-compliant resources (${x.compliance.nonCompliant})`,
                  () => (
                    <Table
                      rows={nonCompliant}
                      empty="No non-compliant resources."
                      rowKey={(r) => `${r.accountId}/${r.regionId}/${r.resourceId}`}
                      cols={[
                        ['Resource', (r) => <A to={href('resources', r.resourceId, r.accountId)}>{r.resourceId}</A>],
                        ['Type', (r) => r.resourceType],
                        ['Account', (r) => r.accountId],
                        ['Region', (r) => r.regionId],
                        ['Why', (r) => r.annotation],
                        ['Since', (r) => ago(r.orderingAt)],
                        ...(x.remediation?.invokeType === 'AUTO_EXECUTION'
                          ? ([
                              [
                                'Automatic remediation',
                                (r: any) => (
                                  <AutomaticState
                                    status={r.automaticRemediation}
                                    none={x.remediation.function ? '—' : `${x.remediation.action} does not fix ${r.resourceType}`}
                                  />
                                ),
                              ],
                            ] as [string, (r: any) => any][])
                          : []),
                      ]}
                    />
                  ),
                ],
                [
                  'Definition',
                  () => (
                    <dl className="fields">
                      <Field label="Source">
                        {x.source.managed ? `managed: ${x.source.managed}` : x.source.function ? `function: ${x.source.function}` : 'custom (CEL)'}
                      </Field>
                      <Field label="Parameters">
                        <Json value={x.parameters} label="Parameters" />
                      </Field>
                      <Field label="Scope">
                        <Json value={x.scope} label="Scope" />
                      </Field>
                      <Field label="Triggers">
                        {x.triggers.map((t: any) => (t.type === 'Periodic' ? `periodic (${t.frequency})` : 'configuration change')).join(', ')}
                      </Field>
                      <Field label="Version">{`${x.version}, from ${x.origin}, updated ${ago(x.updatedAt)}`}</Field>
                      <Field label="Last evaluated">{ago(x.lastEvaluatedAt)}</Field>
                      {x.source.expression && (
                        <Field label="Expression">
                          <Json value={x.source.expression} />
                        </Field>
                      )}
                    </dl>
                  ),
                ],
                ['Remediation', () => <RemediationTab rule={x} nonCompliant={nonCompliant} />],
                [
                  `All results (${results.data?.total ?? '…'})`,
                  () => (
                    <Table
                      rows={items}
                      rowKey={(r) => `${r.accountId}/${r.regionId}/${r.resourceId}`}
                      cols={[
                        ['Resource', (r) => <A to={href('resources', r.resourceId, r.accountId)}>{r.resourceId}</A>],
                        ['Result', (r) => <Badge value={r.complianceType} />],
                        ['Why', (r) => r.annotation],
                        ['Evaluated', (r) => ago(r.invokedAt)],
                      ]}
                    />
                  ),
                ],
                [
                  'Exceptions',
                  () => (
                    <Show r={exceptions}>
                      {(d) => (
                        <Table
                          rows={d.items}
                          empty="No resources are exempted."
                          cols={[
                            ['Resource', (e) => e.resourceId],
                            ['Reason', (e) => e.reason],
                            ['Expires', (e) => e.expiresAt ?? 'never'],
                          ]}
                        />
                      )}
                    </Show>
                  ),
                ],
              ]}
            />
          </>
        );
      }}
    </Show>
  );
}
