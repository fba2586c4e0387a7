/**
 * The words of an execution's life, spelt once: the store, the API's schemas,
 * the events, the CLI and the console use these (no database or node
 * imports, so the console can too).
 */
export const EXECUTION_STATUSES = ['QUEUED', 'AWAITING_APPROVAL', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses of an execution still under way: one per rule and resource at a time. */
export const ACTIVE_STATUSES = ['QUEUED', 'AWAITING_APPROVAL', 'IN_PROGRESS'] as const satisfies readonly ExecutionStatus[];

export const EXECUTION_TRIGGERS = ['AUTOMATIC', 'MANUAL', 'API'] as const;
export type ExecutionTrigger = (typeof EXECUTION_TRIGGERS)[number];

/** A list of statuses as SQL literals, for `status IN (…)` (the values are the constants above, never input). */
export const sqlList = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/** Whether an execution in this status is still under way. */
export const isActive = (status: string): boolean => (ACTIVE_STATUSES as readonly string[]).includes(status);
