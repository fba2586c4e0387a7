/** GET /compliance/trend: non-compliant results and resources over time (the console's chart), from the compliance views. */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { AppDeps } from '../deps.js';
import { Time, json } from '../schemas.js';
import { timeOrDuration } from '../time.js';

const PointSchema = z
  .object({
    at: z.string().openapi({ description: 'End of the bucket' }),
    nonCompliant: z.number().int().openapi({ description: 'Non-compliant results (rule × resource) at that time' }),
    nonCompliantResources: z.number().int().openapi({ description: 'Distinct resources non-compliant under at least one rule at that time' }),
    peakNonCompliantResources: z.number().int().openapi({ description: 'The most non-compliant resources at any moment in the bucket' }),
  })
  .openapi('CompliancePoint');

export function trendRoutes(app: OpenAPIHono, deps: AppDeps) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/compliance/trend',
      tags: ['compliance'],
      summary: 'Non-compliant results and resources of active rules over time, in equal buckets up to now',
      request: {
        query: z.object({
          since: Time()
            .optional()
            .openapi({ description: 'ISO time or a duration back from now (30m, 6h, 7d); default: a day ago, or the first result if later' }),
          buckets: z.coerce.number().int().min(2).max(500).optional().openapi({ description: 'Number of points (default 60)' }),
        }),
      },
      responses: { 200: json(z.object({ from: z.string(), to: z.string(), points: z.array(PointSchema) }), 'Trend') },
    }),
    async (c) => {
      const q = c.req.valid('query');
      return c.json(await deps.compliance.trend({ since: q.since ? timeOrDuration('since', q.since, 'ago') : undefined, buckets: q.buckets }), 200);
    },
  );
}
