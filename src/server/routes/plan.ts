import { secured, type Api } from '../control-plane.ts';
import { runPlan } from '../planning.ts';
import { ErrorResponse, PlanBody, PlanResponse } from '../schemas.ts';

export function planRoutes(app: Api): void {
  app.post('/api/v1/plan', {
    config: { operation: 'plan.run' },
    schema: {
      tags: ['plan'], ...secured,
      summary: 'What a video workload needs: `kind: video` samples one video, `kind: train` trains on a dataset mix (as `suanli plan video|train --json`)',
      body: PlanBody, response: { 200: PlanResponse, '4xx': ErrorResponse },
    },
  }, (req) => Promise.resolve({ ...runPlan(req.body) }));
}
