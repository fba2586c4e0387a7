/** GET /compliance/trend: non-compliant results and resources over time, replayed from the evaluation timeline (read-only; the console's chart). */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { Time, json } from '../schemas.js';

const PointSchema = z
  .object({
    at: z.string().openapi({ description: 'End of the bucket' }),
    nonCompliant: z.number().int().openapi({ description: 'Non-compliant results (rule × resource) at that time' }),
    nonCompliantResources: z.number().int().openapi({ description: 'Distinct resources non-compliant under at least one rule at that time' }),
    peakNonCompliantResources: z.number().int().openapi({ description: 'The most non-compliant resources at any moment in the bucket' }),
  })
  .openapi('CompliancePoint');

interface Row {
  rule_id: string;
  account_id: string;
  region_id: string;
  resource_type: string;
  resource_id: string;
  compliance_type: string;
  closed: boolean;
  recorded_at: Date | string;
}

export function trendRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/compliance/trend',
      tags: ['compliance'],
      summary: 'Non-compliant results and resources of active rules over time, in equal buckets up to now',
      request: {
        query: z.object({
          since: Time().optional().openapi({ description: 'ISO time or a duration back from now (30m, 6h, 7d); default: the first result' }),
          buckets: z.coerce.number().int().min(2).max(500).optional().openapi({ description: 'Number of points (default 60)' }),
        }),
      },
      responses: { 200: json(z.object({ from: z.string(), to: z.string(), points: z.array(PointSchema) }), 'Trend') },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const rows = await deps.db.query<Row>(
        `SELECT t.rule_id, t.account_id, t.region_id, t.resource_type, t.resource_id, t.compliance_type, t.closed, t.recorded_at
           FROM evaluation_timeline t JOIN rules r ON r.rule_id = t.rule_id WHERE r.state = 'ACTIVE' ORDER BY t.id`,
      );
      const now = Date.now();
      const first = rows.length ? new Date(rows[0]!.recorded_at).getTime() : now - 3_600_000;
      let from = first;
      if (q.since) {
        const m = /^(\d+)([smhd])$/.exec(q.since);
        const t = m ? now - Number(m[1]) * { s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7 }[m[2] as 's' | 'm' | 'h' | 'd'] : Date.parse(q.since);
        if (Number.isFinite(t)) from = t;
      }
      if (now - from < 60_000) from = now - 60_000;
      const n = q.buckets ?? 60;
      const width = (now - from) / n;
      // Replay: the state of every (rule, resource) result, and per resource the rules it fails.
      const state = new Map<string, boolean>();
      const perResource = new Map<string, number>();
      let nc = 0;
      const apply = (r: Row) => {
        const res = `${r.account_id}|${r.region_id}|${r.resource_type}|${r.resource_id}`;
        const key = `${r.rule_id}|${res}`;
        const was = state.get(key) ?? false;
        const is = !r.closed && r.compliance_type === 'NON_COMPLIANT';
        if (was === is) return;
        state.set(key, is);
        nc += is ? 1 : -1;
        const k = (perResource.get(res) ?? 0) + (is ? 1 : -1);
        if (k === 0) perResource.delete(res);
        else perResource.set(res, k);
      };
      const points: z.infer<typeof PointSchema>[] = [];
      let i = 0;
      while (i < rows.length && new Date(rows[i]!.recorded_at).getTime() <= from) apply(rows[i++]!);
      for (let b = 1; b <= n; b++) {
        const end = b === n ? now : from + width * b;
        let peak = perResource.size;
        while (i < rows.length && new Date(rows[i]!.recorded_at).getTime() <= end) {
          apply(rows[i++]!);
          peak = Math.max(peak, perResource.size);
        }
        points.push({ at: new Date(end).toISOString(), nonCompliant: nc, nonCompliantResources: perResource.size, peakNonCompliantResources: peak });
      }
      return c.json({ from: new Date(from).toISOString(), to: new Date(now).toISOString(), points }, 200);
    },
  );
}
