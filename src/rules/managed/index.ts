// Each managed rule registers itself on import; adding one is one file and one line here.
import './sg-risky-ports-check.js';
import './oss-bucket-public-read-prohibited.js';
import './ecs-instance-monitor-enabled.js';
import './approved-amis-by-id.js';
