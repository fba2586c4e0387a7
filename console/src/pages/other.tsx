import { useCallback, useEffect, useState } from 'react';
import { api, type Get, type Schemas, useApi } from '../api';
import { A, asString, Badge, Can, Choice, ErrorBox, Field, ScrollBox, Show, Table, ago, fmtTime, href } from '../ui';

export function AccountsPage() {
  const accounts = useApi<Get<'/accounts'>>('/accounts');
  const org = useApi<Get<'/organization'>>('/organization', undefined, false);
  const groups = useApi<Get<'/account-groups'>>('/account-groups');
  return (
    <>
      <h1>Accounts</h1>
      <Show r={accounts}>
        {(d) => (
          <Table
            rows={d.items}
            rowKey={(a) => a.accountId}
            cols={[
              ['Account', (a) => a.accountId],
              ['Name', (a) => a.name],
              ['Regions', (a) => a.regions.join(', ')],
              ['Resources', (a) => <A to={'#/resources'}>{a.resources}</A>],
              ['Organization', (a) => `${a.organizationRole}${a.folderPath ? ` · ${a.folderPath}` : ''}`],
              ['Credentials', (a) => (a.credentials ? 'stored' : 'none')],
              ['Groups', (a) => a.groups.join(', ') || '—'],
            ]}
          />
        )}
      </Show>
      <h2>Organization</h2>
      {org.error ? <p className="muted">{org.error.message}</p> : <Show r={org}>{(o) => <OrganizationTree org={o} />}</Show>}
      <h2>Account groups</h2>
      <Show r={groups}>
        {(d) => (
          <Table
            rows={d.items}
            empty="No account groups."
            rowKey={(g) => g.name}
            cols={[
              ['Group', (g) => g.name],
              ['Owner', (g) => g.ownerAccountId],
              ['Members', (g) => `${describeMembers(g.members)}: ${(g.memberAccounts ?? []).join(', ') || 'no accounts'}`],
              [
                'Rules',
                (g) =>
                  (g.rules ?? []).map((r) => (
                    <A key={r} to={href('rules', r)}>
                      {r}{' '}
                    </A>
                  )),
              ],
              ['Problems', (g) => <span className="text-bad">{(g.problems ?? []).join('; ')}</span>],
            ]}
          />
        )}
      </Show>
    </>
  );
}

type Org = Schemas['Organization'];

function describeMembers(m: Schemas['AccountGroupMembers'] | undefined): string {
  if (!m) return '';
  if ('organization' in m && m.organization) return 'the whole organization';
  if ('folder' in m && m.folder) return `folder ${m.folder}`;
  return 'listed';
}

/** The resource directory as a tree: folders with their accounts, the management account and delegated administrators marked. */
function OrganizationTree({ org }: { org: Org }) {
  const role = (id: string) => (id === org.managementAccount ? ' [management]' : org.delegatedAdministrators.includes(id) ? ' [delegated administrator]' : '');
  const accountsIn = (path: string | null) =>
    org.accounts
      .filter((a) => a.folderPath === path)
      .map((a) => (
        <li key={a.accountId}>
          {a.accountId} <span className="muted">{a.name}</span>
          <strong>{role(a.accountId)}</strong>
        </li>
      ));
  const folder = (f: Org['folders'][number]) => (
    <li key={f.path}>
      <strong>{f.name}/</strong>
      <ul>
        {org.folders.filter((c) => c.parentPath === f.path).map(folder)}
        {accountsIn(f.path)}
      </ul>
    </li>
  );
  return (
    <ul aria-label="Organization" className="tree">
      <li>
        (root)
        <ul>
          {accountsIn(null)}
          {org.folders.filter((f) => f.parentPath === null).map(folder)}
        </ul>
      </li>
    </ul>
  );
}

/** An exception, with the name of the rule it was read from. */
type ExceptionRow = Schemas['RemediationException'] & { rule: string };

export function ExceptionsPage() {
  const rules = useApi<Get<'/rules'>>('/rules', undefined, false);
  const [items, setItems] = useState<ExceptionRow[] | undefined>();
  const [err, setErr] = useState<unknown>();
  /** Reads the exceptions of every rule with a remediation. */
  const load = useCallback((ruleList: Schemas['Rule'][]) => {
    const withRemediation = ruleList.filter((r) => r.remediation);
    Promise.all(
      withRemediation.map((r) =>
        api<Get<'/rules/{name}/remediation/exceptions'>>(`/rules/${encodeURIComponent(r.name)}/remediation/exceptions`).then((d) =>
          d.items.map((e): ExceptionRow => ({ ...e, rule: r.name })),
        ),
      ),
    )
      .then((all) => setItems(all.flat()))
      .catch(setErr);
  }, []);
  useEffect(() => {
    if (rules.data) load(rules.data.items);
  }, [rules.data, load]);
  const remove = async (e: ExceptionRow) => {
    try {
      await api(`/rules/${encodeURIComponent(e.rule)}/remediation/exceptions/${encodeURIComponent(e.resourceId)}`, {
        method: 'DELETE',
        query: { accountId: e.accountId, regionId: e.regionId, resourceType: e.resourceType },
      });
      if (rules.data) load(rules.data.items);
    } catch (x) {
      setErr(x);
    }
  };
  return (
    <>
      <h1>Remediation exceptions</h1>
      <p className="muted">
        Resources exempted from a rule's remediation (add them with <code>confix exception add</code> or in policy files).
      </p>
      <ErrorBox error={err} />
      {items === undefined ? (
        <ErrorBox error={rules.error} />
      ) : (
        <Table
          rows={items}
          empty="No exceptions."
          cols={[
            ['Rule', (e) => <A to={href('rules', e.rule)}>{e.rule}</A>],
            ['Resource', (e) => <A to={href('resources', e.resourceId, e.accountId)}>{e.resourceId}</A>],
            ['Reason', (e) => e.reason],
            ['Expires', (e) => (e.expiresAt ? fmtTime(e.expiresAt) : 'never')],
            ['Origin', (e) => e.origin ?? ''],
            [
              '',
              (e) => (
                <Can atLeast="operator">
                  <button type="button" onClick={() => window.confirm(`Remove the exception of ${e.resourceId} from ${e.rule}?`) && remove(e)}>
                    Remove
                  </button>
                </Can>
              ),
            ],
          ]}
        />
      )}
    </>
  );
}

export function EventsPage() {
  const topics = useApi<Get<'/topics'>>('/topics');
  const subs = useApi<Get<'/subscriptions'>>('/subscriptions');
  const [status, setStatus] = useState('DEAD');
  const deliveries = useApi<Get<'/deliveries'>>('/deliveries', { status, limit: 100 });
  const events = useApi<Get<'/events'>>('/events', { limit: 30 });
  const [err, setErr] = useState<unknown>();
  const redeliver = async (ids: string[]) => {
    setErr(undefined);
    try {
      await api('/deliveries/redeliver', { json: { ids } });
      deliveries.reload();
    } catch (e) {
      setErr(e);
    }
  };
  return (
    <>
      <h1>Events</h1>
      <h2>Topics</h2>
      <Show r={topics}>
        {(d) => (
          <Table
            rows={d.items}
            rowKey={(t) => t.name}
            cols={[
              ['Topic', (t) => t.name],
              ['Description', (t) => t.description],
              ['Filter', (t) => (t.filter ? <code>{JSON.stringify(t.filter)}</code> : 'every event')],
              ['Subscriptions', (t) => t.subscriptions],
            ]}
          />
        )}
      </Show>
      <h2>Subscriptions</h2>
      <Show r={subs}>
        {(d) => (
          <Table
            rows={d.items}
            empty="No subscriptions."
            rowKey={(s) => `${s.topic}/${s.name}`}
            cols={[
              ['Subscription', (s) => `${s.topic} / ${s.name}`],
              ['Format', (s) => s.format],
              [
                'Endpoint',
                (s) => (s.endpoint.type === 'webhook' ? s.endpoint.url : `function ${asString(s.endpoint.name) ?? asString(s.endpoint.function) ?? ''}`),
              ],
              ['State', (s) => <Badge value={s.state} />],
              ['Dead letters', (s) => <span className={s.deadLetters ? 'text-bad' : ''}>{s.deadLetters}</span>],
            ]}
          />
        )}
      </Show>
      <h2>Deliveries</h2>
      <div className="filters">
        <Choice label="Status" value={status} onChange={setStatus} options={[['DEAD', 'DEAD (dead letters)'], 'QUEUED', 'IN_PROGRESS', 'DELIVERED']} />
      </div>
      <ErrorBox error={err} />
      <Show r={deliveries}>
        {(d) => (
          <>
            {status === 'DEAD' && d.items.length > 0 && (
              <Can atLeast="operator">
                <button type="button" onClick={() => redeliver(d.items.map((x) => x.deliveryId))}>
                  Redeliver all {d.items.length} shown
                </button>
              </Can>
            )}
            <Table
              rows={d.items}
              empty="No deliveries."
              rowKey={(x) => x.deliveryId}
              cols={[
                ['Delivery', (x) => <A to={href('deliveries', x.deliveryId)}>{x.deliveryId}</A>],
                ['Status', (x) => <Badge value={x.status} />],
                ['Subscription', (x) => `${x.topic} / ${x.subscription}`],
                ['Event', (x) => x.eventType],
                ['Attempts', (x) => x.attempts.length],
                ['Last error', (x) => <span className="text-bad">{x.lastError ?? ''}</span>],
                ['Created', (x) => ago(x.createdAt)],
                [
                  '',
                  (x) =>
                    x.status === 'DEAD' || x.status === 'DELIVERED' ? (
                      <Can atLeast="operator">
                        <button type="button" onClick={() => redeliver([x.deliveryId])}>
                          Redeliver
                        </button>
                      </Can>
                    ) : null,
                ],
              ]}
            />
          </>
        )}
      </Show>
      <h2>Recent events</h2>
      <Show r={events}>
        {(d) => (
          <Table
            rows={d.items}
            empty="No events yet."
            rowKey={(e) => e.id}
            cols={[
              ['Time', (e) => fmtTime(e.time)],
              ['Type', (e) => e.type],
              ['Subject', (e) => e.subject ?? ''],
              ['Id', (e) => <code>{e.id}</code>],
            ]}
          />
        )}
      </Show>
    </>
  );
}

export function DeliveryPage({ id }: { id: string }) {
  const r = useApi<Get<'/deliveries/{id}'>>(`/deliveries/${encodeURIComponent(id)}`);
  return (
    <Show r={r}>
      {(d) => (
        <>
          <p className="crumbs">
            <A to="#/events">Events</A> /
          </p>
          <h1>
            Delivery {d.deliveryId} <Badge value={d.status} />
          </h1>
          <dl className="fields">
            <Field label="Subscription">{`${d.topic} / ${d.subscription}`}</Field>
            <Field label="Event">{`${d.eventType} (${d.eventId})`}</Field>
            <Field label="Next attempt">{fmtTime(d.notBefore)}</Field>
            <Field label="Delivered">{fmtTime(d.deliveredAt)}</Field>
          </dl>
          <Table
            rows={d.attempts}
            empty="No attempts yet."
            cols={[
              ['#', (a) => a.attempt],
              ['At', (a) => fmtTime(a.at)],
              ['Outcome', (a) => (a.ok ? <Badge value="SUCCEEDED" /> : <Badge value="FAILED" />)],
              ['HTTP status', (a) => a.statusCode ?? ''],
              ['Error', (a) => a.error ?? ''],
              ['Duration', (a) => `${a.durationMs} ms`],
            ]}
          />
        </>
      )}
    </Show>
  );
}

export function FunctionsPage() {
  const fns = useApi<Get<'/functions'>>('/functions');
  const inv = useApi<Get<'/invocations'>>('/invocations', { limit: 50 });
  return (
    <>
      <h1>Functions</h1>
      <Show r={fns}>
        {(d) => (
          <Table
            rows={d.items}
            empty="No functions deployed (confix function deploy NAME --file …)."
            rowKey={(f) => f.name}
            cols={[
              ['Function', (f) => <A to={href('functions', f.name)}>{f.name}</A>],
              ['Description', (f) => f.description],
              ['Version', (f) => f.latestVersion],
              ['Role', (f) => f.latest.role ?? '—'],
              ['Timeout', (f) => `${f.latest.timeoutSeconds} s`],
              ['Updated', (f) => ago(f.updatedAt)],
            ]}
          />
        )}
      </Show>
      <h2>Recent invocations</h2>
      <Show r={inv}>{(d) => <Invocations items={d.items} />}</Show>
    </>
  );
}

function Invocations({ items }: { items: Schemas['InvocationSummary'][] }) {
  return (
    <Table
      rows={items}
      empty="No invocations."
      rowKey={(i) => i.invocationId}
      cols={[
        ['Invocation', (i) => <code>{i.invocationId}</code>],
        ['Function', (i) => `${i.functionName} v${i.version}`],
        ['Status', (i) => <Badge value={i.status} />],
        [
          'Source',
          (i) =>
            i.source.type === 'remediation' && i.source.id ? (
              <A to={href('executions', i.source.id)}>{i.source.id}</A>
            ) : (
              `${i.source.type}${i.source.rule ? ` ${i.source.rule}` : ''}${i.source.subscription ? ` ${i.source.subscription}` : ''}`
            ),
        ],
        ['Error', (i) => (i.error ? <span className="text-bad">{`${i.error.type}: ${i.error.message}`}</span> : '')],
        ['Duration', (i) => (i.durationMs == null ? '—' : `${Math.round(i.durationMs)} ms`)],
        ['Created', (i) => ago(i.createdAt)],
      ]}
    />
  );
}

export function FunctionPage({ name }: { name: string }) {
  const f = useApi<Get<'/functions/{name}'>>(`/functions/${encodeURIComponent(name)}`);
  const inv = useApi<Get<'/invocations'>>('/invocations', { function: name, limit: 50 });
  const logs = useApi<Get<'/functions/{name}/logs'>>(`/functions/${encodeURIComponent(name)}/logs`, { limit: 200 });
  return (
    <Show r={f}>
      {(d) => (
        <>
          <p className="crumbs">
            <A to="#/functions">Functions</A> /
          </p>
          <h1>{d.name}</h1>
          <p>{d.description}</p>
          <dl className="fields">
            <Field label="Latest version">{d.latestVersion}</Field>
            <Field label="Role">{d.latest.role ?? '—'}</Field>
            <Field label="Handler">{`${d.latest.fileName} · ${d.latest.handler}`}</Field>
            <Field label="Limits">{`${d.latest.timeoutSeconds} s, ${d.latest.memoryMb} MB`}</Field>
            <Field label="Used by">{d.usedBy.join(', ') || '—'}</Field>
          </dl>
          <h2>Invocations</h2>
          <Show r={inv}>{(x) => <Invocations items={x.items} />}</Show>
          <h2>Logs</h2>
          <Show r={logs}>
            {(x) =>
              x.items.length ? (
                <ScrollBox label="Logs" className="logs">
                  {x.items.map((l) => `${l.time} ${l.level.toUpperCase().padEnd(5)} ${l.invocationId ?? ''} ${l.message}`).join('\n')}
                </ScrollBox>
              ) : (
                <p className="muted">No log lines.</p>
              )
            }
          </Show>
        </>
      )}
    </Show>
  );
}
