// ACS-ECS-StartInstance: starts an ECS instance (rollback stops it again if it was stopped).
import { registerAction } from '../registry.js';
import { ecsPowerAction } from './power.js';

registerAction(
  ecsPowerAction(
    'ACS-ECS-StartInstance',
    'Starts a stopped ECS instance, for example one that must be running for its monitoring agent to be installed. ' +
      'An instance already running is left as it is. Rollback stops the instance again, only if this action started it.',
    'Running',
  ),
);
