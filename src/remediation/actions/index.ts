// Each built-in remediation action registers itself on import; adding one is one file and one line here.
import './acs-ecs-revoke-security-group-rules.js';
import './acs-oss-put-bucket-acl.js';
import './acs-ecs-stop-instance.js';
import './acs-ecs-start-instance.js';
import './acs-cms-install-monitoring-agent.js';
import './aws-stop-ec2-instance.js';
import './aws-disable-public-access-for-security-group.js';
import './aws-disable-s3-bucket-public-read-write.js';
