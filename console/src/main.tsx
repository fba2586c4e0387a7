import { StrictMode, useCallback, useEffect, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import { api, ApiError, fetchRole, setUnauthorizedHandler, token, type Role } from './api';
import { RoleContext } from './ui';
import { Overview } from './pages/overview';
import { RulesPage, RulePage } from './pages/rules';
import { ResourcesPage, ResourcePage } from './pages/resources';
import { ExecutionsPage, ExecutionPage } from './pages/executions';
import { AccountsPage, EventsPage, FunctionsPage, FunctionPage, ExceptionsPage, DeliveryPage } from './pages/other';
import './styles.css';

/** The hash route's parts: #/rules/NAME is ['rules', 'NAME']. */
const readHash = () => window.location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);

function useHash(): string[] {
  const [parts, setParts] = useState(readHash);
  useEffect(() => {
    const on = () => {
      setParts(readHash());
      window.scrollTo(0, 0);
    };
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function Login({ onLogin, reason }: { onLogin: (t: string) => Promise<void>; reason?: string }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onLogin(value.trim());
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'That token was refused: it is unknown, expired or revoked.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <h1>confix</h1>
      <p>Sign in with an API token.</p>
      {reason && (
        <p role="status" className="alert">
          {reason}
        </p>
      )}
      <form onSubmit={submit}>
        <label htmlFor="token">API token</label>
        {/* biome-ignore lint/a11y/noAutofocus: the token field is the sign-in page's only input, and signing in is all the page is for */}
        <input id="token" name="token" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} required autoFocus />
        <p className="hint">
          The service writes its first admin token to <code>&lt;data dir&gt;/admin.token</code> (<code>.confix/admin.token</code> for the demo;{' '}
          <code>admin-&lt;store id&gt;.token</code> on PostgreSQL, named in the service's log); <code>confix token create --role viewer</code> makes others. The
          token is kept in this tab only.
        </p>
        {error && (
          <p role="alert" className="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !value.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

const NAV: [string, string][] = [
  ['overview', 'Overview'],
  ['rules', 'Rules'],
  ['resources', 'Resources'],
  ['executions', 'Executions'],
  ['exceptions', 'Exceptions'],
  ['accounts', 'Accounts'],
  ['events', 'Events'],
  ['functions', 'Functions'],
];

function Page({ parts }: { parts: string[] }) {
  const [section = 'overview', id, sub] = parts;
  switch (section) {
    case 'rules':
      return id ? <RulePage name={id} /> : <RulesPage />;
    case 'resources':
      return id ? <ResourcePage id={id} accountId={sub} /> : <ResourcesPage />;
    case 'executions':
      return id ? <ExecutionPage id={id} /> : <ExecutionsPage />;
    case 'exceptions':
      return <ExceptionsPage />;
    case 'accounts':
      return <AccountsPage />;
    case 'events':
      return <EventsPage />;
    case 'deliveries':
      return id ? <DeliveryPage id={id} /> : <EventsPage />;
    case 'functions':
      return id ? <FunctionPage name={id} /> : <FunctionsPage />;
    default:
      return <Overview />;
  }
}

function App() {
  const parts = useHash();
  const [session, setSession] = useState<{ role: Role; name?: string } | null>(null);
  const [checking, setChecking] = useState(!!token.get());
  const [reason, setReason] = useState<string>();

  const signOut = useCallback((why?: string) => {
    token.clear();
    setSession(null);
    setReason(why);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => signOut('Your session ended (the token was refused): sign in again.'));
    if (token.get())
      fetchRole()
        .then(setSession)
        .catch(() => token.clear())
        .finally(() => setChecking(false));
  }, [signOut]);

  const login = async (t: string) => {
    token.set(t);
    try {
      // A read every role may make proves the token; then its role.
      await api('/compliance/summary');
      setSession(await fetchRole());
      setReason(undefined);
    } catch (err) {
      token.clear();
      throw err;
    }
  };

  if (checking) return <p role="status">Loading…</p>;
  if (!session) return <Login onLogin={login} reason={reason} />;
  const section = parts[0] ?? 'overview';
  return (
    <RoleContext.Provider value={session.role}>
      <a href="#main" className="skip">
        Skip to content
      </a>
      <header className="top">
        <a href="#/overview" className="brand">
          confix
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([k, label]) => (
              <li key={k}>
                <a href={`#/${k}`} aria-current={section === k || (k === 'events' && section === 'deliveries') ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span className="role" data-testid="role">
            {session.name ? `${session.name} · ` : ''}
            {session.role}
          </span>
          <button type="button" onClick={() => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page key={parts.join('/')} parts={parts} />
      </main>
    </RoleContext.Provider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
