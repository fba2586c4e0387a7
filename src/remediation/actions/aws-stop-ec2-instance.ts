// AWS-StopEC2Instance: stops an EC2 instance, as AWS's automation document of that name does.
import { z } from 'zod';
import type { Configuration } from '../../providers/types.js';
import { registerAction } from '../registry.js';
import { text } from './common.js';
import { powerAction } from './power.js';

const parameters = z.strictObject({
  InstanceId: text(),
  // Kept so that parameters written for AWS's document work unchanged; confix makes the calls
  // with the execution's own role, so the role to assume is the execution role's business.
  AutomationAssumeRole: z.string().optional(),
});
type Params = z.output<typeof parameters>;

const CODES: Record<string, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48, stopping: 64, stopped: 80 };
const stateOf = (c: Configuration) => String((c.State as { Name?: unknown } | undefined)?.Name ?? '');

registerAction(
  powerAction<Params>({
    name: 'AWS-StopEC2Instance',
    description:
      'Stops an EC2 instance, for example one that is compromised or runs an unapproved AMI, until someone looks at it. ' +
      'An instance already stopped is left as it is; a terminated (or terminating) one is refused. AutomationAssumeRole is ' +
      "accepted for compatibility with AWS's document of the same name and ignored: confix calls the API with the role of " +
      'the execution. Rollback starts the instance again, only if it was running.',
    resourceTypes: ['AWS::EC2::Instance'],
    parameters,
    resourceParameter: 'InstanceId',
    permissions: ['ec2:DescribeInstances', 'ec2:StopInstances', 'ec2:StartInstances'],
    target: (p) => ({ id: p.InstanceId }),
    statusOf: stateOf,
    withStatus: (c, Name) => ({ ...c, State: { ...(c.State as object), Code: CODES[Name], Name } }),
    from: 'running',
    to: 'stopped',
    verbs: { to: ['stop', 'stopped'], from: ['start', 'started'] },
    request: (status, id) => [status === 'stopped' ? 'ec2:StopInstances' : 'ec2:StartInstances', { InstanceIds: [id] }],
    refuse: (status, id) =>
      status === 'terminated' || status === 'shutting-down' ? `instance ${id} is ${status}; a terminated instance cannot be stopped` : undefined,
  }),
);
