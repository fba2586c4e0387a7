/**
 * The engine's parts on one store, wired together once: the long-running
 * service and the one-shot scan both build them here.
 */
import type { Db } from './store/index.js';
import { ProviderRegistry, SandboxCloud, type Provider } from './providers/index.js';
import { Inventory, Recorder } from './inventory/index.js';
import { RuleStore } from './rules/store.js';
import { Evaluator } from './evaluation/evaluator.js';
import { ComplianceViews } from './evaluation/compliance.js';
import { AutoRemediation } from './remediation/auto.js';
import { ExecutionStore } from './remediation/executions.js';
import { ExceptionStore } from './remediation/exceptions.js';
import { RemediationControls } from './remediation/controls.js';
import { RemediationWorker, type WorkerOptions } from './remediation/worker.js';
import { silentLogger, type Logger } from './util/log.js';
import { SecretBox } from './security/secret-box.js';
import { CredentialStore } from './accounts/credentials.js';
import { AccountGroupStore } from './accounts/groups.js';
import { CredentialBroker, type BrokerOptions } from './accounts/broker.js';
import type { Rule } from './rules/model.js';
import { groupReadAccess } from './accounts/read-access.js';
import { TopicStore } from './events/topics.js';
import { DeliveryStore } from './events/deliveries.js';
import { EventPublisher } from './events/publisher.js';
import { DeliveryWorker, type DeliveryWorkerOptions } from './events/delivery-worker.js';
import { webhookPolicyFromEnv, type WebhookPolicy } from './events/webhook.js';
import { FunctionStore } from './functions/store.js';
import { InvocationStore } from './functions/invocations.js';
import { FunctionWorker, type FunctionWorkerOptions } from './functions/worker.js';
import { FunctionRuleRunner } from './evaluation/function-rules.js';
import { TokenStore } from './security/tokens.js';
import { AuditLog } from './security/audit.js';

export interface Engine {
  db: Db;
  /** The embedded emulated cloud (its estate, IAM and actions have routes of their own); a provider when the engine governs it. */
  sandbox: SandboxCloud;
  /** The clouds the engine governs: the sandbox by default. */
  providers: ProviderRegistry;
  recorder: Recorder;
  inventory: Inventory;
  rules: RuleStore;
  evaluator: Evaluator;
  compliance: ComplianceViews;
  /** Automatic remediation (queues what is due when results turn or stay NON_COMPLIANT); attached by the service. */
  auto: AutoRemediation;
  executions: ExecutionStore;
  exceptions: ExceptionStore;
  controls: RemediationControls;
  worker: RemediationWorker;
  credentials: CredentialStore;
  groups: AccountGroupStore;
  broker: CredentialBroker;
  topics: TopicStore;
  deliveries: DeliveryStore;
  publisher: EventPublisher;
  deliveryWorker: DeliveryWorker;
  functions: FunctionStore;
  invocations: InvocationStore;
  functionWorker: FunctionWorker;
  /** Runs rules judged by functions (source: { function }); attached to the evaluator. */
  functionRules: FunctionRuleRunner;
  /** API bearer tokens (access control). */
  tokens: TokenStore;
  /** Who did what through the API. */
  audit: AuditLog;
}

export interface EngineOptions {
  log?: Logger;
  worker?: WorkerOptions;
  /**
   * Seals the stored credentials. Default: SecretBox.ephemeral(), a key that
   * lives only in this process (tests, one-shot scans); the service and
   * `confix worker` pass the key loaded with loadSecretBox().
   */
  secretBox?: SecretBox;
  broker?: BrokerOptions;
  /** Where webhooks may go (default: CONFIX_WEBHOOK_ALLOW). */
  webhooks?: WebhookPolicy;
  deliveryWorker?: DeliveryWorkerOptions;
  functionWorker?: FunctionWorkerOptions;
  /**
   * The providers to govern, built from the engine's sandbox (the same
   * store) — default: the sandbox alone. Give e.g. `(sandbox) => [sandbox, aws]`.
   */
  providers?: (sandbox: SandboxCloud) => Provider[];
}

export function createEngine(db: Db, opts: EngineOptions = {}): Engine {
  const log = opts.log ?? silentLogger;
  const sandbox = new SandboxCloud(db);
  const providers = new ProviderRegistry(opts.providers ? opts.providers(sandbox) : [sandbox]);
  const recorder = new Recorder(db, providers.all(), log.child({ component: 'recorder' }));
  const rules = new RuleStore(db);
  // Account groups are of the primary provider's organization.
  const groups = new AccountGroupStore(db, providers.primary());
  const evaluator = new Evaluator(db, rules, log.child({ component: 'evaluator' }), groups);
  const executions = new ExecutionStore(db);
  const exceptions = new ExceptionStore(db);
  const controls = new RemediationControls(db);
  const credentialsBox = opts.secretBox ?? SecretBox.ephemeral();
  const credentials = new CredentialStore(db, credentialsBox);
  const broker = new CredentialBroker(providers, credentials, opts.broker);
  recorder.setReadAccess(groupReadAccess(groups, broker));
  // A rule's role chain starts in its account group's owner (the management
  // account or a delegated administrator), else the management account.
  const homeAccount = async (rule: Rule) => {
    const group = rule.scope.accountGroup ? await groups.get(rule.scope.accountGroup) : undefined;
    return group?.ownerAccountId ?? (await providers.primary().managementAccount());
  };
  const functions = new FunctionStore(db);
  const invocations = new InvocationStore(db);
  const tokens = new TokenStore(db, log.child({ component: 'tokens' }));
  // Each invocation gets its own short-lived token for context.confix and context.cloud.
  const functionWorker = new FunctionWorker({ functions, invocations, providers, tokens, log: log.child({ component: 'functions' }) }, opts.functionWorker);
  const compliance = new ComplianceViews(db);
  // Remediations by function invoke through the function worker and wait for the end.
  const worker = new RemediationWorker(
    {
      executions,
      exceptions,
      controls,
      rules,
      providers,
      recorder,
      evaluator,
      compliance,
      broker,
      homeAccount,
      functions,
      functionWorker,
      log: log.child({ component: 'remediation' }),
    },
    opts.worker,
  );
  const webhooks = opts.webhooks ?? webhookPolicyFromEnv();
  const topics = new TopicStore(db, credentialsBox, webhooks, functions);
  const deliveries = new DeliveryStore(db);
  // Subscriptions to functions are delivered by invoking them through the function worker.
  const deliveryWorker = new DeliveryWorker(deliveries, topics, webhooks, log.child({ component: 'events' }), opts.deliveryWorker, functionWorker);
  const functionRules = new FunctionRuleRunner({ evaluator, functions, invocations, functionWorker, log: log.child({ component: 'functions' }) });
  functionRules.attach();
  // Not attached: the service (and tests that act like it) attach it to the evaluator.
  const auto = new AutoRemediation({ rules, executions, exceptions, compliance, worker, log: log.child({ component: 'remediation' }) });
  const publisher = new EventPublisher(topics, deliveries, {
    log: log.child({ component: 'events' }),
    onQueued: () => deliveryWorker.wake(),
    providerOf: async (key) => (await providers.forKey(key)).name,
  });
  return {
    db,
    sandbox,
    providers,
    recorder,
    inventory: new Inventory(db),
    rules,
    evaluator,
    compliance,
    auto,
    executions,
    exceptions,
    controls,
    worker,
    credentials,
    broker,
    groups,
    topics,
    deliveries,
    publisher,
    deliveryWorker,
    functions,
    invocations,
    functionWorker,
    functionRules,
    tokens,
    audit: new AuditLog(db),
  };
}
