/**
 * The clients a function gets in its context (`context.cloud`,
 * `context.confix`), as JavaScript source evaluated inside the function's own
 * realm in its process: their promises, results and errors are the function's
 * own kind of objects (`err instanceof Error` holds), and the fetch, URLs and
 * token they use are captured before the function's code runs, so code that
 * replaces globalThis.fetch does not see them.
 *
 * The source is a function expression taking (fetch, api, defaultCredentials)
 * and answering { cloud, confix, ApiCallError }; its contract is the
 * CloudClient / ConfixClient types in types.ts. It is a string because it
 * runs in the function's process, not here: keep it plain ES2022 (no template literals,
 * no TypeScript).
 */
import { CLOUD_CREDENTIAL_HEADERS } from '../security/signed-headers.js';

export const CLIENTS_SOURCE = `(function (fetch, api, defaultCredentials) {
  'use strict';
  const H = ${JSON.stringify(CLOUD_CREDENTIAL_HEADERS)};

  class ApiCallError extends Error {
    constructor(status, code, message, details) {
      super(message);
      this.name = 'ApiCallError';
      this.status = status;
      this.code = code;
      if (details !== undefined) this.details = details;
    }
  }

  function base(kind) {
    const url = kind === 'cloud' ? (api && (api.cloudBaseUrl || api.baseUrl)) : (api && api.baseUrl);
    if (!url) throw new ApiCallError(0, 'NoEndpoint', 'this invocation was given no confix API address, so context.' + kind + ' cannot be used');
    return url.replace(/\\/+$/, '');
  }

  function credentialHeaders(credentials, what) {
    const c = credentials || defaultCredentials;
    if (!c) throw new ApiCallError(0, 'NoCredentials', what + ' needs credentials: the function has no role, and none were passed');
    // Either cloud's names: AWS's (secretAccessKey, sessionToken) or Alibaba Cloud's (accessKeySecret, securityToken).
    const secret = typeof c.secretAccessKey === 'string' ? c.secretAccessKey : c.accessKeySecret;
    const token = typeof c.sessionToken === 'string' ? c.sessionToken : c.securityToken;
    if (typeof c.accessKeyId !== 'string' || typeof secret !== 'string')
      throw new ApiCallError(0, 'InvalidCredentials', what + ': credentials need accessKeyId and secretAccessKey (or accessKeySecret)');
    const h = {};
    h[H.accessKeyId] = c.accessKeyId;
    h[H.accessKeySecret] = secret;
    if (token) h[H.securityToken] = token;
    return h;
  }

  async function send(method, url, headers, body) {
    const all = Object.assign({ accept: 'application/json' }, headers);
    if (api && api.token) all.authorization = 'Bearer ' + api.token;
    if (body !== undefined) all['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(url, { method: method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      const cause = e && e.cause && e.cause.message ? ': ' + e.cause.message : '';
      throw new ApiCallError(0, 'NetworkError', method + ' ' + url + ' failed: ' + String(e && e.message) + cause);
    }
    const text = await res.text();
    let data;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch (e) {
      data = text;
    }
    if (!res.ok) {
      const err = data && typeof data === 'object' && data.error && typeof data.error === 'object' ? data.error : undefined;
      const code = err && typeof err.code === 'string' ? err.code : 'HttpError' + res.status;
      const message = err && typeof err.message === 'string' ? err.message : method + ' ' + url + ' answered HTTP ' + res.status + (typeof data === 'string' && data ? ': ' + data.slice(0, 300) : '');
      throw new ApiCallError(res.status, code, message, data);
    }
    return data;
  }

  const cloud = Object.freeze({
    call(action, input, credentials) {
      return (async () => {
        if (typeof action !== 'string' || !action) throw new TypeError('cloud.call: the action is a string such as ec2:RevokeSecurityGroupIngress or ecs:RevokeSecurityGroup');
        const i = input || {};
        const body = { parameters: i.parameters || {} };
        if (i.provider !== undefined) body.provider = i.provider;
        if (i.accountId !== undefined) body.accountId = i.accountId;
        if (i.regionId !== undefined) body.regionId = i.regionId;
        const headers = credentialHeaders(credentials, 'cloud.call(' + action + ')');
        return send('POST', base('cloud') + '/api/v1/cloud/actions/' + encodeURIComponent(action), headers, body);
      })();
    },
    assumeRole(input, credentials) {
      return (async () => {
        if (!input || typeof input.roleArn !== 'string') throw new TypeError('cloud.assumeRole: pass { roleArn, roleSessionName, durationSeconds? }');
        const body = { roleArn: input.roleArn, roleSessionName: input.roleSessionName || 'function-session' };
        if (input.durationSeconds !== undefined) body.durationSeconds = input.durationSeconds;
        if (input.externalId !== undefined) body.externalId = input.externalId;
        if (input.provider !== undefined) body.provider = input.provider;
        const headers = credentialHeaders(credentials, 'cloud.assumeRole');
        return send('POST', base('cloud') + '/api/v1/cloud/sts/assume-role', headers, body);
      })();
    },
  });

  const confix = Object.freeze({
    request(method, path, body) {
      return (async () => {
        if (typeof method !== 'string' || typeof path !== 'string' || path[0] !== '/') throw new TypeError('confix.request(method, path, body?): path starts with / and is relative to /api/v1');
        return send(method.toUpperCase(), base('confix') + '/api/v1' + path, {}, body);
      })();
    },
    startRemediation(input) {
      if (!input || typeof input.rule !== 'string') return Promise.reject(new TypeError('confix.startRemediation: pass { rule, resourceIds, dryRun? }'));
      const body = { trigger: 'API' };
      if (input.resourceIds !== undefined) body.resourceIds = input.resourceIds;
      if (input.allNonCompliant !== undefined) body.allNonCompliant = input.allNonCompliant;
      if (input.dryRun !== undefined) body.dryRun = input.dryRun;
      return confix.request('POST', '/rules/' + encodeURIComponent(input.rule) + '/remediation/executions', body);
    },
  });

  return { cloud: cloud, confix: confix, ApiCallError: ApiCallError };
})`;
