import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  describeDenial,
  evaluatePermissions,
  formatIssues,
  parsePolicyDocument,
  parsePolicyDocumentOrThrow,
  policyDocumentSchema,
  trustAllows,
  type PolicyDocument,
  type PolicyIssue,
  type PolicyKind,
  type Principal,
} from '../../src/providers/sandbox/iam/policy.js';
import { dialectOfResourceType, parseRoleArn, principalArn, roleArn } from '../../src/providers/sandbox/iam/arn.js';

// Seed 000's accounts, with the **** of the published text replaced by digits.
const A = '100931896542';
const B = '178366182654';

// Seed 000, verbatim but for the account ids.
const seedPolicy = {
  Version: '1',
  Statement: [
    { Effect: 'Allow', Action: 'cms:InstallMonitoringAgent', Resource: '*' },
    { Action: 'sts:AssumeRole', Effect: 'Allow', Resource: '*' },
  ],
};
const seedTrustA = {
  Statement: [
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { RAM: [`acs:ram::${A}:root`] } },
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: ['fc.aliyuncs.com'] } },
  ],
  Version: '1',
};
const seedTrustB = {
  Statement: [
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { RAM: [`acs:ram::${B}:root`] } },
    { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { RAM: [`acs:ram::${A}:role/configcustomremediationrole`] } },
  ],
  Version: '1',
};

const doc = (json: unknown, kind: PolicyKind = 'permission') => parsePolicyDocumentOrThrow(json, kind);
const acs = (...statements: object[]) => doc({ Version: '1', Statement: statements });
const aws = (...statements: object[]) => doc({ Version: '2012-10-17', Statement: statements });
const issues = (json: unknown, kind: PolicyKind = 'permission'): PolicyIssue[] => {
  const r = parsePolicyDocument(json, kind);
  assert.ok(r.issues, 'expected the document to be refused');
  return r.issues;
};

const role = (accountId: string, roleName: string, sessionName?: string): Principal => ({
  type: 'role',
  accountId,
  roleName,
  ...(sessionName && { sessionName }),
});
const ecsInstance = `acs:ecs:cn-hangzhou:${B}:instance/i-bp1memberapp0000001`;

test('seed 000: the permission policy and both trust policies parse unchanged', () => {
  const p = doc(seedPolicy);
  assert.equal(p.dialect, 'acs');
  assert.equal(p.statements.length, 2);
  assert.deepEqual(p.statements[0]!.action, { negated: false, patterns: ['cms:InstallMonitoringAgent'] });
  for (const t of [seedTrustA, seedTrustB]) assert.equal(doc(t, 'trust').statements.length, 2);
  // Also as JSON text, the way an estate or API body carries it.
  assert.ok(parsePolicyDocument(JSON.stringify(seedTrustB), 'trust').doc);
});

test('seed 000 as published (account ids masked with ****) is refused with the principal path', () => {
  const masked = JSON.parse(JSON.stringify(seedTrustA).replaceAll(A, `${A}****`));
  const [i, ...rest] = issues(masked, 'trust');
  assert.equal(rest.length, 0);
  assert.deepEqual(i!.path, ['Statement', 0, 'Principal', 'RAM', 0]);
  assert.match(i!.message, /not a RAM principal.*account ids are digits/);
});

test('allow by exact action; the seed policy allows exactly what it lists', () => {
  const policies = [{ name: 'ConfigCustomRemediationPolicy', doc: doc(seedPolicy) }];
  assert.deepEqual(evaluatePermissions(policies, { action: 'cms:InstallMonitoringAgent', resource: ecsInstance }), {
    decision: 'Allow',
    policy: 'ConfigCustomRemediationPolicy',
    statement: 0,
  });
  assert.equal(evaluatePermissions(policies, { action: 'sts:AssumeRole', resource: roleArn('acs', B, 'ConfigCustomRemediationRole') }).decision, 'Allow');
  assert.deepEqual(evaluatePermissions(policies, { action: 'ecs:StopInstance', resource: ecsInstance }), { decision: 'ImplicitDeny' });
});

test('wildcards in actions and resources; actions are case-insensitive', () => {
  const describe = [{ name: 'ro', doc: acs({ Effect: 'Allow', Action: 'ecs:Describe*', Resource: `acs:ecs:*:${B}:instance/*` }) }];
  const ev = (action: string, resource = ecsInstance) => evaluatePermissions(describe, { action, resource }).decision;
  assert.equal(ev('ecs:DescribeInstances'), 'Allow');
  assert.equal(ev('ECS:describeinstances'), 'Allow');
  assert.equal(ev('ecs:StopInstance'), 'ImplicitDeny');
  assert.equal(ev('ecs:DescribeInstances', `acs:ecs:cn-hangzhou:${A}:instance/i-1`), 'ImplicitDeny', 'other account');
  assert.equal(ev('ecs:DescribeInstances', `acs:ecs:cn-hangzhou:${B}:securitygroup/sg-1`), 'ImplicitDeny', 'other resource type');

  const admin = [{ name: 'admin', doc: aws({ Effect: 'Allow', Action: '*', Resource: '*' }) }];
  assert.equal(evaluatePermissions(admin, { action: 's3:PutPublicAccessBlock', resource: 'arn:aws:s3:::b' }).decision, 'Allow');

  const q = [
    { name: 'q', doc: aws({ Effect: 'Allow', Action: ['cms:*', 'ec2:?topInstances'], Resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0?' }) },
  ];
  assert.equal(evaluatePermissions(q, { action: 'ec2:StopInstances', resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-01' }).decision, 'Allow');
  assert.equal(evaluatePermissions(q, { action: 'cms:Anything', resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-012' }).decision, 'ImplicitDeny');
});

test('resource names: case-sensitive for AWS, case-insensitive for ACS', () => {
  const a = [{ name: 'p', doc: aws({ Effect: 'Allow', Action: 's3:*', Resource: 'arn:aws:s3:::Logs/*' }) }];
  assert.equal(evaluatePermissions(a, { action: 's3:GetObject', resource: 'arn:aws:s3:::Logs/x' }).decision, 'Allow');
  assert.equal(evaluatePermissions(a, { action: 's3:GetObject', resource: 'arn:aws:s3:::logs/x' }).decision, 'ImplicitDeny');
  const c = [{ name: 'p', doc: acs({ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `acs:ram::${B}:role/ConfigCustomRemediationRole` }) }];
  assert.equal(evaluatePermissions(c, { action: 'sts:AssumeRole', resource: roleArn('acs', B, 'ConfigCustomRemediationRole') }).decision, 'Allow');
});

test('an explicit deny in one policy beats an allow in another, in either order', () => {
  const allow = { name: 'AdministratorAccess', doc: acs({ Effect: 'Allow', Action: '*', Resource: '*' }) };
  const deny = {
    name: 'NoStopping',
    doc: acs({ Effect: 'Allow', Action: 'ecs:Describe*', Resource: '*' }, { Sid: 'NoStop', Effect: 'Deny', Action: 'ecs:Stop*', Resource: '*' }),
  };
  for (const policies of [
    [allow, deny],
    [deny, allow],
  ]) {
    assert.deepEqual(evaluatePermissions(policies, { action: 'ecs:StopInstance', resource: ecsInstance }), {
      decision: 'ExplicitDeny',
      policy: 'NoStopping',
      statement: 'NoStop',
    });
    assert.equal(evaluatePermissions(policies, { action: 'ecs:StartInstance', resource: ecsInstance }).decision, 'Allow');
  }
});

test('NotAction and NotResource apply to everything except what they list', () => {
  const policies = [
    { name: 'all-but-iam', doc: aws({ Effect: 'Allow', NotAction: ['iam:*', 'sts:*'], Resource: '*' }) },
    { name: 'only-prod-bucket', doc: aws({ Effect: 'Deny', Action: 's3:*', NotResource: ['arn:aws:s3:::prod', 'arn:aws:s3:::prod/*'] }) },
  ];
  const ev = (action: string, resource: string) => evaluatePermissions(policies, { action, resource });
  assert.equal(ev('ec2:StopInstances', 'arn:aws:ec2:us-east-1:123456789012:instance/i-1').decision, 'Allow');
  assert.equal(ev('iam:CreateRole', 'arn:aws:iam::123456789012:role/x').decision, 'ImplicitDeny');
  assert.equal(ev('s3:PutBucketAcl', 'arn:aws:s3:::prod').decision, 'Allow');
  assert.deepEqual(ev('s3:PutBucketAcl', 'arn:aws:s3:::staging'), { decision: 'ExplicitDeny', policy: 'only-prod-bucket', statement: 0 });
});

test('no policies, or none that matches: implicit deny', () => {
  assert.deepEqual(evaluatePermissions([], { action: 'ecs:StopInstance', resource: ecsInstance }), { decision: 'ImplicitDeny' });
});

test("trust: an account's root principal trusts that account's root and roles, not another account", () => {
  const t = doc(seedTrustA, 'trust');
  assert.deepEqual(trustAllows(t, { type: 'root', accountId: A }), { allowed: true, allowedBy: 0 });
  assert.equal(trustAllows(t, role(A, 'SomeOtherRole', 's')).allowed, true);
  assert.deepEqual(trustAllows(t, { type: 'root', accountId: B }), { allowed: false });
  assert.equal(trustAllows(t, role(B, 'ConfigCustomRemediationRole')).allowed, false);
  // AWS: the bare account id is shorthand for the account's root.
  const w = doc({ Version: '2012-10-17', Statement: { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: '123456789012' } } }, 'trust');
  assert.equal(trustAllows(w, role('123456789012', 'Ops', 'me')).allowed, true);
  assert.equal(trustAllows(w, { type: 'root', accountId: '210987654321' }).allowed, false);
});

test("trust: a role principal trusts that role only, its name case-insensitively (seed 000's lower-case ARN)", () => {
  const t = doc(seedTrustB, 'trust');
  assert.deepEqual(trustAllows(t, role(A, 'ConfigCustomRemediationRole', 'confix')), { allowed: true, allowedBy: 1 });
  assert.equal(trustAllows(t, role(A, 'configcustomremediationrole')).allowed, true);
  assert.equal(trustAllows(t, role(A, 'AnotherRole', 'confix')).allowed, false, 'another role of the same account');
  assert.equal(trustAllows(t, { type: 'root', accountId: A }).allowed, false, "the role's account root is not the role");
  assert.equal(trustAllows(t, { type: 'root', accountId: '111111111111' }).allowed, false, 'another account');
  assert.equal(trustAllows(t, { type: 'root', accountId: B }).allowed, true, "B's own root, by statement 0");

  // AWS role ARN with a path; an assumed-role session ARN trusts that session only.
  const w = doc(
    {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: ['arn:aws:iam::123456789012:role/ops/Deployer'] } },
        { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: 'arn:aws:sts::123456789012:assumed-role/Auditor/alice' } },
      ],
    },
    'trust',
  );
  assert.equal(trustAllows(w, role('123456789012', 'Deployer', 'ci')).allowed, true);
  assert.equal(trustAllows(w, role('123456789012', 'Auditor', 'alice')).allowed, true);
  assert.equal(trustAllows(w, role('123456789012', 'Auditor', 'bob')).allowed, false);
  assert.equal(trustAllows(w, role('123456789012', 'Auditor')).allowed, false);
});

test('trust: service principals, "*", and the action must be sts:AssumeRole', () => {
  const t = doc(seedTrustA, 'trust');
  assert.deepEqual(trustAllows(t, { type: 'service', service: 'fc.aliyuncs.com' }), { allowed: true, allowedBy: 1 });
  assert.equal(trustAllows(t, { type: 'service', service: 'ecs.aliyuncs.com' }).allowed, false);
  const lambda = doc(
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }] },
    'trust',
  );
  assert.equal(trustAllows(lambda, { type: 'service', service: 'lambda.amazonaws.com' }).allowed, true);
  assert.equal(trustAllows(lambda, { type: 'root', accountId: '123456789012' }).allowed, false);

  const anyone = doc({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:*', Principal: '*' }] }, 'trust');
  assert.equal(trustAllows(anyone, { type: 'service', service: 'lambda.amazonaws.com' }).allowed, true);
  const anyAccount = doc({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: '*' } }] }, 'trust');
  assert.equal(trustAllows(anyAccount, role(B, 'x')).allowed, true);
  assert.equal(trustAllows(anyAccount, { type: 'service', service: 'fc.aliyuncs.com' }).allowed, false);

  const tagOnly = doc({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:TagSession', Principal: '*' }] }, 'trust');
  assert.equal(trustAllows(tagOnly, { type: 'root', accountId: '123456789012' }).allowed, false);
});

test('trust: an explicit Deny wins over an Allow', () => {
  const t = doc(
    {
      Version: '1',
      Statement: [...seedTrustB.Statement, { Sid: 'NotTheMember', Action: 'sts:AssumeRole', Effect: 'Deny', Principal: { RAM: `acs:ram::${B}:root` } }],
    },
    'trust',
  );
  assert.deepEqual(trustAllows(t, { type: 'root', accountId: B }), { allowed: false, deniedBy: 'NotTheMember' });
  assert.equal(trustAllows(t, role(A, 'ConfigCustomRemediationRole', 's')).allowed, true);
});

test('trust: a statement Resource is matched against the role ARN; without one an Allow with a Resource does not count', () => {
  const arn = roleArn('acs', B, 'ConfigCustomRemediationRole');
  const t = doc({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { RAM: `acs:ram::${A}:root` }, Resource: arn }] }, 'trust');
  assert.equal(trustAllows(t, { type: 'root', accountId: A }, { roleArn: arn }).allowed, true);
  assert.equal(trustAllows(t, { type: 'root', accountId: A }, { roleArn: roleArn('acs', B, 'Other') }).allowed, false);
  assert.equal(trustAllows(t, { type: 'root', accountId: A }).allowed, false);
});

test('invalid documents: precise paths and messages', () => {
  const cond = issues({
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: { IpAddress: { 'acs:SourceIp': '10.0.0.0/8' } } }],
  });
  assert.deepEqual(cond, [{ path: ['Statement', 0, 'Condition'], message: "Condition is not supported by the sandbox's IAM; remove it" }]);

  assert.deepEqual(issues({ Version: '1', Statement: { Effect: 'allow', Action: '*', Resource: '*' } }), [
    { path: ['Statement', 'Effect'], message: 'Effect must be "Allow" or "Deny", not "allow"' },
  ]);
  assert.deepEqual(issues({ Version: '1', Statement: [{ Effect: 'Allow', Resource: '*' }] }), [
    { path: ['Statement', 0, 'Action'], message: 'Action is required (or NotAction)' },
  ]);
  const [unknown] = issues({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resources: '*' }] });
  assert.deepEqual(unknown!.path, ['Statement', 0, 'Resources']);
  assert.match(unknown!.message, /^unknown key "Resources"/);
  assert.deepEqual(
    issues({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*' }] }).map((i) => i.path),
    [['Statement', 0, 'Resource']],
  );
  assert.deepEqual(
    issues({ Version: '1', Statment: [] }).map((i) => i.path),
    [['Statment'], ['Statement']],
  );

  const [principal] = issues({ Version: '1', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Principal: { RAM: `acs:ram::${A}:root` } }] });
  assert.deepEqual(principal!.path, ['Statement', 0, 'Principal']);
  assert.match(principal!.message, /not allowed in a permission policy/);

  const [noPrincipal] = issues({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole' }] }, 'trust');
  assert.deepEqual(noPrincipal!.path, ['Statement', 0, 'Principal']);
  assert.match(noPrincipal!.message, /Principal is required in a trust policy/);

  assert.deepEqual(issues({ Version: '2', Statement: { Effect: 'Allow', Action: '*', Resource: '*' } }), [
    { path: ['Version'], message: 'Version must be "1" (Alibaba Cloud RAM) or "2012-10-17" (AWS IAM), not "2"' },
  ]);
  const mixed = issues({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['ecs:Describe*', 'not an action'], Resource: 'arn:aws:s3:::b', Sid: 1 }] });
  assert.deepEqual(
    mixed.map((i) => i.path),
    [
      ['Statement', 0, 'Sid'],
      ['Statement', 0, 'Action', 1],
      ['Statement', 0, 'Resource'],
    ],
  );
  assert.match(formatIssues(mixed), /^Statement\[0\]\.Sid: Sid must be a string\nStatement\[0\]\.Action\[1\]: "not an action" is not an action/);

  // The other cloud's vocabulary is named as such.
  const [key] = issues({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: `arn:aws:iam::${A}:root` } }] }, 'trust');
  assert.deepEqual(key!.path, ['Statement', 0, 'Principal', 'AWS']);
  assert.match(key!.message, /under "RAM"/);
  assert.deepEqual(issues({ Version: '2012-10-17', Statement: [] }), [{ path: ['Statement'], message: 'Statement must contain at least one statement' }]);
  // A policy for the other cloud is refused at its Version.
  const expect = parsePolicyDocument(seedPolicy, 'permission', { dialect: 'aws' });
  assert.deepEqual(
    expect.issues?.map((i) => i.path),
    [['Version']],
  );
});

test('the zod schema reports the same issues under the field', () => {
  const schema = policyDocumentSchema('trust');
  const r = schema.safeParse({
    Version: '1',
    Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'fc.aliyuncs.com' }, Condition: {} }],
  });
  assert.equal(r.success, false);
  assert.deepEqual(
    r.error!.issues.map((i) => [i.path, i.message]),
    [[['Statement', 0, 'Condition'], "Condition is not supported by the sandbox's IAM; remove it"]],
  );
  const ok: PolicyDocument = schema.parse(seedTrustA);
  assert.equal(ok.kind, 'trust');
});

test('ARNs: role ARNs, principals in messages, resource type dialects', () => {
  assert.equal(roleArn('acs', B, 'ConfigCustomRemediationRole'), `acs:ram::${B}:role/configcustomremediationrole`);
  assert.equal(roleArn('aws', '123456789012', 'Deployer'), 'arn:aws:iam::123456789012:role/Deployer');
  assert.deepEqual(parseRoleArn(`acs:ram::${B}:role/configcustomremediationrole`), { dialect: 'acs', accountId: B, roleName: 'configcustomremediationrole' });
  assert.deepEqual(parseRoleArn('arn:aws:iam::123456789012:role/ops/Deployer'), { dialect: 'aws', accountId: '123456789012', roleName: 'Deployer' });
  assert.equal(parseRoleArn(`acs:ram::${B}:root`), undefined);
  assert.equal(parseRoleArn('arn:aws:sts::123456789012:assumed-role/R/s'), undefined);

  assert.equal(principalArn({ type: 'root', accountId: A }, 'acs'), `acs:ram::${A}:root`);
  assert.equal(principalArn({ type: 'root', accountId: A }, 'aws'), `arn:aws:iam::${A}:root`);
  assert.equal(principalArn(role(B, 'ConfigCustomRemediationRole', 'confix'), 'acs'), `acs:ram::${B}:assumed-role/configcustomremediationrole/confix`);
  assert.equal(principalArn(role(B, 'Remediator', 'confix'), 'aws'), `arn:aws:sts::${B}:assumed-role/Remediator/confix`);
  assert.equal(principalArn(role(B, 'Remediator'), 'aws'), `arn:aws:iam::${B}:role/Remediator`);
  assert.equal(principalArn({ type: 'service', service: 'fc.aliyuncs.com' }, 'acs'), 'fc.aliyuncs.com');

  assert.equal(dialectOfResourceType('ACS::ECS::Instance'), 'acs');
  assert.equal(dialectOfResourceType('AWS::EC2::Instance'), 'aws');
  assert.throws(() => dialectOfResourceType('GCP::Compute::Instance'));
});

test('denial messages: ACS NoPermission', () => {
  const principal = role(B, 'ConfigCustomRemediationRole', 'confix');
  const request = { action: 'cms:InstallMonitoringAgent', resource: `acs:ecs:cn-hangzhou:${B}:instance/i-xxx` };
  const implicit = describeDenial({ dialect: 'acs', ...request, principal, decision: evaluatePermissions([], request) });
  assert.deepEqual(implicit, {
    code: 'NoPermission',
    status: 403,
    message: `You are not authorized to do this action. Action: cms:InstallMonitoringAgent, Resource: acs:ecs:cn-hangzhou:${B}:instance/i-xxx, Principal: acs:ram::${B}:assumed-role/configcustomremediationrole/confix, reason: no policy allows it`,
  });
  const deny = evaluatePermissions([{ name: 'DenyCms', doc: acs({ Effect: 'Deny', Action: 'cms:*', Resource: '*' }) }], request);
  assert.match(
    describeDenial({ dialect: 'acs', ...request, principal, decision: deny }).message,
    /reason: explicitly denied by policy "DenyCms" \(Statement\[0\]\)$/,
  );

  const arn = roleArn('acs', B, 'ConfigCustomRemediationRole');
  const trust = trustAllows(doc(seedTrustB, 'trust'), { type: 'root', accountId: A });
  const t = describeDenial({ dialect: 'acs', action: 'sts:AssumeRole', resource: arn, principal: { type: 'root', accountId: A }, decision: trust });
  assert.equal(t.code, 'NoPermission');
  assert.match(
    t.message,
    new RegExp(`Action: sts:AssumeRole, Resource: ${arn}, Principal: acs:ram::${A}:root, reason: the role's trust policy does not trust this principal$`),
  );
  assert.throws(() => describeDenial({ dialect: 'acs', ...request, principal, decision: { decision: 'Allow', policy: 'p', statement: 0 } }));
});

test('denial messages: AWS AccessDenied, UnauthorizedOperation for EC2', () => {
  const principal = role('123456789012', 'Remediator', 'confix');
  const user = 'User: arn:aws:sts::123456789012:assumed-role/Remediator/confix';
  const stop = { action: 'ec2:StopInstances', resource: 'arn:aws:ec2:us-east-1:123456789012:instance/i-0abc' };
  const implicit = describeDenial({ dialect: 'aws', ...stop, principal, decision: evaluatePermissions([], stop) });
  assert.equal(implicit.code, 'UnauthorizedOperation');
  assert.equal(implicit.status, 403);
  assert.ok(
    implicit.message.endsWith(
      `${user} is not authorized to perform: ec2:StopInstances on resource: ${stop.resource} because no identity-based policy allows the ec2:StopInstances action`,
    ),
    implicit.message,
  );

  const acl = { action: 's3:PutBucketAcl', resource: 'arn:aws:s3:::prod' };
  const policies = [{ name: 'NoAcls', doc: aws({ Sid: 'NoAcl', Effect: 'Deny', Action: 's3:PutBucket*', Resource: '*' }) }];
  const explicit = describeDenial({ dialect: 'aws', ...acl, principal, decision: evaluatePermissions(policies, acl) });
  assert.deepEqual(explicit, {
    code: 'AccessDenied',
    status: 403,
    message: `${user} is not authorized to perform: s3:PutBucketAcl on resource: arn:aws:s3:::prod with an explicit deny in an identity-based policy: NoAcls (Statement "NoAcl")`,
  });

  const trust = doc(
    { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }] },
    'trust',
  );
  const assume = { action: 'sts:AssumeRole', resource: 'arn:aws:iam::210987654321:role/Target' };
  const t = describeDenial({ dialect: 'aws', ...assume, principal, decision: trustAllows(trust, principal) });
  assert.equal(t.code, 'AccessDenied');
  assert.match(
    t.message,
    /on resource: arn:aws:iam::210987654321:role\/Target because no resource-based policy \(the role's trust policy\) allows the sts:AssumeRole action$/,
  );
});
