/** The catalogue of resource types (see registry.ts): importing this registers every type. */
export { registerResourceTypeFacts, resourceTypeFacts, allResourceTypeFacts, allIdKeys } from './registry.js';
import './acs-ecs-security-group.js';
import './acs-ecs-instance.js';
import './acs-oss-bucket.js';
import './aws-ec2-security-group.js';
import './aws-ec2-instance.js';
import './aws-s3-bucket.js';
