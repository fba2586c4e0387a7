import type { RemediationAction } from './types.js';

const actions = new Map<string, RemediationAction>();

export function registerAction<P>(action: RemediationAction<P>): void {
  if (actions.has(action.name)) throw new Error(`remediation action ${action.name} registered twice`);
  actions.set(action.name, action as RemediationAction);
}

export function remediationAction(name: string): RemediationAction | undefined {
  return actions.get(name);
}

export function allActions(): RemediationAction[] {
  return [...actions.values()];
}
