/** Shared pieces: links, badges, tables, JSON and diff views, errors, role gating, the trend chart. */
import { createContext, useContext, useState, type ReactNode } from 'react';
import { ApiError, roleAtLeast, type Role, type Schemas } from './api';

export const RoleContext = createContext<Role>('viewer');

/** Renders its children only for a role that may use them: one at least `atLeast`. */
export function Can({ atLeast, children }: { atLeast: Role; children: ReactNode }) {
  return roleAtLeast(useContext(RoleContext), atLeast) ? children : null;
}
export function useCan(role: Role): boolean {
  return roleAtLeast(useContext(RoleContext), role);
}

export const href = (...parts: string[]) => '#/' + parts.map(encodeURIComponent).join('/');
export function A({ to, children, className }: { to: string; children: ReactNode; className?: string }) {
  return (
    <a href={to} className={className}>
      {children}
    </a>
  );
}

export const fmtTime = (s: string | null | undefined) => (s ? new Date(s).toLocaleString() : '—');
export const ago = (s: string | null | undefined) => {
  if (!s) return '—';
  const d = (Date.now() - new Date(s).getTime()) / 1000;
  if (d < 60) return `${Math.max(0, Math.round(d))} s ago`;
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86400)} d ago`;
};
export const duration = (a: string | null | undefined, b: string | null | undefined) => {
  if (!a || !b) return '—';
  const ms = new Date(b).getTime() - new Date(a).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
};

const TONE: Record<string, string> = {
  COMPLIANT: 'ok',
  SUCCEEDED: 'ok',
  DELIVERED: 'ok',
  ACTIVE: 'ok',
  NON_COMPLIANT: 'bad',
  FAILED: 'bad',
  DEAD: 'bad',
  TIMED_OUT: 'bad',
  IN_PROGRESS: 'info',
  RUNNING: 'info',
  QUEUED: 'info',
  PENDING: 'info',
  AWAITING_APPROVAL: 'warn',
  CANCELLED: 'muted',
  NOT_APPLICABLE: 'muted',
  INSUFFICIENT_DATA: 'warn',
};
export function Badge({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  return <span className={`badge badge-${TONE[value] ?? 'muted'}`}>{value.replace(/_/g, ' ')}</span>;
}
/** A NON_COMPLIANT result's standing with its rule's automatic remediation (GET /compliance's automaticRemediation). */
export function AutomaticState({ status, none }: { status?: Schemas['AutomaticRemediationStatus']; none?: string }) {
  if (!status) return <span className="muted">{none ?? '—'}</span>;
  const of = `${status.attempts}/${status.maximumAttempts}`;
  const link = (text: string) => (status.executionId ? <A to={href('executions', status.executionId)}>{text}</A> : text);
  switch (status.state) {
    case 'DUE':
      return (
        <span>
          attempt {status.attempt}/{status.maximumAttempts} due
        </span>
      );
    case 'QUEUED':
      return (
        <span>
          {link('queued')} · attempts {of}
        </span>
      );
    case 'AWAITING_APPROVAL':
      return <span>{link('awaiting approval')}</span>;
    case 'IN_PROGRESS':
      return <span>{link('in progress')}</span>;
    case 'ATTEMPTS_EXHAUSTED':
      return (
        <span className="text-bad" title="automatic remediation leaves it alone until it changes or someone remediates it by hand">
          attempts spent ({of}) · {link('last attempt')}
        </span>
      );
    case 'REFUSED':
      return (
        <span
          className="text-bad"
          title="the last attempt failed in a way retrying cannot fix; automatic remediation leaves it alone until it changes or someone remediates it by hand"
        >
          refused, not retried · {link('last attempt')}
        </span>
      );
    case 'REJECTED':
      return <span>{link('rejected')}</span>;
    case 'EXEMPT':
      return <span className="muted">exempt</span>;
  }
}

/** Risk levels as the clouds and confix's CLI and README name them (1 critical, 2 warning, 3 info). */
export const RISK_NAMES: Record<number, string> = { 1: 'critical', 2: 'warning', 3: 'info' };
export function Risk({ level }: { level: number }) {
  const label = RISK_NAMES[level] ?? String(level);
  return (
    <span className={`badge risk-${level}`}>
      risk {level} · {label}
    </span>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiError && error.status === 403)
    return (
      <div role="alert" className="alert alert-forbidden">
        <strong>Not allowed.</strong> Your token's role may not do this: {error.message}
      </div>
    );
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div role="alert" className="alert">
      <strong>Error.</strong> {msg}
    </div>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <p className="muted" role="status">
      {what}…
    </p>
  );
}

/** Wraps a loaded value: error, loading or the page. */
export function Show<T>({ r, children }: { r: { data: T | undefined; error: unknown; loading: boolean }; children: (d: T) => ReactNode }) {
  if (r.data === undefined) return r.error ? <ErrorBox error={r.error} /> : <Loading />;
  return <>{children(r.data)}</>;
}

/** A table column: its heading and how a row shows in it. */
export type Column<T> = [string, (r: T) => ReactNode];

export function Table<T>({
  rows,
  cols,
  empty = 'Nothing here.',
  caption,
  rowKey,
}: {
  rows: T[];
  cols: Column<T>[];
  empty?: string;
  caption?: string;
  rowKey?: (r: T, i: number) => string;
}) {
  if (!rows.length) return <p className="muted empty">{empty}</p>;
  return (
    <div className="table-wrap">
      <table>
        {caption && <caption>{caption}</caption>}
        <thead>
          <tr>
            {cols.map(([h]) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={rowKey ? rowKey(r, i) : i}>
              {cols.map(([h, f]) => (
                <td key={h}>{f(r)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A string, or undefined for anything else: for the loosely typed parts of the API's answers. */
export const asString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * A scrollable block of text, named, and focusable so that keyboard users can scroll it.
 * `tabIndex` is the focusable part; `role="region"` is what lets it carry its name.
 */
export function ScrollBox({ label, className, children }: { label: string; className?: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable for keyboard users to scroll it (WCAG 2.1.1, axe's scrollable-region-focusable)
    // biome-ignore lint/a11y/useSemanticElements: a <pre> keeps the text's spacing and line breaks; a <section> around it would move the scrolling and the styling off the text
    <pre className={className ? `json ${className}` : 'json'} role="region" tabIndex={0} aria-label={label}>
      {children}
    </pre>
  );
}

export function Json({ value, label }: { value: unknown; label?: string }) {
  return <ScrollBox label={label ?? 'JSON'}>{JSON.stringify(value, null, 2)}</ScrollBox>;
}

type DiffOp = Schemas['DiffOp'];
/** Whether a step's detail is a configuration change: JSON Patch operations, as the preview step records them. */
export function isDiffOps(v: unknown): v is DiffOp[] {
  return (
    Array.isArray(v) &&
    v.every((o: unknown) => typeof o === 'object' && o !== null && 'op' in o && typeof o.op === 'string' && 'path' in o && typeof o.path === 'string')
  );
}
const show = (v: unknown) => (v === undefined ? '' : JSON.stringify(v, null, 1).replace(/\n\s*/g, ' '));
/** A configuration change as JSON Patch operations, each with the value before and after. */
export function Diff({ ops, label }: { ops: DiffOp[] | null | undefined; label?: string }) {
  if (!ops?.length) return <p className="muted">No changes.</p>;
  return (
    <ul className="diff" aria-label={label ?? 'Changes'}>
      {ops.map((o, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: the ops are an ordered JSON Patch sequence, shown as given and never reordered; the same op and path can repeat (successive removes at one array index), so its position is an op's identity
        <li key={i} className={`diff-${o.op}`}>
          <code className="diff-path">{o.path}</code>
          {o.op === 'add' && <span className="diff-line diff-plus">+ {show(o.value)}</span>}
          {o.op === 'remove' && <span className="diff-line diff-minus">− {show(o.previousValue)}</span>}
          {o.op === 'replace' && (
            <>
              <span className="diff-line diff-minus">− {show(o.previousValue)}</span>
              <span className="diff-line diff-plus">+ {show(o.value)}</span>
            </>
          )}
          {o.op === 'move' && <span className="diff-line">moved from {o.from}</span>}
        </li>
      ))}
    </ul>
  );
}

export function Tabs({ tabs, label }: { tabs: [string, () => ReactNode][]; label: string }) {
  const [active, setActive] = useState(0);
  const id = label.replace(/\W+/g, '-');
  return (
    <div>
      <div role="tablist" aria-label={label} className="tabs">
        {tabs.map(([name], i) => (
          <button
            key={name}
            type="button"
            role="tab"
            id={`${id}-tab-${i}`}
            aria-selected={i === active}
            aria-controls={`${id}-panel-${i}`}
            tabIndex={i === active ? 0 : -1}
            onClick={() => setActive(i)}
            onKeyDown={(e) => {
              if (e.key === 'ArrowRight') setActive((active + 1) % tabs.length);
              if (e.key === 'ArrowLeft') setActive((active - 1 + tabs.length) % tabs.length);
            }}
          >
            {name}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`${id}-panel-${active}`} aria-labelledby={`${id}-tab-${active}`} className="tabpanel">
        {tabs[active]?.[1]()}
      </div>
    </div>
  );
}

/** Horizontal bars: compliant vs non-compliant per key. */
export function Bars({ title, rows }: { title: string; rows: { key: ReactNode; id: string; compliant: number; nonCompliant: number }[] }) {
  const max = Math.max(1, ...rows.map((r) => r.compliant + r.nonCompliant));
  return (
    <section className="card" aria-label={title}>
      <h3>{title}</h3>
      {rows.length === 0 && <p className="muted">No results.</p>}
      <ul className="bars">
        {rows.map((r) => (
          <li key={r.id}>
            <span className="bar-key">{r.key}</span>
            <span className="bar" aria-hidden="true">
              <span className="bar-bad" style={{ width: `${(100 * r.nonCompliant) / max}%` }} />
              <span className="bar-ok" style={{ width: `${(100 * r.compliant) / max}%` }} />
            </span>
            <span className="bar-num">
              <span className="text-bad">{r.nonCompliant} non-compliant</span> · {r.compliant} compliant
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** A line chart (SVG) of non-compliant resources over time. */
export function TrendChart({ points }: { points: Schemas['CompliancePoint'][] }) {
  const w = 640;
  const h = 160;
  const pad = 28;
  const max = Math.max(1, ...points.map((p) => p.peakNonCompliantResources));
  const x = (i: number) => pad + (i * (w - pad * 2)) / Math.max(1, points.length - 1);
  const y = (v: number) => h - pad - (v * (h - pad * 2)) / max;
  const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.nonCompliantResources).toFixed(1)}`).join(' ');
  const peak = points.map((p, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(p.peakNonCompliantResources).toFixed(1)}`).join(' ');
  const last = points[points.length - 1];
  const first = points[0];
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`Non-compliant resources over time: ${last?.nonCompliantResources ?? 0} now, at most ${max}`}>
        <line x1={pad} y1={h - pad} x2={w - pad} y2={h - pad} className="axis" />
        <line x1={pad} y1={pad} x2={pad} y2={h - pad} className="axis" />
        <text x={pad - 6} y={y(max) + 4} textAnchor="end" className="tick">
          {max}
        </text>
        <text x={pad - 6} y={h - pad + 4} textAnchor="end" className="tick">
          0
        </text>
        <path d={peak} className="line-peak" />
        <path d={line} className="line-now" />
        {first && (
          <text x={pad} y={h - 8} className="tick">
            {new Date(first.at).toLocaleTimeString()}
          </text>
        )}
        {last && (
          <text x={w - pad} y={h - 8} textAnchor="end" className="tick">
            {new Date(last.at).toLocaleTimeString()}
          </text>
        )}
      </svg>
      <figcaption>
        Non-compliant resources (solid; dashed: the peak within each interval). Now: <strong>{last?.nonCompliantResources ?? 0}</strong>
      </figcaption>
    </figure>
  );
}

/** A labelled filter: "any" (the empty value) or one of the options, each a value or [value, label]. */
export function Choice({
  label,
  value,
  onChange,
  options,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: (string | [string, string])[];
}) {
  return (
    <label>
      {label}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">any</option>
        {options.map((o) => {
          const [v, text] = typeof o === 'string' ? [o, o] : o;
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
}

export function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}
