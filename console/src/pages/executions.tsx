import { useState } from 'react';
import { api, type Get, type Post, type Schemas, useApi } from '../api';
import { A, Badge, Can, Choice, type Column, Diff, ErrorBox, Field, isDiffOps, Json, Show, Table, ago, duration, fmtTime, href } from '../ui';
import { EXECUTION_STATUSES } from '../../../src/remediation/statuses';

type Execution = Schemas['RemediationExecution'];

// The one list of statuses, shared with the service (src/remediation/statuses.ts has no node or database imports).
export const STATUSES = [...EXECUTION_STATUSES];

export function ExecutionTable({ items, compact }: { items: Execution[]; compact?: boolean }) {
  const rule: Column<Execution>[] = compact ? [] : [['Rule', (x) => <A to={href('rules', x.ruleName)}>{x.ruleName}</A>]];
  const account: Column<Execution>[] = compact ? [] : [['Account', (x) => x.accountId]];
  return (
    <Table
      rows={items}
      empty="No executions."
      rowKey={(x) => x.executionId}
      cols={[
        ['Execution', (x) => <A to={href('executions', x.executionId)}>{x.executionId}</A>],
        ['Status', (x) => <Badge value={x.status} />],
        ...rule,
        ['Resource', (x) => <A to={href('resources', x.resourceId, x.accountId)}>{x.resourceId}</A>],
        ...account,
        ['Trigger', (x) => `${x.trigger.toLowerCase()}${x.dryRun ? ' · dry run' : ''}${x.rollbackOf ? ' · rollback' : ''}`],
        [
          'Failure reason',
          (x) =>
            x.errorMessage ? (
              <span className="text-bad">
                {x.status === 'FAILED' && x.retryable !== null && x.retryable !== undefined && (
                  <span
                    className="badge"
                    title={x.retryable ? 'retrying can help: retried while attempts remain' : 'the same attempt would fail the same way: not retried'}
                  >
                    {x.retryable ? 'retryable' : 'permanent'}
                  </span>
                )}{' '}
                {x.errorCode ? `${x.errorCode}: ` : ''}
                {x.errorMessage}
              </span>
            ) : (
              ''
            ),
        ],
        ['Created', (x) => ago(x.createdAt)],
      ]}
    />
  );
}

export function ExecutionsPage() {
  const [rule, setRule] = useState('');
  const [status, setStatus] = useState('');
  const [accountId, setAccount] = useState('');
  const rules = useApi<Get<'/rules'>>('/rules', undefined, false);
  const accounts = useApi<Get<'/accounts'>>('/accounts', undefined, false);
  const list = useApi<Get<'/executions'>>('/executions', { rule, status, accountId, limit: 200 });
  return (
    <>
      <h1>Executions</h1>
      <form className="filters" aria-label="Filter executions" onSubmit={(e) => e.preventDefault()}>
        <Choice label="Rule" value={rule} onChange={setRule} options={(rules.data?.items ?? []).map((r) => r.name)} />
        <Choice label="Status" value={status} onChange={setStatus} options={STATUSES} />
        <Choice
          label="Account"
          value={accountId}
          onChange={setAccount}
          options={(accounts.data?.items ?? []).map((a): [string, string] => [a.accountId, `${a.accountId} (${a.name})`])}
        />
      </form>
      <Show r={list}>{(d) => <ExecutionTable items={d.items} />}</Show>
    </>
  );
}

export function Steps({ steps }: { steps: Execution['steps'] }) {
  if (!steps.length) return <p className="muted">No steps yet.</p>;
  return (
    <ol className="steps" aria-label="Steps">
      {steps.map((s) => (
        <li key={`${s.name}@${s.startedAt}`} className={`step step-${s.status}`}>
          <div className="step-head">
            <strong className="step-name">{s.name}</strong> <Badge value={s.status} /> <span className="muted">{duration(s.startedAt, s.finishedAt)}</span>
          </div>
          <div>{s.message}</div>
          {isDiffOps(s.detail) ? <Diff ops={s.detail} label={`Change in step ${s.name}`} /> : null}
          {s.detail && !isDiffOps(s.detail) ? (
            <details>
              <summary>Detail</summary>
              <Json value={s.detail} />
            </details>
          ) : null}
        </li>
      ))}
    </ol>
  );
}

export function ExecutionPage({ id }: { id: string }) {
  const r = useApi<Get<'/executions/{id}'>>(`/executions/${encodeURIComponent(id)}`);
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const act = async (what: 'rollback' | 'approve' | 'reject') => {
    setBusy(true);
    setErr(undefined);
    try {
      const json = what === 'reject' ? { reason: window.prompt('Why reject it?') || 'rejected in the console' } : what === 'approve' ? {} : undefined;
      const res = await api<Post<`/executions/{id}/${typeof what}`>>(`/executions/${encodeURIComponent(id)}/${what}`, { method: 'POST', json: json ?? {} });
      if (what === 'rollback' && res?.executionId) setDone(res.executionId);
      r.reload();
    } catch (e) {
      setErr(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Show r={r}>
      {(x) => (
        <>
          <p className="crumbs">
            <A to="#/executions">Executions</A> /
          </p>
          <h1>
            Execution {x.executionId} <Badge value={x.status} />
          </h1>
          <dl className="fields">
            <Field label="Rule">
              <A to={href('rules', x.ruleName)}>{x.ruleName}</A>
            </Field>
            <Field label="Resource">
              <A to={href('resources', x.resourceId, x.accountId)}>{x.resourceId}</A> ({x.resourceType}, {x.accountId}, {x.regionId})
            </Field>
            <Field label="Action">{x.action}</Field>
            <Field label="Trigger">
              {x.trigger}
              {x.dryRun ? ' · dry run (nothing changed)' : ''} · attempt {x.attempt}
            </Field>
            {x.rollbackOf && (
              <Field label="Rolls back">
                <A to={href('executions', x.rollbackOf)}>{x.rollbackOf}</A>
              </Field>
            )}
            <Field label="Created">{fmtTime(x.createdAt)}</Field>
            <Field label="Started">{fmtTime(x.startedAt)}</Field>
            <Field label="Finished">
              {fmtTime(x.finishedAt)} ({duration(x.startedAt, x.finishedAt)})
            </Field>
            {x.decidedBy && <Field label="Decided by">{`${x.decidedBy} at ${fmtTime(x.decidedAt)}`}</Field>}
          </dl>
          {x.errorMessage && (
            <div role="alert" className="alert" data-testid="execution-error">
              <strong>{x.errorCode ?? 'Failed'}:</strong> {x.errorMessage}
              {x.retryable === false && <span className="muted"> (a failure retrying cannot fix: not retried)</span>}
            </div>
          )}
          <Can atLeast="operator">
            <div className="actions">
              {x.status === 'SUCCEEDED' && !x.dryRun && x.priorState != null && (
                <button type="button" disabled={busy} onClick={() => window.confirm('Restore the prior state recorded by this execution?') && act('rollback')}>
                  Roll back
                </button>
              )}
              {x.status === 'AWAITING_APPROVAL' && (
                <>
                  <button type="button" className="primary" disabled={busy} onClick={() => act('approve')}>
                    Approve
                  </button>
                  <button type="button" disabled={busy} onClick={() => act('reject')}>
                    Reject
                  </button>
                </>
              )}
            </div>
          </Can>
          {done && (
            <p role="status">
              Rollback queued as <A to={href('executions', done)}>{done}</A>.
            </p>
          )}
          <ErrorBox error={err} />
          <h2>Steps</h2>
          <Steps steps={x.steps} />
          <h2>Parameters</h2>
          <Json value={x.parameters} label="Parameters" />
          <h2>Prior state</h2>
          {x.priorState == null ? <p className="muted">None recorded.</p> : <Json value={x.priorState} label="Prior state" />}
        </>
      )}
    </Show>
  );
}
