import m001 from './001_foundation.js';
import m002 from './002_rules.js';
import m003 from './003_remediations.js';
import m004 from './004_executions.js';
import m005 from './005_exceptions.js';
import m006 from './006_remediation_controls.js';
import m007 from './007_sandbox_iam.js';
import m008 from './008_credentials.js';
import m009 from './009_account_groups.js';
import m010 from './010_events.js';
import m011 from './011_functions.js';
import m012 from './012_access.js';
import m013 from './013_invocation_json.js';
import m015 from './015_execution_ci.js';
import m016 from './016_store_identity.js';
import m017 from './017_execution_retryable.js';
import m018 from './018_timeline_time.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Every migration, in order. Append new ones; never change a released one. */
export const migrations: Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011, m012, m013, m015, m016, m017, m018];
