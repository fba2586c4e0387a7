import { useEffect, useState } from 'react';
import { api, ApiError, type Get, type Post, type Schemas, useApi } from '../api';
import {
  A,
  ago,
  asString,
  AutomaticState,
  Badge,
  Can,
  type Column,
  Diff,
  ErrorBox,
  Field,
  href,
  isDiffOps,
  Json,
  Risk,
  Show,
  Table,
  Tabs,
  useCan,
} from '../ui';
import { ExecutionTable } from './executions';

type Rule = Schemas['Rule'];
type Result = Schemas['EvaluationResultWithRemediation'];
type Execution = Schemas['RemediationExecution'];
type Failed = Post<'/rules/{name}/remediation/executions'>['failed'];

/**
 * A rule's remediation as the console shows it. The OpenAPI document leaves it
 * open (an object of anything: Rule.remediation, GET /rules/{name}/remediation);
 * these are the fields the service's remediation configuration has.
 */
interface Remediation {
  action?: string;
  function?: string;
  invokeType?: string;
  approval?: string;
  delaySeconds?: number;
  maximumAutomaticAttempts?: number;
  retryAttemptSeconds?: number;
  executionRole?: string;
  parameters?: unknown;
  executionControls?: unknown;
}
const asNumber = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
function remediationOf(r: Record<string, unknown>): Remediation {
  return {
    action: asString(r.action),
    function: asString(r.function),
    invokeType: asString(r.invokeType),
    approval: asString(r.approval),
    delaySeconds: asNumber(r.delaySeconds),
    maximumAutomaticAttempts: asNumber(r.maximumAutomaticAttempts),
    retryAttemptSeconds: asNumber(r.retryAttemptSeconds),
    executionRole: asString(r.executionRole),
    parameters: r.parameters,
    executionControls: r.executionControls,
  };
}
const describeRemediation = (m: Remediation) => `${m.action ?? `function:${m.function}`} (${m.invokeType === 'AUTO_EXECUTION' ? 'automatic' : 'manual'})`;

export function RulesPage() {
  const r = useApi<Get<'/rules'>>('/rules');
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
              ['Remediation', (x) => (x.remediation ? describeRemediation(remediationOf(x.remediation)) : '—')],
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
function ManualRemediation({ rule, nonCompliant, onDone }: { rule: string; nonCompliant: Result[]; onDone: () => void }) {
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [phase, setPhase] = useState<'idle' | 'previewing' | 'preview' | 'running' | 'done'>('idle');
  const [preview, setPreview] = useState<Execution[]>([]);
  const [failed, setFailed] = useState<Failed>([]);
  const [queued, setQueued] = useState<Execution[]>([]);
  const [err, setErr] = useState<unknown>();
  // Selected by the whole key: the same id may name resources in two accounts.
  const keyOf = (r: Result) => `${r.accountId}/${r.regionId}/${r.resourceType}/${r.resourceId}`;
  const ids = nonCompliant.map(keyOf);
  const byKey = new Map(nonCompliant.map((r) => [keyOf(r), r]));
  // biome-ignore lint/correctness/useExhaustiveDependencies: keyed on the ids' text, not the array (a new one every render): the selection is trimmed only when the non-compliant resources change
  useEffect(() => {
    setSelected((s) => new Set([...s].filter((id) => ids.includes(id))));
  }, [ids.join(',')]);

  const start = async (dryRun: boolean) => {
    setErr(undefined);
    return api<Post<'/rules/{name}/remediation/executions'>>(`/rules/${encodeURIComponent(rule)}/remediation/executions`, {
      json: {
        resources: [...selected].flatMap((k) => {
          const r = byKey.get(k);
          return r ? [{ resourceId: r.resourceId, accountId: r.accountId, regionId: r.regionId, resourceType: r.resourceType }] : [];
        }),
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
        items = await Promise.all(items.map((x) => api<Get<'/executions/{id}'>>(`/executions/${encodeURIComponent(x.executionId)}`)));
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
          {nonCompliant.map((r) => {
            const id = keyOf(r);
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
        <section className="preview" aria-label="Dry-run preview" data-testid="dry-run-preview">
          <h4>Dry run: what would change (nothing has changed yet)</h4>
          {preview.map((x) => {
            const step = [...x.steps].reverse().find((s) => s.name === 'preview') ?? x.steps[x.steps.length - 1];
            return (
              <div key={x.executionId} className="preview-item">
                <p>
                  <strong>{x.resourceId}</strong> <Badge value={x.status} /> {step?.message ?? x.errorMessage}{' '}
                  <A to={href('executions', x.executionId)}>dry run {x.executionId}</A>
                </p>
                {step && isDiffOps(step.detail) && <Diff ops={step.detail} label={`Changes to ${x.resourceId}`} />}
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
        </section>
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

function RemediationTab({ rule, nonCompliant }: { rule: Rule; nonCompliant: Result[] }) {
  const r = useApi<Get<'/rules/{name}/remediation'>>(`/rules/${encodeURIComponent(rule.name)}/remediation`, { limit: 100 });
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
      {(d) => {
        const m = remediationOf(d.remediation);
        return (
          <>
            <div className="grid">
              <section className="card" aria-labelledby="rc-h">
                <h3 id="rc-h">Configuration</h3>
                <dl className="fields">
                  <Field label="Action">{m.action ?? `function:${m.function}`}</Field>
                  <Field label="Invoke">{m.invokeType === 'AUTO_EXECUTION' ? 'automatic' : 'manual'}</Field>
                  <Field label="Approval">{m.approval}</Field>
                  <Field label="Grace period">{m.delaySeconds} s</Field>
                  <Field label="Retries">
                    {m.maximumAutomaticAttempts} attempts, {m.retryAttemptSeconds} s apart
                  </Field>
                  <Field label="Automatic remediation">{d.state.paused ? <span className="text-bad">paused: {d.state.reason}</span> : 'running'}</Field>
                </dl>
                <details>
                  <summary>Parameters and controls</summary>
                  <Json
                    value={{
                      parameters: m.parameters,
                      executionControls: m.executionControls,
                      executionRole: m.executionRole,
                    }}
                  />
                </details>
                <Can atLeast="operator">
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
              {Object.entries(d.counts)
                .filter(([, n]) => n > 0)
                .map(([s, n]) => (
                  <span key={s} className="count">
                    <Badge value={s} /> {n}{' '}
                  </span>
                ))}
            </p>
            <ExecutionTable items={d.executions} compact />
          </>
        );
      }}
    </Show>
  );
}

export function RulePage({ name }: { name: string }) {
  const rule = useApi<Get<'/rules/{name}'>>(`/rules/${encodeURIComponent(name)}`);
  const results = useApi<Get<'/compliance'>>('/compliance', { rule: name, limit: 1000 });
  const exceptions = useApi<Get<'/rules/{name}/remediation/exceptions'>>(`/rules/${encodeURIComponent(name)}/remediation/exceptions`);
  const [msg, setMsg] = useState<string>();
  const [err, setErr] = useState<unknown>();
  const reevaluate = async () => {
    setErr(undefined);
    setMsg('Evaluating…');
    try {
      const s = await api<Post<'/evaluations'>>('/evaluations', { json: { rule: name } });
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
        const m = x.remediation ? remediationOf(x.remediation) : undefined;
        const automatic: Column<Result>[] =
          m?.invokeType === 'AUTO_EXECUTION'
            ? [
                [
                  'Automatic remediation',
                  (r) => <AutomaticState status={r.automaticRemediation} none={m.function ? '—' : `${m.action} does not fix ${r.resourceType}`} />,
                ],
              ]
            : [];
        return (
          <>
            <p className="crumbs">
              <A to="#/rules">Rules</A> /
            </p>
            <h1>
              {x.name} <Risk level={x.riskLevel} /> <Badge value={x.state} />
            </h1>
            {x.description && <p>{x.description}</p>}
            <Can atLeast="operator">
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
                        ...automatic,
                      ]}
                    />
                  ),
                ],
                [
                  'Definition',
                  () => (
                    <dl className="fields">
                      <Field label="Source">
                        {'managed' in x.source && x.source.managed
                          ? `managed: ${x.source.managed}`
                          : 'function' in x.source && x.source.function
                            ? `function: ${x.source.function}`
                            : 'custom (CEL)'}
                      </Field>
                      <Field label="Parameters">
                        <Json value={x.parameters} label="Parameters" />
                      </Field>
                      <Field label="Scope">
                        <Json value={x.scope} label="Scope" />
                      </Field>
                      <Field label="Triggers">
                        {x.triggers.map((t) => (t.type === 'Periodic' ? `periodic (${t.frequency})` : 'configuration change')).join(', ')}
                      </Field>
                      <Field label="Version">{`${x.version}, from ${x.origin}, updated ${ago(x.updatedAt)}`}</Field>
                      <Field label="Last evaluated">{ago(x.lastEvaluatedAt)}</Field>
                      {'cel' in x.source && x.source.cel && (
                        <Field label="Expression">
                          <Json value={x.source.cel} />
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
