/** The rule vocabulary shared by managed rules, custom rules and the evaluator. */
import type { z } from 'zod';
import type { Configuration, Tags } from '../providers/types.js';

export const COMPLIANCE_TYPES = ['COMPLIANT', 'NON_COMPLIANT', 'NOT_APPLICABLE', 'INSUFFICIENT_DATA'] as const;
export type ComplianceType = (typeof COMPLIANCE_TYPES)[number];

export type RiskLevel = 1 | 2 | 3;

/** What a rule sees of a resource: its recorded state. */
export interface EvaluationInput {
  accountId: string;
  regionId: string;
  resourceType: string;
  resourceId: string;
  resourceName: string | null;
  tags: Tags;
  configuration: Configuration;
}

/** A rule's judgement of one resource. The annotation says why, for people. */
export interface Verdict {
  complianceType: ComplianceType;
  annotation: string;
}

/**
 * A parameter's documentation. It is written once, as the metadata of the
 * parameter's schema (`.meta({ description, required?, default?, example? })`),
 * and read from there (registry.ts parameterDocs).
 */
export interface ParameterDoc {
  description: string;
  /** The default, as the clouds write parameters: a string. */
  default?: string;
  required: boolean;
  example?: string;
}

/**
 * A managed rule: one small file under managed/ registers one. Parameters
 * arrive as the clouds pass them (strings, e.g. ports: "22,3389"); the
 * schema checks and converts them, and its errors name the parameter.
 */
// biome-ignore lint/suspicious/noExplicitAny: the registry holds entries of every parameter type; each is checked where it is registered
export interface ManagedRule<P = any> {
  identifier: string;
  /** Other identifiers the clouds use for the same rule (s3-bucket-public-read-prohibited). */
  aliases?: string[];
  description: string;
  resourceTypes: string[];
  /** Raw parameters object → typed parameters (a strict object whose fields carry their docs as metadata). Unknown parameters are refused. */
  parameters: z.ZodType<P>;
  /** From the parameters' metadata. */
  parameterDocs: Record<string, ParameterDoc>;
  defaultRiskLevel: RiskLevel;
  /** Pure and synchronous: the evaluator calls it for thousands of resources a second. */
  evaluate(resource: EvaluationInput, params: P): Verdict;
}
