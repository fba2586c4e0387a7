// The sandbox cloud's IAM, pure and self-contained: policy documents of both
// clouds (document.ts), their evaluation (evaluate.ts), and refusals in each
// cloud's words (denial.ts). Import from here.
export {
  formatIssuePath,
  formatIssues,
  parsePolicyDocument,
  parsePolicyDocumentOrThrow,
  policyDocumentSchema,
  type Effect,
  type ParseResult,
  type PatternList,
  type PolicyDocument,
  type PolicyIssue,
  type PolicyKind,
  type PolicyStatement,
  type PolicyVersion,
  type PrincipalEntry,
  type StatementRef,
} from './document.js';
export { actionMatches, evaluatePermissions, resourceMatches, trustAllows, type PermissionDecision, type TrustDecision } from './evaluate.js';
export { acsNoPermission, awsAccessDenied, describeDenial, type Denial, type DenialError } from './denial.js';
export type { Principal } from './arn.js';
