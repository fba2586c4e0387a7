import { type Get, type Schemas, useApi } from '../api';
import { A, ago, Badge, Bars, href, Risk, RISK_NAMES, Show, Table, TrendChart } from '../ui';
import { ExecutionTable } from './executions';

type Counts = Schemas['ComplianceCounts'] & { nonCompliantResources?: number };
/** GET /compliance/summary: the OpenAPI document leaves its body open (an object of anything); this is what the service answers in it. */
type Summary = Get<'/compliance/summary'> & {
  totals: Counts & { nonCompliantResources: number };
  byRiskLevel: Record<string, Counts>;
  byAccount: Record<string, Counts>;
  byResourceType: Record<string, Counts>;
};

const bars = (m: Record<string, Counts>, link?: (k: string) => string, label?: (k: string) => string) =>
  Object.entries(m)
    .sort((a, b) => b[1].nonCompliant - a[1].nonCompliant || a[0].localeCompare(b[0]))
    .map(([k, c]) => ({
      id: k,
      key: link ? <A to={link(k)}>{label ? label(k) : k}</A> : label ? label(k) : k,
      compliant: c.compliant,
      nonCompliant: c.nonCompliant,
    }));

export function Overview() {
  const summary = useApi<Summary>('/compliance/summary');
  const rules = useApi<Get<'/rules'>>('/rules');
  const trend = useApi<Get<'/compliance/trend'>>('/compliance/trend', { buckets: 60 });
  const nonCompliant = useApi<Get<'/compliance'>>('/compliance', { complianceType: 'NON_COMPLIANT', limit: 50 });
  const recent = useApi<Get<'/executions'>>('/executions', { limit: 10 });
  const failed = useApi<Get<'/executions'>>('/executions', { status: 'FAILED', limit: 5 });
  return (
    <>
      <h1>Overview</h1>
      <Show r={summary}>
        {(s) => (
          <section className="tiles" aria-label="Totals">
            <div className="tile tile-bad">
              <span className="tile-num" data-testid="non-compliant-resources">
                {s.totals.nonCompliantResources}
              </span>
              non-compliant resources
            </div>
            <div className="tile tile-bad">
              <span className="tile-num">{s.totals.nonCompliant}</span>non-compliant results
            </div>
            <div className="tile tile-ok">
              <span className="tile-num">{s.totals.compliant}</span>compliant results
            </div>
            <div className="tile">
              <span className="tile-num">{s.totals.notApplicable}</span>not applicable
            </div>
          </section>
        )}
      </Show>
      <section className="card" aria-labelledby="trend-h">
        <h2 id="trend-h">Trend</h2>
        <Show r={trend}>{(t) => <TrendChart points={t.points} />}</Show>
      </section>
      <Show r={summary}>
        {(s) => (
          <div className="grid">
            <Bars title="By risk level" rows={bars(s.byRiskLevel, undefined, (k) => `risk ${k} · ${RISK_NAMES[Number(k)] ?? ''}`)} />
            <Bars
              title="By rule"
              rows={(rules.data?.items ?? [])
                .filter((r) => r.state === 'ACTIVE')
                .sort((a, b) => b.compliance.nonCompliant - a.compliance.nonCompliant)
                .map((r) => ({
                  id: r.name,
                  key: <A to={href('rules', r.name)}>{r.name}</A>,
                  compliant: r.compliance.compliant,
                  nonCompliant: r.compliance.nonCompliant,
                }))}
            />
            <Bars title="By account" rows={bars(s.byAccount)} />
            <Bars title="By resource type" rows={bars(s.byResourceType)} />
          </div>
        )}
      </Show>
      <section aria-labelledby="nc-h">
        <h2 id="nc-h">Non-compliant now</h2>
        <Show r={nonCompliant}>
          {(d) => (
            <Table
              caption={`${d.total} non-compliant results`}
              rows={d.items}
              empty="Everything is compliant."
              rowKey={(r) => `${r.ruleId}/${r.accountId}/${r.regionId}/${r.resourceId}`}
              cols={[
                ['Resource', (r) => <A to={href('resources', r.resourceId, r.accountId)}>{r.resourceId}</A>],
                ['Type', (r) => r.resourceType],
                ['Rule', (r) => <A to={href('rules', r.ruleName)}>{r.ruleName}</A>],
                ['Risk', (r) => <Risk level={r.riskLevel} />],
                ['Why', (r) => r.annotation],
                ['Since', (r) => ago(r.orderingAt)],
              ]}
            />
          )}
        </Show>
      </section>
      <div className="grid">
        <section aria-labelledby="recent-h">
          <h2 id="recent-h">Recent executions</h2>
          <Show r={recent}>{(d) => <ExecutionTable items={d.items} compact />}</Show>
        </section>
        <section aria-labelledby="failed-h">
          <h2 id="failed-h">Recent failures</h2>
          <Show r={failed}>
            {(d) => (
              <Table
                rows={d.items}
                empty="No failed executions."
                cols={[
                  ['Execution', (x) => <A to={href('executions', x.executionId)}>{x.executionId}</A>],
                  ['Rule', (x) => x.ruleName],
                  ['Resource', (x) => x.resourceId],
                  [
                    'Why',
                    (x) => (
                      <span className="text-bad">
                        {x.errorCode ? `${x.errorCode}: ` : ''}
                        {x.errorMessage}
                      </span>
                    ),
                  ],
                  ['When', (x) => ago(x.finishedAt)],
                ]}
              />
            )}
          </Show>
        </section>
      </div>
      <p className="muted">
        <Badge value="COMPLIANT" /> <Badge value="NON_COMPLIANT" /> Pages refresh every few seconds.
      </p>
    </>
  );
}
