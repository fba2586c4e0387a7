// Each resource type registers itself on import; adding one is one file and one line here.
import './acs-ecs-security-group.js';
import './acs-ecs-instance.js';
import './acs-oss-bucket.js';
import './aws-ec2-security-group.js';
import './aws-ec2-instance.js';
import './aws-s3-bucket.js';
