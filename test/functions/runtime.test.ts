import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { checkFunctionCode, invoke, runFunction, type FunctionDefinition } from '../../src/functions/runtime.js';

const fn = (source: string, more: Partial<FunctionDefinition> = {}): FunctionDefinition => ({
  name: 'test-fn',
  fileName: 'handler.ts',
  source,
  timeoutSeconds: 10,
  memoryMb: 128,
  ...more,
});

const CREDS = { accessKeyId: 'STS.fc-key', accessKeySecret: 'fc-secret', securityToken: 'fc-token', expiration: '2030-01-01T00:00:00Z' };

// A stand-in for the confix service: records what arrives and answers as the API would.
interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}
let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
before(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.url === '/api/v1/cloud/sts/assume-role')
        return send(200, {
          credentials: { accessKeyId: 'STS.member-key', accessKeySecret: 'member-secret', securityToken: 'member-token', expiration: '2030-01-01T01:00:00Z' },
          assumedRoleUser: { arn: `${(body as { roleArn: string }).roleArn}/${(body as { roleSessionName: string }).roleSessionName}` },
        });
      if (req.url?.startsWith('/api/v1/cloud/actions/')) {
        if (req.headers['x-cloud-access-key-id'] === 'STS.denied')
          return send(403, { error: { code: 'NoPermission', message: 'STS.denied is not allowed ecs:RevokeSecurityGroup' } });
        return send(200, { requestId: 'r-1', action: decodeURIComponent(req.url.split('/').pop()!), changed: true, result: { ok: true } });
      }
      if (req.url === '/api/v1/rules/approved-amis/remediation/executions')
        return send(200, { queued: [{ executionId: 'e-1', ruleName: 'approved-amis', resourceId: 'i-1', status: 'QUEUED', dryRun: false }], failed: [] });
      return send(404, { error: { code: 'RuleNotFound', message: 'no rule missing-rule' } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

test('a TypeScript handler returns its value, with the context Function Compute gives', async (t) => {
  const r = await runFunction(
    fn(`
      interface Item { resourceId: string; regionId: string }
      export async function handler(event: string, context: { functionName: string; functionVersion: string; requestId: string; memoryLimitInMB: number; timeoutSeconds: number; getRemainingTimeInMillis(): number; credentials?: { accessKeyId: string } }) {
        const items: Item[] = JSON.parse(event);
        return {
          ids: items.map((i) => i.resourceId),
          name: context.functionName,
          version: context.functionVersion,
          requestId: context.requestId,
          memory: context.memoryLimitInMB,
          timeout: context.timeoutSeconds,
          remaining: context.getRemainingTimeInMillis(),
          keyId: context.credentials?.accessKeyId,
        };
      }
    `),
    {
      event: JSON.stringify([
        { resourceId: 'i-1', regionId: 'cn-hangzhou' },
        { resourceId: 'i-2', regionId: 'cn-hangzhou' },
      ]),
      requestId: 'req-1',
      credentials: CREDS,
    },
  );
  assert.equal(r.status, 'SUCCEEDED', JSON.stringify(r.error));
  const res = r.result as Record<string, unknown>;
  assert.deepEqual(res.ids, ['i-1', 'i-2']);
  assert.equal(res.name, 'test-fn');
  assert.equal(res.version, '$LATEST');
  assert.equal(res.requestId, 'req-1');
  assert.equal(res.memory, 128);
  assert.equal(res.timeout, 10);
  assert.ok((res.remaining as number) > 5000 && (res.remaining as number) <= 10_000);
  assert.equal(res.keyId, 'STS.fc-key');
  assert.equal(r.requestId, 'req-1');
  assert.ok(r.initDurationMs! > 0 && r.initDurationMs! <= r.durationMs);
  assert.ok(r.maxRssMb! > 0);
  t.diagnostic(
    `one invocation: ${r.durationMs} ms, of which ${r.initDurationMs} ms until the handler was called (compile, process start, load); peak RSS ${r.maxRssMb} MB`,
  );
});

test('JavaScript in both module styles, and Function Compute callback handlers', async () => {
  const sources: [string, string][] = [
    ['handler.js', 'exports.handler = async (event) => event.n + 1;'],
    ['handler.js', 'module.exports.handler = function (event, context, callback) { setTimeout(() => callback(null, event.n + 2), 5); };'],
    ['handler.js', 'module.exports = { handler: async (event) => event.n + 3 };'],
    ['handler.mjs', 'export const handler = async (event) => event.n + 4;'],
    ['handler.ts', 'export default { handler: async (event: { n: number }) => event.n + 5 };'],
  ];
  const rs = await Promise.all(sources.map(([fileName, source]) => runFunction(fn(source, { fileName }), { event: { n: 1 } })));
  assert.deepEqual(
    rs.map((r) => [r.status, r.result]),
    [2, 3, 4, 5, 6].map((n) => ['SUCCEEDED', n]),
  );
});

test('logs: console and context.logger lines in order, with levels and times', async () => {
  const r = await runFunction(
    fn(`
      export async function handler(event: unknown, context: any) {
        console.log('starting', { n: 1 });
        context.logger.info('processing %s', 'i-1');
        console.warn('careful');
        context.logger.debug('detail');
        await new Promise((r) => setTimeout(r, 5));
        console.error(new Error('shown, not thrown').message);
        context.logger.error('failed once');
        return 'ok';
      }
    `),
  );
  assert.equal(r.status, 'SUCCEEDED');
  assert.deepEqual(
    r.logs.map((l) => [l.level, l.message]),
    [
      ['info', 'starting { n: 1 }'],
      ['info', 'processing i-1'],
      ['warn', 'careful'],
      ['debug', 'detail'],
      ['error', 'shown, not thrown'],
      ['error', 'failed once'],
    ],
  );
  for (const l of r.logs) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(r.logsTruncated, 0);
});

test('logs past the cap are dropped and counted', async () => {
  const r = await runFunction(
    fn('export async function handler() { for (let i = 0; i < 2000; i++) console.log("line " + i + " " + "x".repeat(50)); return 1; }'),
    { maxLogBytes: 10_000 },
  );
  assert.equal(r.status, 'SUCCEEDED');
  assert.ok(r.logs.length > 50 && r.logs.length < 200, `${r.logs.length} lines kept`);
  assert.equal(r.logs[0]!.message.slice(0, 7), 'line 0 ');
  assert.equal(r.logs.length + r.logsTruncated, 2000);
});

test('a handler that throws fails with its error, the stack pointing at the TypeScript line', async () => {
  const r = await runFunction(
    fn(`type Resource = { id: string };

export async function handler(event: Resource) {
  const id: string = event.id;
  throw new RangeError('no such instance ' + id);
}
`),
    { event: { id: 'i-9' } },
  );
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error?.type, 'RangeError');
  assert.equal(r.error?.message, 'no such instance i-9');
  assert.match(r.error!.stack!, /handler\.ts:5:9/);
  assert.doesNotMatch(r.error!.stack!, /confix:runtime|node:internal/);
});

test('an error thrown later, outside the handler (a timer), also fails the invocation', async () => {
  const r = await runFunction(
    fn('export async function handler() { setTimeout(() => { throw new Error("late"); }, 1); await new Promise((r) => setTimeout(r, 1000)); }'),
  );
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error?.message, 'late');
});

test('an endless loop is stopped at the timeout', async () => {
  const r = await runFunction(fn('export async function handler() { console.log("looping"); for (;;) {} }', { timeoutSeconds: 1 }));
  assert.equal(r.status, 'TIMED_OUT');
  assert.equal(r.error?.type, 'FunctionTimeout');
  assert.match(r.error!.message, /timeout of 1 s/);
  assert.ok(r.durationMs >= 1000 && r.durationMs < 2500, `${r.durationMs} ms`);
  assert.deepEqual(
    r.logs.map((l) => l.message),
    ['looping'],
  );
});

test('allocating without end fails at the memory limit, and confix survives a single huge allocation', async () => {
  const hog = await runFunction(
    fn('export async function handler() { const a: number[][] = []; for (;;) a.push(new Array(100_000).fill(1.5)); }', { memoryMb: 64 }),
  );
  assert.equal(hog.status, 'FAILED');
  assert.equal(hog.error?.type, 'MemoryLimitExceeded');
  assert.match(hog.error!.message, /exceeded its memory limit of 64 MB/);
  // One allocation far past the limit: in a worker thread this aborts the whole process (nodejs/node#47224).
  const huge = await runFunction(fn('export async function handler() { return new Array(5e7).fill(0.5).length; }', { memoryMb: 64 }));
  assert.equal(huge.status, 'FAILED');
  assert.equal(huge.error?.type, 'MemoryLimitExceeded');
});

test('cancel stops a running invocation', async () => {
  const h = invoke(fn('export async function handler() { console.log("waiting"); await new Promise((r) => setTimeout(r, 60_000)); }'));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(h.cancel('stopped by a test'), true);
  const r = await h.done;
  assert.equal(r.status, 'CANCELLED');
  assert.equal(r.error?.message, 'the invocation was cancelled: stopped by a test');
  assert.ok(r.durationMs < 5000);
  assert.equal(h.cancel(), false);
  // Cancelled before it started.
  const early = invoke(fn('export const handler = async () => 1;'));
  early.cancel();
  assert.equal((await early.done).status, 'CANCELLED');
});

test("process.env inside shows the function's env only, none of confix's", async () => {
  process.env.CONFIX_SECRET_KEY = 'xyz';
  try {
    const r = await runFunction(
      fn('export async function handler() { return { env: process.env, rule: process.env.ENV_RULE_NAME, secret: process.env.CONFIX_SECRET_KEY ?? null }; }', {
        env: { ENV_RULE_NAME: 'oss-bucket-public-read-prohibited', NODE_OPTIONS: '--allow-fs-read=/' },
      }),
    );
    assert.equal(r.status, 'SUCCEEDED', JSON.stringify(r.error));
    assert.deepEqual(r.result, {
      env: { ENV_RULE_NAME: 'oss-bucket-public-read-prohibited', NODE_OPTIONS: '--allow-fs-read=/' },
      rule: 'oss-bucket-public-read-prohibited',
      secret: null,
    });
  } finally {
    delete process.env.CONFIX_SECRET_KEY;
  }
});

test('modules outside the allow-list are refused; fs reaches the private temp directory only', async () => {
  for (const [source, what] of [
    ["import { execSync } from 'node:child_process'; export const handler = async () => execSync('id').toString();", 'node:child_process'],
    ["const { Worker } = require('worker_threads'); exports.handler = async () => 1;", 'worker_threads'],
    ["export async function handler() { const net = await import('node:net'); return typeof net; }", 'node:net'],
  ]) {
    const r = await runFunction(fn(source!, { fileName: source!.includes('require(') ? 'handler.js' : 'handler.ts' }));
    assert.equal(r.status, 'FAILED');
    assert.equal(r.error?.code, 'ERR_MODULE_NOT_ALLOWED');
    assert.match(r.error!.message, new RegExp(`module "${what}" is not available to functions`));
  }
  const r = await runFunction(
    fn(`
      import { readFileSync, writeFileSync } from 'node:fs';
      import { join } from 'node:path';
      import { createHash } from 'node:crypto';
      import jmespath from 'jmespath';
      export async function handler(event: unknown, context: { tmpDir: string }) {
        const file = join(context.tmpDir, 'state.json');
        writeFileSync(file, JSON.stringify({ ok: true }));
        const attempt = (f: () => unknown) => { try { f(); return 'allowed'; } catch (e: any) { return e.code; } };
        return {
          own: JSON.parse(readFileSync(file, 'utf8')),
          tmpDir: context.tmpDir,
          etcPasswd: attempt(() => readFileSync('/etc/passwd')),
          confixPackage: attempt(() => readFileSync(${JSON.stringify(new URL('../../package.json', import.meta.url).pathname)})),
          writeOutside: attempt(() => writeFileSync('/tmp/confix-function-escape', 'x')),
          evalImport: await (eval('import("node:child_process")') as Promise<unknown>).then(() => 'allowed', (e: any) => e.code),
          hash: createHash('sha256').update('a').digest('hex').slice(0, 8),
          selected: jmespath.search({ Permissions: { Permission: [{ SourceCidrIp: '0.0.0.0/0', SecurityGroupRuleId: 'sgr-1' }, { SourceCidrIp: '10.0.0.0/8', SecurityGroupRuleId: 'sgr-2' }] } }, "Permissions.Permission[?SourceCidrIp=='0.0.0.0/0'].SecurityGroupRuleId"),
        };
      }
    `),
  );
  assert.equal(r.status, 'SUCCEEDED', JSON.stringify(r.error));
  const res = r.result as Record<string, unknown>;
  assert.deepEqual(res.own, { ok: true });
  assert.equal(res.etcPasswd, 'ERR_ACCESS_DENIED');
  assert.equal(res.confixPackage, 'ERR_ACCESS_DENIED');
  assert.equal(res.writeOutside, 'ERR_ACCESS_DENIED');
  assert.equal(res.evalImport, 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING');
  assert.equal(res.hash, 'ca978112');
  assert.deepEqual(res.selected, ['sgr-1']);
  assert.equal(existsSync(res.tmpDir as string), false, 'the temp directory is removed afterwards');
});

test('the classic ways out of the vm context find nothing: no host Function, no real process', async () => {
  const r = await runFunction(
    fn(`
      export async function handler() {
        const host = [setTimeout, Buffer, fetch, require('node:util').inspect, URL];
        return {
          constructors: host.map((f: any) => typeof f.constructor),
          protoConstructor: typeof Object.getPrototypeOf(setTimeout).constructor,
          viaOwnFunction: typeof (Function('return process')() as any).binding,
          exit: (() => { try { process.exit(0); return 'exited'; } catch (e: any) { return e.message; } })(),
        };
      }
    `),
  );
  assert.equal(r.status, 'SUCCEEDED', JSON.stringify(r.error));
  assert.deepEqual(r.result, {
    constructors: ['undefined', 'undefined', 'undefined', 'undefined', 'undefined'],
    protoConstructor: 'undefined',
    viaOwnFunction: 'undefined',
    exit: 'process.exit() is not available to functions; return from the handler (or throw) to end the invocation',
  });
});

test('code that does not compile fails with the file and line; checkFunctionCode says so at deploy time', async () => {
  const bad = 'export async function handler(event: unknown) {\n  const x = ;\n  return x;\n}\n';
  const r = await runFunction(fn(bad));
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error?.type, 'SyntaxError');
  assert.match(r.error!.message, /^handler\.ts:2:13: Unexpected ";"/);

  const check = await checkFunctionCode(bad, 'handler.ts');
  assert.equal(check.ok, false);
  if (!check.ok) assert.deepEqual([check.error.type, check.error.line, check.error.column, check.error.lineText], ['SyntaxError', 2, 13, '  const x = ;']);

  const noHandler = await checkFunctionCode('export function handle() {}\nexport const version = 2;', 'handler.ts');
  assert.equal(noHandler.ok, false);
  if (!noHandler.ok) {
    assert.equal(noHandler.error.type, 'HandlerNotFound');
    assert.match(noHandler.error.message, /does not export a function named "handler" \(it exports handle, version\)/);
  }

  const throwsAtLoad = await checkFunctionCode(
    'const config = {} as any;\nconst region: string = config.defaults.region;\nexport const handler = async () => region;',
    'handler.ts',
  );
  assert.equal(throwsAtLoad.ok, false);
  if (!throwsAtLoad.ok) assert.deepEqual([throwsAtLoad.error.type, throwsAtLoad.error.line], ['TypeError', 2]);

  const tla = await checkFunctionCode('const x = await Promise.resolve(1);\nexport const handler = async () => x;', 'handler.ts');
  assert.equal(tla.ok, false);
  if (!tla.ok) assert.match(tla.error.message, /top-level await is not supported/);

  assert.deepEqual(await checkFunctionCode('export async function handler() {}\nexport const helper = 1;', 'handler.ts'), {
    ok: true,
    exports: ['handler', 'helper'],
  });
  assert.deepEqual(await checkFunctionCode('exports.handler = async () => 1;', 'index.js'), { ok: true, exports: ['handler'] });
});

test('a result that is not JSON fails with where the problem is', async () => {
  const cases: [string, RegExp][] = [
    ['return { items: [1, { big: 10n }] };', /result\.items\[1\]\.big is a BigInt/],
    ['return { seen: new Map([["a", 1]]) };', /result\.seen is a Map/],
    ['const a: any = { name: "a" }; a.self = a; return a;', /result\.self refers back/],
    ['return { f: () => 1 };', /result\.f is a function/],
  ];
  for (const [body, why] of cases) {
    const r = await runFunction(fn(`export async function handler() { ${body} }`));
    assert.equal(r.status, 'FAILED');
    assert.equal(r.error?.type, 'ResultNotSerializable');
    assert.match(r.error!.message, why);
  }
  const ok = await runFunction(fn('export async function handler() { return { when: new Date(0), none: null, text: "t" }; }'));
  assert.deepEqual(ok.result, { when: '1970-01-01T00:00:00.000Z', none: null, text: 't' });
});

test('context.cloud signs with the context credentials, assumes roles, and carries API errors', async () => {
  seen.length = 0;
  const r = await runFunction(
    fn(`
      import type { FunctionContext } from './types';
      export async function handler(event: { accountId: string }, context: FunctionContext) {
        await context.cloud.call('cms:InstallMonitoringAgent', { regionId: 'cn-hangzhou', parameters: { InstanceIds: ['i-1'], Force: true } });
        const token = await context.cloud.assumeRole({ roleArn: 'acs:ram::' + event.accountId + ':role/configcustomremediationrole', roleSessionName: 'ConfigCustomRemediationRole' });
        const member = await context.cloud.call('ecs:DescribeInstances', { accountId: event.accountId, regionId: 'cn-hangzhou' }, token.credentials);
        let refused;
        try {
          await context.cloud.call('ecs:RevokeSecurityGroup', {}, { accessKeyId: 'STS.denied', accessKeySecret: 's' });
        } catch (e: any) {
          refused = { isError: e instanceof Error, name: e.name, code: e.code, status: e.status, message: e.message };
        }
        // Credentials in AWS's names, as Lambda code holds them.
        await context.cloud.call('ec2:RevokeSecurityGroupIngress', { provider: 'aws', accountId: event.accountId }, { accessKeyId: 'ASIA-key', secretAccessKey: 'aws-secret', sessionToken: 'aws-token' });
        return { arn: token.assumedRoleUser.arn, memberAction: member.action, refused };
      }
    `),
    { event: { accountId: '178366182654' }, credentials: CREDS, api: { baseUrl } },
  );
  assert.equal(r.status, 'SUCCEEDED', JSON.stringify(r.error));
  assert.deepEqual(r.result, {
    arn: 'acs:ram::178366182654:role/configcustomremediationrole/ConfigCustomRemediationRole',
    memberAction: 'ecs:DescribeInstances',
    refused: { isError: true, name: 'ApiCallError', code: 'NoPermission', status: 403, message: 'STS.denied is not allowed ecs:RevokeSecurityGroup' },
  });
  const [install, assume, describe, , aws] = seen;
  assert.equal(install!.url, '/api/v1/cloud/actions/cms%3AInstallMonitoringAgent');
  assert.deepEqual(install!.body, { parameters: { InstanceIds: ['i-1'], Force: true }, regionId: 'cn-hangzhou' });
  for (const s of [install!, assume!]) {
    assert.equal(s.method, 'POST');
    assert.equal(s.headers['x-cloud-access-key-id'], 'STS.fc-key');
    assert.equal(s.headers['x-cloud-secret-access-key'], 'fc-secret');
    assert.equal(s.headers['x-cloud-session-token'], 'fc-token');
  }
  assert.equal(assume!.url, '/api/v1/cloud/sts/assume-role');
  assert.deepEqual(assume!.body, { roleArn: 'acs:ram::178366182654:role/configcustomremediationrole', roleSessionName: 'ConfigCustomRemediationRole' });
  assert.equal(describe!.headers['x-cloud-access-key-id'], 'STS.member-key');
  assert.equal(describe!.headers['x-cloud-session-token'], 'member-token');
  assert.deepEqual(describe!.body, { parameters: {}, accountId: '178366182654', regionId: 'cn-hangzhou' });
  assert.equal(aws!.url, '/api/v1/cloud/actions/ec2%3ARevokeSecurityGroupIngress');
  assert.deepEqual(aws!.body, { parameters: {}, provider: 'aws', accountId: '178366182654' });
  assert.equal(aws!.headers['x-cloud-access-key-id'], 'ASIA-key');
  assert.equal(aws!.headers['x-cloud-secret-access-key'], 'aws-secret');
  assert.equal(aws!.headers['x-cloud-session-token'], 'aws-token');
});

test('without credentials context.cloud refuses rather than calling as the account owner', async () => {
  seen.length = 0;
  const r = await runFunction(
    fn(
      "export async function handler(e: unknown, context: any) { await context.cloud.call('oss:PutBucketAcl', { parameters: { BucketName: 'b', Acl: 'private' } }); }",
    ),
    { api: { baseUrl } },
  );
  assert.equal(r.status, 'FAILED');
  assert.equal(r.error?.type, 'ApiCallError');
  assert.equal(r.error?.code, 'NoCredentials');
  assert.equal(seen.length, 0);
});

test('context.confix calls the API with the bearer token and starts remediations', async () => {
  seen.length = 0;
  const r = await runFunction(
    fn(`
      export async function handler(event: any, context: any) {
        const started = await context.confix.startRemediation({ rule: 'approved-amis', resourceIds: ['i-1'] });
        const missing = await context.confix.request('GET', '/rules/missing-rule').catch((e: any) => e.code + ': ' + e.message);
        return { queued: started.queued.map((q: any) => q.executionId), missing };
      }
    `),
    { api: { baseUrl: baseUrl + '/', token: 'fn-token' } },
  );
  assert.equal(r.status, 'SUCCEEDED', JSON.stringify(r.error));
  assert.deepEqual(r.result, { queued: ['e-1'], missing: 'RuleNotFound: no rule missing-rule' });
  assert.equal(seen[0]!.method, 'POST');
  assert.equal(seen[0]!.url, '/api/v1/rules/approved-amis/remediation/executions');
  assert.deepEqual(seen[0]!.body, { trigger: 'API', resourceIds: ['i-1'] });
  assert.equal(seen[0]!.headers.authorization, 'Bearer fn-token');
  assert.equal(seen[1]!.url, '/api/v1/rules/missing-rule');
  assert.equal(seen[1]!.headers.authorization, 'Bearer fn-token');
});

test('invocations run in parallel, each in its own world', async () => {
  const source = `
    let calls = 0;
    export async function handler(event: { n: number }) {
      calls++;
      (globalThis as any).shared = ((globalThis as any).shared ?? 0) + event.n;
      await new Promise((r) => setTimeout(r, 200));
      return { n: event.n, calls, shared: (globalThis as any).shared, env: process.env.WHO };
    }`;
  const started = performance.now();
  const rs = await Promise.all(Array.from({ length: 6 }, (_, n) => runFunction(fn(source, { env: { WHO: `w${n}` } }), { event: { n } })));
  const wall = performance.now() - started;
  assert.deepEqual(
    rs.map((r) => r.result),
    Array.from({ length: 6 }, (_, n) => ({ n, calls: 1, shared: n, env: `w${n}` })),
  );
  const serial = rs.reduce((s, r) => s + r.durationMs, 0);
  assert.ok(wall < serial, `parallel wall time ${wall.toFixed(0)} ms, sum of durations ${serial.toFixed(0)} ms`);
});
