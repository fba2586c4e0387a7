// Each resource type registers itself on import; adding one is one file and one line here.
import './acs-ecs-security-group.js';
