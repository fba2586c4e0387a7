/** What the API's routes are given: the engine, a logger, and where the bootstrap admin token was written. */
import type { Logger } from '../util/log.js';
import type { Engine } from '../engine.js';

export interface AppDeps extends Engine {
  log: Logger;
  /**
   * Where the bootstrap admin token was written. Never named in answers (a
   * 401 must not tell anonymous callers about the service's files); the
   * service's log says where it is.
   */
  adminTokenFile?: string;
}
