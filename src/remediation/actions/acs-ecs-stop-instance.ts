// ACS-ECS-StopInstance: stops an ECS instance (rollback starts it again if it was running).
import { registerAction } from '../registry.js';
import { ecsPowerAction } from './power.js';

registerAction(
  ecsPowerAction(
    'ACS-ECS-StopInstance',
    'Stops an ECS instance, for example one that is compromised or runs an unapproved image, until someone looks at it. ' +
      'An instance already stopped is left as it is. Rollback starts the instance again, only if this action stopped it.',
    'Stopped',
  ),
);
