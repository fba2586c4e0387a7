// Before any AWS SDK module loads: its releases warn on every start that those
// published after early 2027 need Node 22. confix pins releases that run on
// Node 20 (the lock file), so the warning says nothing to its users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
export {};
