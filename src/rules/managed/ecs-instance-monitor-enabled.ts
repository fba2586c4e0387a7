// ecs-instance-monitor-enabled: every running ECS instance runs the CloudMonitor agent.
import { z } from 'zod';
import { registerManagedRule } from '../registry.js';
import type { EvaluationInput, Verdict } from '../types.js';

const parameters = z.strictObject({});
type NoParams = z.output<typeof parameters>;

function evaluate(resource: EvaluationInput): Verdict {
  if (resource.resourceType !== 'ACS::ECS::Instance')
    return { complianceType: 'NOT_APPLICABLE', annotation: `${resource.resourceType} is not an ECS instance` };
  const c = (resource.configuration ?? {}) as Record<string, unknown>;
  const id = resource.resourceId;
  const status = typeof c.Status === 'string' ? c.Status : '';
  if (status === '') return { complianceType: 'INSUFFICIENT_DATA', annotation: 'the configuration has no Status' };
  if (status.toLowerCase() !== 'running')
    return { complianceType: 'NOT_APPLICABLE', annotation: `instance ${id} is ${status}; the monitoring agent is only checked on running instances` };
  const agent = typeof c.MonitoringAgentStatus === 'string' && c.MonitoringAgentStatus !== '' ? c.MonitoringAgentStatus : undefined;
  if (agent === 'running') return { complianceType: 'COMPLIANT', annotation: `monitoring agent is running on instance ${id}` };
  if (agent === undefined) return { complianceType: 'NON_COMPLIANT', annotation: `no monitoring agent status is reported for running instance ${id}` };
  return { complianceType: 'NON_COMPLIANT', annotation: `monitoring agent is ${agent} on running instance ${id}` };
}

registerManagedRule<NoParams>({
  identifier: 'ecs-instance-monitor-enabled',
  description:
    'Checks that every running ECS instance has the CloudMonitor agent running, so that its operating-system metrics ' +
    '(memory, disk, processes) are collected and alarms can fire. A running instance is non-compliant when the agent is ' +
    'not installed or stopped; instances that are not running are not applicable.',
  resourceTypes: ['ACS::ECS::Instance'],
  parameters,
  defaultRiskLevel: 2,
  evaluate,
});
