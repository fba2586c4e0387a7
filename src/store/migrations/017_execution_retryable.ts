// Whether a failed execution's failure is one retrying can help (throttling,
// timeouts, 5xx) or not (a refusal, a validation error, a service-managed or
// missing resource): automatic remediation retries only the first kind.
export default {
  version: 17,
  name: 'a failed execution says whether retrying can help',
  sql: /* sql */ `
ALTER TABLE remediation_executions ADD COLUMN retryable boolean;
`,
};
