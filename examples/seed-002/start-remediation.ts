/**
 * Seed 002's Lambda function (lambda_function.py, Python 3.6), ported to
 * TypeScript for confix's function runtime. It is the target of the
 * EventBridge (CloudWatch Events) rule for "Config Rules Compliance Change":
 * when a result becomes NON_COMPLIANT, it starts the rule's remediation on
 * the resource (StartRemediationExecution), here through confix's API,
 * POST /rules/{rule}/remediation/executions. The remediation of seed 002's
 * rule, approved-amis-by-id, is AWS-StopEC2Instance: the instance is stopped.
 *
 * boto3's start_remediation_execution takes ResourceKeys (resourceType and
 * resourceId); confix's takes the resource ids alone, the rule knowing its
 * resource types. What it answers is returned, as the Lambda returns boto3's
 * response: { queued: [executions], failed: [{ resourceId, reason }] }
 * (boto3's FailedItems). Nothing is returned for other results (Python's None).
 *
 * Deploy: confix function deploy start-remediation --file examples/seed-002/start-remediation.ts
 */
import type { ComplianceChangeDetail, EventBridgeEvent } from '../../src/events/formats.js';
import type { FunctionContext } from '../../src/functions/types.js';

export async function handler(event: EventBridgeEvent<ComplianceChangeDetail>, context: FunctionContext) {
  const newEvaluationResult = event.detail.newEvaluationResult;
  // NON_COMPLIANT になった場合のみ実行 (only when it became NON_COMPLIANT)
  if (newEvaluationResult.complianceType === 'NON_COMPLIANT') {
    const qualifier = newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier;
    // 修復アクションを呼び出す (start the remediation action)
    return context.confix.startRemediation({
      rule: qualifier.configRuleName,
      resourceIds: [qualifier.resourceId], // ResourceKeys=[{'resourceType': qualifier['resourceType'], 'resourceId': qualifier['resourceId']}]
    });
  }
  return null;
}
