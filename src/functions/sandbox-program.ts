/**
 * The program each invocation's process runs (`node -e`, so it works the same
 * under tsx, from the compiled dist/ and from the CLI: no file to find next to
 * this module). runtime.ts starts it with the permission model on, the
 * function's memory limits, an empty environment and a private temp directory
 * as its working directory, and writes it one line on stdin: the compiled code
 * and the invocation, with a per-invocation key.
 *
 * ## The channel back to confix
 *
 * Messages go back on fd 3, a plain pipe (not Node's IPC channel: the
 * parent's IPC parser throws on a malformed message, in the service's own
 * process). A file descriptor cannot be hidden from code in the same process
 * (`fs.writeSync(3, …)` reaches it), so every line is authenticated instead:
 *   <hex HMAC-SHA256(key, json)> <json>\n
 * The key arrives on stdin before the function's code is loaded, is kept in
 * this program's closure only, and is never in the environment, argv, a file
 * or the function's context. runtime.ts fails the invocation on any line whose
 * MAC or shape is wrong: a function cannot forge a result, a log line or an
 * end, and cannot harm the service by writing garbage. The messages:
 *   { t: 'log', time, level, message }   { t: 'dropped', n }   { t: 'loaded' }
 *   { t: 'done', ok: true, resultJson?, exports?, heapMb, maxRssMb }
 *   { t: 'done', ok: false, phase: 'load' | 'handler', error: { type, message, code?, stack? }, heapMb, maxRssMb }
 * stdin stays open: its end means confix is gone, and the process removes its
 * temp directory and exits.
 *
 * It starts a watchdog thread that kills the process shortly after the
 * deadline (so an endless loop cannot outlive a confix that died), builds a
 * fresh vm context with a curated global (console, a process whose env is the
 * function's env, timers, fetch and the web globals, a require limited to an
 * allow-list), evaluates the code there and calls the handler.
 *
 * Before the function's code runs, the process's own realm is hardened:
 * Function.prototype.constructor (and its async/generator kin) is removed, so
 * the usual escape from a vm context (someHostObject.constructor.constructor
 * ('return process')()) finds nothing to call; process.binding,
 * _linkedBinding, dlopen, getBuiltinModule, kill and abort are removed from
 * the real process object; and fs.realpathSync, which Node 20's permission
 * model does not check (it would tell whether any path exists and where links
 * point), refuses paths outside the readable directories. See runtime.ts for
 * what the whole does and does not protect against.
 *
 * Keep it plain ES2022 without template literals: it is a String.raw literal.
 */
export const SANDBOX_PROGRAM = String.raw`'use strict';
const vm = require('node:vm');
const util = require('node:util');
const v8 = require('node:v8');
const { Worker } = require('node:worker_threads');
const { createHmac } = require('node:crypto');
const fs = require('node:fs');
const pathModule = require('node:path');
const net = require('node:net');

let finished = false;
let tmpDirToRemove;
// confix went away (stdin ended): tidy up, nothing to report to.
function gone() {
  try {
    if (tmpDirToRemove) fs.rmSync(tmpDirToRemove, { recursive: true, force: true });
  } finally {
    process.exit(1);
  }
}
let post = () => {};
let input = '';
let started = false;
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  if (started) return;
  input += chunk;
  const nl = input.indexOf('\n');
  if (nl < 0) return;
  started = true;
  const d = JSON.parse(input.slice(0, nl));
  input = '';
  const key = Buffer.from(d.key, 'hex');
  delete d.key;
  const out = new net.Socket({ fd: 3, readable: false, writable: true });
  out.on('error', gone);
  post = (m) => {
    let json;
    try {
      json = JSON.stringify(m);
    } catch (e) {
      json = JSON.stringify({ t: 'done', ok: false, phase: 'handler', error: { type: 'RuntimeError', message: 'a message could not be encoded: ' + String(e && e.message) } });
    }
    out.write(createHmac('sha256', key).update(json).digest('hex') + ' ' + json + '\n');
  };
  tmpDirToRemove = d.tmpDir;
  start(d);
});
process.stdin.on('end', gone);
process.stdin.on('error', gone);

function start(d) {
  // The watchdog: a thread of its own, so it fires even while the function loops.
  // It only fires when confix did not end the process itself (confix died): it tidies the temp directory then.
  const watchdog =
    "const w = require('node:worker_threads').workerData;" +
    "setTimeout(() => { try { require('node:fs').rmSync(w.tmpDir, { recursive: true, force: true }); } finally { process.kill(process.pid, 'SIGKILL'); } }, w.ms);";
  new Worker(watchdog, { eval: true, workerData: { ms: Math.max(0, d.deadline - Date.now()) + d.graceMs, tmpDir: d.tmpDir }, env: {} }).unref();

  const memory = () => ({
    heapMb: Math.round((v8.getHeapStatistics().total_heap_size / 1048576) * 10) / 10,
    maxRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
  });
  const finish = (m) => {
    if (finished) return;
    finished = true;
    post(Object.assign(m, memory(), { n: dropped }));
  };
  // An error nobody caught (a rejected promise left alone, a throw in a timer) ends the invocation.
  process.on('uncaughtException', (e) => finish({ t: 'done', ok: false, phase: 'handler', error: hostError(e) }));

  let logBytes = 0;
  let dropped = 0;
  function log(level, args) {
    let message;
    try {
      message = util.format.apply(null, args);
    } catch (e) {
      message = '[a log message that could not be formatted: ' + String(e && e.message) + ']';
    }
    if (message.length > d.maxLineChars) message = message.slice(0, d.maxLineChars) + ' … [' + (message.length - d.maxLineChars) + ' more characters cut]';
    const size = Buffer.byteLength(message) + 40;
    if (logBytes + size > d.maxLogBytes) {
      dropped++;
      if (dropped === 1 || dropped % 1000 === 0) post({ t: 'dropped', n: dropped });
      return;
    }
    logBytes += size;
    post({ t: 'log', time: new Date().toISOString(), level: level, message: message });
  }

  function hostError(e) {
    try {
      if (e && typeof e === 'object') return { type: String(e.name || 'Error'), message: String(e.message), code: e.code === undefined ? undefined : String(e.code), stack: typeof e.stack === 'string' ? e.stack : undefined };
    } catch (x) {
      /* fall through */
    }
    return { type: 'Error', message: String(e) };
  }

  const allowedBuiltins = new Set(d.allowedBuiltins);
  function hostRequire(name) {
    const bare = name.startsWith('node:') ? name.slice(5) : name;
    if (allowedBuiltins.has(bare)) return require('node:' + bare);
    if (Object.prototype.hasOwnProperty.call(d.packages, name)) return require(d.packages[name]);
    return undefined;
  }

  // The globals the function sees, besides the language's own (Object, JSON, Promise, …, which the context has).
  const sandbox = Object.create(null);
  for (const k of d.globals) if (globalThis[k] !== undefined) sandbox[k] = globalThis[k];
  for (const k of d.lazyGlobals)
    Object.defineProperty(sandbox, k, {
      configurable: true,
      get: () => globalThis[k],
      set: (v) => Object.defineProperty(sandbox, k, { value: v, writable: true, configurable: true, enumerable: true }),
    });
  const context = vm.createContext(sandbox, { name: 'function ' + d.functionName });
  const clientsFactory = vm.runInContext(d.clientsSource, context, { filename: 'confix:clients' });

  function compile() {
    return vm.compileFunction(d.code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: d.fileName, parsingContext: context });
  }

  // Node 20's permission model does not check the JavaScript fs.realpathSync (its
  // lstat calls bypass it): refuse what the model would refuse, paths outside the readable directories.
  const readable = d.readable.map((p) => pathModule.resolve(p));
  const realpathSync = fs.realpathSync;
  const checkedRealpathSync = function (p, options) {
    const resolved = pathModule.resolve(typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString() : p instanceof URL ? require('node:url').fileURLToPath(p) : String(p));
    if (!readable.some((r) => resolved === r || resolved.startsWith(r + pathModule.sep))) {
      const e = new Error('Access to this API has been restricted');
      e.code = 'ERR_ACCESS_DENIED';
      e.permission = 'FileSystemRead';
      e.resource = resolved;
      throw e;
    }
    return realpathSync(p, options);
  };
  checkedRealpathSync.native = realpathSync.native;
  Object.defineProperty(fs, 'realpathSync', { value: checkedRealpathSync, writable: false, configurable: false });

  // Hardening of the process's own realm, now that the runtime has what it needs.
  for (const p of [Function.prototype, Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(function* () {}), Object.getPrototypeOf(async function* () {})])
    Object.defineProperty(p, 'constructor', { value: undefined, writable: false, configurable: false });
  for (const k of ['binding', '_linkedBinding', 'dlopen', 'getBuiltinModule', 'kill', '_kill', 'abort', '_debugProcess', '_debugEnd', 'loadEnvFile', 'setSourceMapsEnabled'])
    try {
      Object.defineProperty(process, k, { value: undefined, writable: false, configurable: false });
    } catch (e) {
      /* not on this Node version */
    }

  // Runs inside the function's context: everything it makes is the function's own kind of object.
  function inside(host) {
    'use strict';
    const g = globalThis;
    const mk = (level) =>
      function () {
        host.log(level, Array.prototype.slice.call(arguments));
      };
    const logger = Object.freeze({ debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error'), log: mk('info') });
    g.console = { log: mk('info'), info: mk('info'), warn: mk('warn'), error: mk('error'), debug: mk('debug'), trace: mk('debug'), dir: mk('info') };
    g.global = g;
    const refuse = (what) =>
      function () {
        throw new Error(what + ' is not available to functions; return from the handler (or throw) to end the invocation');
      };
    g.process = {
      env: JSON.parse(host.envJson),
      argv: [],
      execArgv: [],
      platform: host.platform,
      arch: host.arch,
      version: host.version,
      versions: JSON.parse(host.versionsJson),
      release: { name: 'node' },
      title: 'confix-function',
      cwd: () => host.tmpDir,
      hrtime: host.hrtime,
      uptime: host.uptime,
      memoryUsage: host.memoryUsage,
      nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
      emitWarning: (w) => g.console.warn(String(w && w.message ? w.message : w)),
      exit: refuse('process.exit()'),
      on() { return this; },
      once() { return this; },
      off() { return this; },
      removeListener() { return this; },
    };

    function require(name) {
      if (typeof name !== 'string') throw new TypeError('require: the module name must be a string');
      const m = host.require(name);
      if (m === undefined) {
        const e = new Error('module "' + name + '" is not available to functions; they may use ' + host.allowedList);
        e.code = 'ERR_MODULE_NOT_ALLOWED';
        throw e;
      }
      return m;
    }

    function toError(e) {
      try {
        if (e && typeof e === 'object') {
          const o = { type: String(e.name || 'Error'), message: String(e.message !== undefined ? e.message : e) };
          if (typeof e.stack === 'string') o.stack = e.stack;
          if (e.code !== undefined && e.code !== null) o.code = String(e.code);
          return o;
        }
        return { type: 'Error', message: 'the function threw a ' + typeof e + ' rather than an Error: ' + String(e) };
      } catch (x) {
        return { type: 'Error', message: 'the function threw something that cannot be described' };
      }
    }

    // Why v cannot be the result (JSON), or undefined when it can.
    function notJson(v, path, seen) {
      if (v === null || v === undefined) return undefined;
      const t = typeof v;
      if (t === 'string' || t === 'boolean') return undefined;
      if (t === 'number') return Number.isFinite(v) ? undefined : path + ' is ' + v + ', which JSON cannot hold';
      if (t === 'bigint') return path + ' is a BigInt, which JSON cannot hold (convert it to a string)';
      if (t === 'function') return path + ' is a function';
      if (t === 'symbol') return path + ' is a symbol';
      if (seen.indexOf(v) >= 0) return path + ' refers back to one of its parents (a cycle)';
      if (typeof v.toJSON === 'function') return undefined;
      seen.push(v);
      try {
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            const p = notJson(v[i], path + '[' + i + ']', seen);
            if (p) return p;
          }
          return undefined;
        }
        const proto = Object.getPrototypeOf(v);
        if (proto !== null && Object.getPrototypeOf(proto) !== null) {
          const name = proto.constructor && proto.constructor.name ? proto.constructor.name : 'object with a prototype';
          return path + ' is a ' + name + ', which JSON would not keep (return plain objects and arrays)';
        }
        for (const k of Object.keys(v)) {
          const p = notJson(v[k], /^[A-Za-z_$][\w$]*$/.test(k) ? path + '.' + k : path + '[' + JSON.stringify(k) + ']', seen);
          if (p) return p;
        }
        return undefined;
      } finally {
        seen.pop();
      }
    }

    function callHandler(h, event, ctx) {
      return new Promise((resolve, reject) => {
        let settled = false;
        const ok = (v) => { if (!settled) { settled = true; resolve(v); } };
        const fail = (e) => { if (!settled) { settled = true; reject(e); } };
        const callback = (err, value) => (err !== undefined && err !== null ? fail(err) : ok(value));
        let r;
        try {
          r = h.call(undefined, event, ctx, callback);
        } catch (e) {
          fail(e);
          return;
        }
        if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function') r.then(ok, fail);
        else if (h.length < 3) ok(r);
      });
    }

    return async function run() {
      const module = { exports: {}, id: '.', filename: host.tmpDir + '/' + host.fileName, loaded: false };
      try {
        const body = host.compile();
        body.call(module.exports, module.exports, require, module, host.tmpDir + '/' + host.fileName, host.tmpDir);
        module.loaded = true;
      } catch (e) {
        return { ok: false, phase: 'load', error: toError(e) };
      }
      const ex = module.exports;
      let h = ex !== null && ex !== undefined ? ex[host.handlerName] : undefined;
      if (typeof h !== 'function' && ex && ex.default && typeof ex.default[host.handlerName] === 'function') h = ex.default[host.handlerName];
      const names = ex !== null && (typeof ex === 'object' || typeof ex === 'function') ? Object.keys(ex).filter((k) => k !== '__esModule') : [];
      if (typeof h !== 'function') {
        return {
          ok: false,
          phase: 'load',
          error: {
            type: 'HandlerNotFound',
            message:
              host.fileName + ' does not export a function named "' + host.handlerName + '"' +
              (names.length ? ' (it exports ' + names.join(', ') + ')' : ' (it exports nothing)') +
              '; export one: export async function ' + host.handlerName + '(event, context) { … } or exports.' + host.handlerName + ' = async (event, context) => { … }',
          },
        };
      }
      if (host.checkOnly) return { ok: true, exportsJson: JSON.stringify(names) };
      host.loaded();

      const info = JSON.parse(host.contextJson);
      const clients = host.clients(JSON.parse(host.contextJson).credentials);
      const deadline = info.deadline;
      const ctx = {
        requestId: info.requestId,
        functionName: info.functionName,
        functionVersion: info.functionVersion,
        memoryLimitInMB: info.memoryLimitInMB,
        timeoutSeconds: info.timeoutSeconds,
        deadline: deadline,
        tmpDir: host.tmpDir,
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        credentials: info.credentials ? Object.freeze(info.credentials) : undefined,
        logger: logger,
        cloud: clients.cloud,
        confix: clients.confix,
      };
      const event = host.eventJson === undefined ? undefined : JSON.parse(host.eventJson);
      let result;
      try {
        result = await callHandler(h, event, ctx);
      } catch (e) {
        return { ok: false, phase: 'handler', error: toError(e) };
      }
      if (result === undefined) return { ok: true };
      let why;
      try {
        why = notJson(result, 'result', []);
      } catch (e) {
        why = 'result could not be examined: ' + String(e && e.message);
      }
      let json;
      if (!why) {
        try {
          json = JSON.stringify(result);
        } catch (e) {
          why = 'JSON.stringify failed: ' + String(e && e.message);
        }
      }
      if (why) return { ok: false, phase: 'handler', error: { type: 'ResultNotSerializable', message: 'the handler returned a value that is not JSON: ' + why } };
      return { ok: true, resultJson: json };
    };
  }

  const run = vm.runInContext('(' + inside.toString() + ')', context, { filename: 'confix:runtime' })({
    log: log,
    require: hostRequire,
    allowedList: d.allowedBuiltins.map((b) => 'node:' + b).concat(Object.keys(d.packages)).join(', '),
    compile: compile,
    fileName: d.fileName,
    tmpDir: d.tmpDir,
    handlerName: d.handlerName,
    checkOnly: d.checkOnly,
    envJson: JSON.stringify(d.env),
    versionsJson: JSON.stringify(process.versions),
    platform: process.platform,
    arch: process.arch,
    version: process.version,
    hrtime: process.hrtime,
    uptime: process.uptime,
    memoryUsage: process.memoryUsage,
    contextJson: d.contextJson,
    eventJson: d.eventJson,
    clients: (credentials) => clientsFactory(sandbox.fetch, d.api, credentials),
    loaded: () => post({ t: 'loaded' }),
  });

  run().then(
    (r) =>
      finish({
        t: 'done',
        ok: r.ok,
        phase: r.phase,
        error: r.error ? { type: r.error.type, message: r.error.message, code: r.error.code, stack: r.error.stack } : undefined,
        resultJson: r.resultJson,
        exports: r.exportsJson ? JSON.parse(r.exportsJson) : undefined,
      }),
    (e) => finish({ t: 'done', ok: false, phase: 'handler', error: { type: 'RuntimeError', message: String(e && e.message) } }),
  );
}
`;
