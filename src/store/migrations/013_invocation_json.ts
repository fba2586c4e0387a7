// An invocation's input and result are kept as given (json, not jsonb): a
// handler that prints or signs its event sees the keys in the order they
// were sent, as EventBridge and Message Service deliver them.
export default {
  version: 13,
  name: 'invocation input and result keep their key order',
  sql: /* sql */ `
ALTER TABLE invocations ALTER COLUMN input TYPE json USING input::json;
ALTER TABLE invocations ALTER COLUMN result TYPE json USING result::json;
`,
};
