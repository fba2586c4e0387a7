/**
 * The estate file: accounts and resources to load into the sandbox cloud.
 * Validation is all-or-nothing: every problem is collected and reported with
 * the file, line (YAML) and entry, and nothing is loaded unless there are none.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import { YamlAliasError, yamlToJS } from '../../util/yaml.js';
import { z } from 'zod';
import { allResourceTypes, resourceType } from './registry.js';
import type { Configuration, Tags } from '../types.js';
import { parsePolicyDocument } from './iam/policy.js';
import { flattenFolders, folderSchema, type Add, type NormalizedOrganization } from '../organization.js';
import { ConfixError } from '../../errors.js';
export {
  flattenFolders,
  policyOrganizationSchema,
  type Add,
  type FolderInput,
  type NormalizedOrganization,
  type PolicyOrganizationInput,
} from '../organization.js';

const accountId = z.string().regex(/^\d{12}$/, 'a 12-digit account id (quote it in YAML: "100931896542")');
/** A policy document as the clouds write it: a mapping, or the JSON text pasted from a console. */
const policyText = z.union([z.record(z.string(), z.unknown()), z.string()]);

export const estateAccountSchema = z.strictObject({
  id: accountId,
  name: z.string().min(1),
  regions: z.array(z.string().regex(/^[a-z]{2}(-[a-z0-9]+)+$/, 'a region id like cn-hangzhou or us-east-1')).min(1),
  /** The account's own access keys, as its owner would create them in the console. */
  accessKeys: z
    .array(
      z.strictObject({
        accessKeyId: z.string().regex(/^[A-Za-z0-9]{16,128}$/, 'letters and digits, 16 to 128 of them'),
        accessKeySecret: z.string().min(16).max(256),
      }),
    )
    .default([]),
  iam: z
    .strictObject({
      policies: z
        .array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9_.+=,@-]{1,128}$/, 'a policy name: letters, digits and _.+=,@-'), document: policyText }))
        .default([]),
      roles: z
        .array(
          z.strictObject({
            name: z.string().regex(/^[A-Za-z0-9_.+=,@-]{1,64}$/, 'a role name: letters, digits and _.+=,@-'),
            trustPolicy: policyText,
            policies: z.array(z.string().min(1)).default([]),
            maxSessionDuration: z.int().min(900).max(43_200).default(3600),
          }),
        )
        .default([]),
    })
    .default({ policies: [], roles: [] }),
});

/** The resource directory: a management account, delegated administrators, member accounts in folders. */
export const organizationSchema = z.strictObject({
  managementAccount: accountId,
  delegatedAdministrators: z.array(accountId).default([]),
  folders: z.array(folderSchema).default([]),
});
export type OrganizationInput = z.output<typeof organizationSchema>;

export const estateResourceSchema = z.strictObject({
  account: z.string().min(1),
  region: z.string().min(1),
  type: z.string().min(1),
  id: z.string().min(1),
  tags: z.record(z.string(), z.coerce.string()).default({}),
  configuration: z.record(z.string(), z.unknown()).default({}),
});

export const estateSchema = z.strictObject({
  organization: organizationSchema.optional(),
  accounts: z.array(estateAccountSchema).default([]),
  resources: z.array(estateResourceSchema).default([]),
});

export type Estate = z.output<typeof estateSchema>;
export type EstateInput = z.input<typeof estateSchema>;

export interface NormalizedResource {
  accountId: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
  tags: Tags;
  configuration: Configuration;
}

export interface EstateIssue {
  /** Path into the document, e.g. ["resources", 3, "configuration", "PortRange"]. */
  path: (string | number)[];
  message: string;
  line?: number;
}

export class EstateError extends ConfixError {
  constructor(
    readonly source: string,
    override readonly issues: EstateIssue[],
  ) {
    super('InvalidEstate', 'invalid', formatIssues(source, issues), {
      issues,
      publicMessage: `the estate has ${issues.length} problem${issues.length === 1 ? '' : 's'}; nothing was loaded`,
    });
  }

  override spellPath(path: readonly (string | number)[]): string {
    return formatPath([...path]);
  }
}

export function formatPath(path: (string | number)[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s ? `.${p}` : p;
  return s || '(top level)';
}

function formatIssues(source: string, issues: EstateIssue[]): string {
  const shown = issues.slice(0, 20).map((i) => `${source}${i.line ? `:${i.line}` : ''}: ${formatPath(i.path)}: ${i.message}`);
  const more = issues.length > 20 ? [`… and ${issues.length - 20} more problems`] : [];
  return [`estate ${source} refused (${issues.length} problem${issues.length === 1 ? '' : 's'}); nothing was loaded:`, ...shown, ...more].join('\n  ');
}

/**
 * Validates an estate document. Returns the normalised accounts and resources,
 * or throws EstateError listing every problem.
 */
export function validateEstate(
  raw: unknown,
  source = 'estate',
  lineOf: (path: (string | number)[]) => number | undefined = () => undefined,
  /** Accounts already in the sandbox, which resources may refer to. */
  knownAccounts: { accountId: string; regions: string[] }[] = [],
): { accounts: Estate['accounts']; resources: NormalizedResource[]; organization?: NormalizedOrganization } {
  const issues: EstateIssue[] = [];
  const add = (path: (string | number)[], message: string) => issues.push({ path, message, line: lineOf(path) });
  // Entries are checked one by one so that every problem in the file is
  // reported at once, not just those of the first bad section.
  const top = z
    .strictObject({ organization: z.unknown().optional(), accounts: z.array(z.unknown()).default([]), resources: z.array(z.unknown()).default([]) })
    .safeParse(raw ?? {});
  if (!top.success) {
    for (const i of top.error.issues) add(i.path as (string | number)[], i.message);
    throw new EstateError(source, issues);
  }
  const accounts: Estate['accounts'] = [];
  top.data.accounts.forEach((a, i) => {
    const r = estateAccountSchema.safeParse(a);
    if (r.success) accounts.push(r.data);
    else for (const e of r.error.issues) add(['accounts', i, ...(e.path as (string | number)[])], e.message);
  });
  const entries: { index: number; entry: Estate['resources'][number] }[] = [];
  top.data.resources.forEach((x, i) => {
    const r = estateResourceSchema.safeParse(x);
    if (r.success) entries.push({ index: i, entry: r.data });
    else for (const e of r.error.issues) add(['resources', i, ...(e.path as (string | number)[])], e.message);
  });
  const estate = { accounts, resources: entries };
  const regionsOf = new Map(knownAccounts.map((a) => [a.accountId, new Set(a.regions)]));
  estate.accounts.forEach((a, i) => {
    if (estate.accounts.findIndex((b) => b.id === a.id) !== i) add(['accounts', i, 'id'], `account ${a.id} is declared twice`);
    regionsOf.set(a.id, new Set(a.regions));
    checkIam(a, i, add);
  });
  const organization = top.data.organization === undefined ? undefined : checkOrganization(top.data.organization, regionsOf, add);
  const seen = new Set<string>();
  const types = allResourceTypes().map((t) => t.type);
  const resources: NormalizedResource[] = [];
  for (const { index: i, entry: r } of estate.resources) {
    const at = (...p: (string | number)[]) => ['resources', i, ...p];
    const label = `(${r.type} ${r.id}) `;
    const regions = regionsOf.get(r.account);
    if (!regions) {
      add(at('account'), `${label}unknown account "${r.account}": declare it under accounts`);
      continue;
    }
    if (!regions.has(r.region)) {
      add(at('region'), `${label}region "${r.region}" is not one of account ${r.account}'s regions (${[...regions].join(', ')})`);
      continue;
    }
    const def = resourceType(r.type);
    if (!def) {
      add(at('type'), `${label}unknown resource type "${r.type}"; expected one of ${types.join(', ')}`);
      continue;
    }
    const key = `${r.account}/${r.region}/${r.type}/${r.id}`;
    if (seen.has(key)) {
      add(at('id'), `${label}declared twice in account ${r.account} ${r.region}`);
      continue;
    }
    seen.add(key);
    const declaredId = r.configuration[def.idField];
    if (declaredId !== undefined && declaredId !== r.id) {
      add(at('configuration', def.idField), `${label}${def.idField} "${String(declaredId)}" differs from the entry's id "${r.id}"`);
      continue;
    }
    const cfg = def.schema.safeParse(r.configuration);
    if (!cfg.success) {
      for (const ci of cfg.error.issues) add(at('configuration', ...(ci.path as (string | number)[])), `${label}${ci.message}`);
      continue;
    }
    try {
      const configuration = def.normalize({ id: r.id, accountId: r.account, regionId: r.region, tags: r.tags, configuration: r.configuration });
      resources.push({ accountId: r.account, regionId: r.region, resourceType: r.type, resourceId: r.id, tags: r.tags, configuration });
    } catch (err) {
      add(at('configuration'), `${label}${(err as Error).message}`);
    }
  }
  if (issues.length) throw new EstateError(source, issues);
  return { accounts: estate.accounts, resources, organization };
}

/** Policy documents parse in their cloud's grammar, names are unique, roles name policies the account declares. */
function checkIam(a: Estate['accounts'][number], i: number, add: Add): void {
  const at = (...p: (string | number)[]) => ['accounts', i, 'iam', ...p];
  const names = new Set<string>();
  a.iam.policies.forEach((p, j) => {
    if (names.has(p.name)) add(at('policies', j, 'name'), `policy ${p.name} is declared twice in account ${a.id}`);
    names.add(p.name);
    const r = readPolicy(p.document, 'permission');
    for (const x of r.issues) add(at('policies', j, 'document', ...x.path), `(${p.name}) ${x.message}`);
    if (r.json) p.document = r.json; // pasted JSON text is parsed once, here
  });
  const roles = new Set<string>();
  a.iam.roles.forEach((role, j) => {
    if (roles.has(role.name.toLowerCase())) add(at('roles', j, 'name'), `role ${role.name} is declared twice in account ${a.id} (role names ignore case)`);
    roles.add(role.name.toLowerCase());
    const r = readPolicy(role.trustPolicy, 'trust');
    for (const x of r.issues) add(at('roles', j, 'trustPolicy', ...x.path), `(${role.name}) ${x.message}`);
    if (r.json) role.trustPolicy = r.json;
    role.policies.forEach((name, k) => {
      if (!names.has(name)) add(at('roles', j, 'policies', k), `(${role.name}) no policy named "${name}" in account ${a.id}; declare it under iam.policies`);
    });
  });
  const keys = new Set<string>();
  a.accessKeys.forEach((k, j) => {
    if (keys.has(k.accessKeyId)) add(['accounts', i, 'accessKeys', j, 'accessKeyId'], `access key ${k.accessKeyId} is declared twice`);
    keys.add(k.accessKeyId);
  });
}

/** A policy given as a mapping or as pasted JSON text, checked against the cloud's grammar. */
function readPolicy(doc: unknown, kind: 'permission' | 'trust'): { json?: Record<string, unknown>; issues: { path: (string | number)[]; message: string }[] } {
  let value = doc;
  if (typeof doc === 'string') {
    try {
      value = JSON.parse(doc);
    } catch (err) {
      return { issues: [{ path: [], message: `not valid JSON: ${(err as Error).message}` }] };
    }
  }
  const r = parsePolicyDocument(value, kind);
  return 'doc' in r ? { json: value as Record<string, unknown>, issues: [] } : { issues: r.issues };
}

function checkOrganization(raw: unknown, regionsOf: Map<string, Set<string>>, add: Add): NormalizedOrganization | undefined {
  const parsed = organizationSchema.safeParse(raw);
  if (!parsed.success) {
    for (const e of parsed.error.issues) add(['organization', ...(e.path as (string | number)[])], e.message);
    return undefined;
  }
  const o = parsed.data;
  const known = (id: string, path: (string | number)[]) => {
    if (!regionsOf.has(id)) add(path, `unknown account "${id}": declare it under accounts`);
  };
  known(o.managementAccount, ['organization', 'managementAccount']);
  o.delegatedAdministrators.forEach((id, i) => {
    known(id, ['organization', 'delegatedAdministrators', i]);
    if (id === o.managementAccount) add(['organization', 'delegatedAdministrators', i], `${id} is the management account; it administers already`);
  });
  return { ...o, ...flattenFolders(o.folders, known, add, ['organization', 'folders']) };
}

/**
 * Folders as declared (nested, each with its accounts) flattened to paths
 * ("production/web") and each account's folder; `known` reports an account
 * that does not exist, and an account placed twice or a folder declared twice
 * is reported at its path.
 */
/** Parses estate text (YAML, or JSON for .json files) and keeps a way back from paths to lines. */
export function parseEstateText(text: string, source: string): { raw: unknown; lineOf: (path: (string | number)[]) => number | undefined } {
  if (extname(source).toLowerCase() === '.json') {
    try {
      return { raw: JSON.parse(text), lineOf: () => undefined };
    } catch (err) {
      throw new EstateError(source, [{ path: [], message: `not valid JSON: ${(err as Error).message}` }]);
    }
  }
  const lc = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc, uniqueKeys: true });
  if (doc.errors.length) {
    throw new EstateError(
      source,
      doc.errors.map((e) => ({ path: [], message: e.message.split('\n')[0] ?? e.message, line: e.linePos?.[0]?.line })),
    );
  }
  const lineOf = (path: (string | number)[]) => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
    }
    return undefined;
  };
  let raw: unknown;
  try {
    raw = yamlToJS(doc, source); // aliases bounded: an alias bomb is refused here, not expanded
  } catch (err) {
    if (err instanceof YamlAliasError) throw new EstateError(source, [{ path: [], message: err.reason }]);
    throw err;
  }
  return { raw, lineOf };
}

/** Reads and validates an estate file. */
export async function readEstateFile(path: string) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read estate file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const { raw, lineOf } = parseEstateText(text, path);
  return { raw, lineOf };
}
