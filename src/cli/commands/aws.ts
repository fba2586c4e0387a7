/**
 * `confix aws …`: what an AWS account needs before confix can govern it,
 * generated from confix's own registries (the resource types it reads, the
 * actions that fix them, the CloudTrail events it follows), so it never
 * drifts from what confix does.
 */
import type { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { print, printJson, globals } from '../context.js';
import { allResourceTypeFacts, loadAws } from '../../providers/index.js';
import { allActions } from '../../remediation/registry.js';
import '../../remediation/actions/index.js';

/** What discovery reads beyond the types: the account, its regions, its organization. */
const ACCOUNT_READS = ['sts:GetCallerIdentity', 'ec2:DescribeRegions'];
const ORGANIZATION_READS = [
  'organizations:DescribeOrganization',
  'organizations:ListAccounts',
  'organizations:ListRoots',
  'organizations:ListOrganizationalUnitsForParent',
  'organizations:ListAccountsForParent',
  'organizations:ListDelegatedAdministrators',
];
const QUEUE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'];

interface PolicyOptions {
  remediation?: boolean;
  organizationRole?: string;
  queueArn?: string;
}

/** The IAM policy confix needs, from the registry: read actions of the types; with remediation, the actions' permissions. */
export async function iamPolicy(o: PolicyOptions): Promise<{ Version: string; Statement: Record<string, unknown>[] }> {
  const awsTypes = allResourceTypeFacts().filter((t) => t.dialect === 'aws');
  const reads = [...new Set([...ACCOUNT_READS, ...awsTypes.flatMap((t) => t.readPermissions)])].sort();
  const statements: Record<string, unknown>[] = [{ Sid: 'ConfixDiscovery', Effect: 'Allow', Action: reads, Resource: '*' }];
  if (o.organizationRole) {
    statements.push({ Sid: 'ConfixOrganization', Effect: 'Allow', Action: [...ORGANIZATION_READS].sort(), Resource: '*' });
    statements.push({ Sid: 'ConfixMemberAccounts', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::*:role/${o.organizationRole}` });
  }
  if (o.queueArn) statements.push({ Sid: 'ConfixEvents', Effect: 'Allow', Action: QUEUE_ACTIONS, Resource: o.queueArn });
  if (o.remediation) {
    const types = new Set(awsTypes.map((t) => t.type));
    const acts = allActions().filter((a) => a.resourceTypes.some((t) => types.has(t)));
    // Each call's own permission, and those it reads before and after (a probe, a follow-up call).
    const { callPermissions } = await loadAws();
    const perms = [
      ...new Set(
        acts.flatMap((a) =>
          a.permissions.flatMap((p) => {
            const c = callPermissions(p);
            return c ? [c.required, ...c.optional] : [p];
          }),
        ),
      ),
    ].sort();
    statements.push({ Sid: 'ConfixRemediation', Effect: 'Allow', Action: perms, Resource: '*' });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** A CloudFormation template: the queue, its policy, and the EventBridge rule sending CloudTrail's management events to it. */
export async function eventsTemplate(queueName: string): Promise<Record<string, unknown>> {
  const { eventBridgePattern } = await loadAws();
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: "confix's change feed: CloudTrail management events of the resources confix governs, through EventBridge, to an SQS queue confix long-polls",
    Resources: {
      ConfixEventsQueue: {
        Type: 'AWS::SQS::Queue',
        Properties: { QueueName: queueName, MessageRetentionPeriod: 345600, VisibilityTimeout: 60, SqsManagedSseEnabled: true },
      },
      ConfixEventsQueuePolicy: {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'ConfixEventsQueue' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'EventBridgeSendsConfixEvents',
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: { 'Fn::GetAtt': ['ConfixEventsQueue', 'Arn'] },
                Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['ConfixEventsRule', 'Arn'] } } },
              },
            ],
          },
        },
      },
      ConfixEventsRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          Description: 'CloudTrail management events that change what confix governs',
          EventPattern: eventBridgePattern(),
          State: 'ENABLED',
          Targets: [{ Id: 'confix', Arn: { 'Fn::GetAtt': ['ConfixEventsQueue', 'Arn'] } }],
        },
      },
    },
    Outputs: {
      QueueUrl: { Description: 'events.queueUrl in confix.yaml', Value: { Ref: 'ConfixEventsQueue' } },
      QueueArn: { Description: 'for `confix aws iam-policy --queue-arn`', Value: { 'Fn::GetAtt': ['ConfixEventsQueue', 'Arn'] } },
    },
  };
}

export function awsCommands(program: Command) {
  const aws = program.command('aws').description('Setting AWS up for confix: the IAM policy it needs, and the events it follows');

  aws
    .command('iam-policy')
    .description('The IAM policy confix needs in an AWS account, from the types it reads (and, with --remediation, the actions that fix them)')
    .option('--remediation', 'also the permissions of the AWS remediation actions')
    .option('--organization-role <name>', 'also read the organization and assume this role in member accounts (e.g. OrganizationAccountAccessRole)')
    .option('--queue-arn <arn>', "also read and delete the change feed's messages on this SQS queue")
    .addHelpText(
      'after',
      `
Prints a policy document (JSON) to attach to the role or user confix runs as.
Examples:
  confix aws iam-policy > confix-read.json
  confix aws iam-policy --remediation --organization-role OrganizationAccountAccessRole --queue-arn arn:aws:sqs:us-east-1:123456789012:confix-events`,
    )
    .action(async (o: PolicyOptions) => {
      print(JSON.stringify(await iamPolicy(o), null, 2));
    });

  aws
    .command('events-setup')
    .description(
      "A CloudFormation template for confix's change feed: an SQS queue, its policy, and the EventBridge rule that sends it CloudTrail's management events",
    )
    .option('--queue-name <name>', 'the queue', 'confix-events')
    .addHelpText(
      'after',
      `
EventBridge rules are regional: deploy the template in every region confix
governs (a StackSet does them all), with CloudTrail recording management
events (a trail). Then name the queue in confix.yaml:
  providers:
    - type: aws
      events: { queueUrl: <the stack's QueueUrl output> }
Example:
  confix aws events-setup > confix-events.yaml
  aws cloudformation deploy --template-file confix-events.yaml --stack-name confix-events`,
    )
    .action(async (o: { queueName: string }, cmd: Command) => {
      const t = await eventsTemplate(o.queueName);
      if (globals(cmd).json) return printJson(t);
      print(toYaml(t, { lineWidth: 0 }));
    });
}
