import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { assertLimit, MAX_LIMIT, type ConcurrencyLimits } from '../lambdas/domain/admission.js';
import { assertTenant, newApiKey } from '../lambdas/domain/api-keys.js';
import { AdmissionStore } from '../lambdas/repository/admission-store.js';
import { formatRate, parseRate, type RateClass, type RateLimit } from '../lambdas/domain/rate-limits.js';
import { ApiKeysRepository, type ApiKeyRecord, type LimitsChange } from '../lambdas/repository/api-keys-repository.js';
import { readStackState, STATE_FILE, staleReason } from '../local/state-file.js';

const USAGE = `Manage API keys (only their SHA-256 hashes are stored) and tenants' concurrency limits.

  npm run keys -- create --tenant <name> [--name <label>] [--create-rate <rate>] [--read-rate <rate>]
                                                            prints the new key once
  npm run keys -- list [--tenant <name>]
  npm run keys -- limits <key id> [--create-rate <rate>|default] [--read-rate <rate>|default]
                                                            shows (and sets) a key's rate limits
  npm run keys -- revoke <key id>

  npm run keys -- concurrency set --tenant <name> [--limit <n>] [--key-limit <n>] [--task-limit <task id>=<n>]...
      at most n running executions of the tenant; of each concurrency_key; of one task (repeatable).
      Replaces the tenant's limits; the rest wait queued, by priority (docs/contract.md).
  npm run keys -- concurrency show --tenant <name>
  npm run keys -- concurrency clear --tenant <name>   no limit any more: new executions start at once
  (API Gateway caches a key's verdict for a minute: a change reaches creates within it.)
A rate is <count>/<s|min|h|d> or <count>/<n>s, e.g. 10/s, 600/min, 50/10s; "default" removes the
key's own limit, so the service's default applies again. A change applies within the authorizer's
cache TTL (a minute by default).

Where: the running local stack (default when npm start is running), or a deployed table:
  --table <TableName output of the stack>  (AWS credentials and region from the environment)
  --endpoint <url>                          a DynamoDB endpoint (e.g. a local stack's)`;

// A malformed command line (an unknown option, a value starting with "-" such as --limit -1) is
// the user's mistake: say what parseArgs found, as every other refusal here, not a stack trace.
const { values, positionals } = parseArgsOrExit({
  allowPositionals: true,
  options: {
    tenant: { type: 'string' },
    name: { type: 'string' },
    limit: { type: 'string' },
    'key-limit': { type: 'string' },
    'task-limit': { type: 'string', multiple: true },
    'create-rate': { type: 'string' },
    'read-rate': { type: 'string' },
    table: { type: 'string' },
    endpoint: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

function parseArgsOrExit<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    process.exit(1);
  }
}

async function target(): Promise<{ client: DynamoDBClient; table: string; where: string }> {
  if (values.table) {
    const local = values.endpoint !== undefined;
    const client = new DynamoDBClient({
      ...(local
        ? { endpoint: values.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
        : {}),
    });
    return { client, table: values.table, where: local ? `${values.endpoint} (${values.table})` : `table ${values.table}` };
  }
  const state = readStackState();
  if (!state) {
    throw new Error('No local stack is running (start one with npm start) and no --table was given.');
  }
  // A stack killed outright leaves its state file behind: say so rather than time out on a dead endpoint.
  const stale = await staleReason(state);
  if (stale) {
    throw new Error(`No local stack is running (${STATE_FILE} is stale: ${stale}); start one with npm start.`);
  }
  const client = new DynamoDBClient({
    endpoint: state.dynamodb,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  return { client, table: state.table, where: `the local stack at ${state.url}` };
}

/** The limit an option names: a rate, or (`allowDefault`) null for "default"; undefined when the option is absent. */
function rateOption(name: 'create-rate' | 'read-rate', allowDefault: boolean): RateLimit | null | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  if (allowDefault && text === 'default') return null;
  const limit = parseRate(text);
  if (!limit) throw new Error(`--${name} must be <count>/<s|min|h|d> or <count>/<n>s (e.g. 10/s, 600/min)${allowDefault ? ' or default' : ''}, got "${text}"`);
  return limit;
}

/** The limits options given, as a change of a key's limits. */
function limitsChange(allowDefault: boolean): LimitsChange {
  const change: Record<string, RateLimit | null> = {};
  for (const [name, option] of [['create', 'create-rate'], ['read', 'read-rate']] as const) {
    const limit = rateOption(option, allowDefault);
    if (limit !== undefined) change[name] = limit;
  }
  return change;
}

/** `create 10/s, read default`: a key's limits as the CLI shows them. */
function limitsText(record: ApiKeyRecord): string {
  return (['create', 'read'] as const satisfies readonly RateClass[])
    .map((name) => `${name} ${record.limits?.[name] ? formatRate(record.limits[name]) : 'default'}`)
    .join(', ');
}

async function main(): Promise<void> {
  const [command, argument] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const { client, table, where } = await target();
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const keys = new ApiKeysRepository(documents, table);
  const admission = new AdmissionStore(documents, { tableName: table, cursorSecret: 'unused' });
  try {
    switch (command) {
      case 'concurrency':
        await concurrency(keys, admission, argument, where);
        break;
      case 'create': {
        if (!values.tenant) throw new Error('create needs --tenant <name>');
        const tenant = assertTenant(values.tenant);
        const limits = limitsChange(false) as ApiKeyRecord['limits'];
        const key = newApiKey();
        // A tenant with concurrency limits: its new key carries the mark the authorizer passes on.
        const limited = await admission.limited(tenant);
        const record = { keyId: key.keyId, tenant, name: values.name ?? '', createdAt: new Date().toISOString(), limited, ...(limits && Object.keys(limits).length ? { limits } : {}) };
        await keys.put(key.hash, record);
        console.log(`Created key ${key.keyId} for tenant "${tenant}" in ${where} (rate limits: ${limitsText(record)}).`);
        console.log('Store it now; it cannot be shown again:\n');
        console.log(key.key);
        break;
      }
      case 'list': {
        const records = await keys.list(values.tenant);
        if (records.length === 0) console.log(`No keys in ${where}.`);
        for (const record of records) {
          const state = record.revokedAt ? `revoked ${record.revokedAt}` : 'active';
          console.log(`${record.keyId}\t${record.tenant}\t${state}\t${record.createdAt}\t${limitsText(record)}\t${record.name}`);
        }
        break;
      }
      case 'limits': {
        if (!argument) throw new Error('limits needs a key id (see list)');
        const change = limitsChange(true);
        const record = await keys.setLimits(argument, change);
        const verb = Object.keys(change).length > 0 ? 'now has' : 'has';
        console.log(`Key ${record.keyId} of tenant "${record.tenant}" ${verb} the rate limits: ${limitsText(record)}.`);
        if (Object.keys(change).length > 0) console.log('API Gateway may apply the old limits for up to a minute (its cached verdict of the key).');
        break;
      }
      case 'revoke': {
        if (!argument) throw new Error('revoke needs a key id (see list)');
        const record = await keys.revoke(argument, new Date().toISOString());
        console.log(`Revoked key ${record.keyId} of tenant "${record.tenant}" (API Gateway may honour it for up to a minute).`);
        break;
      }
      default:
        throw new Error(`Unknown command ${command}.\n\n${USAGE}`);
    }
  } finally {
    client.destroy();
  }
}

/** The limits a `concurrency set` asks for. */
function limitsOf(): ConcurrencyLimits {
  // Number() would turn "abc" into NaN and "" into 0 before the check names them: refuse the text itself.
  const number = (text: string, what: string) => {
    if (!/^\d+$/.test(text)) throw new Error(`${what} must be a whole number from 1 to ${MAX_LIMIT}, not "${text}".`);
    return assertLimit(Number(text), what);
  };
  const tasks: Record<string, number> = {};
  for (const entry of values['task-limit'] ?? []) {
    const [taskId, count] = entry.split('=');
    if (!taskId || count === undefined) throw new Error(`--task-limit takes <task id>=<n>, not ${entry}`);
    tasks[taskId] = number(count, `The limit of task ${taskId}`);
  }
  return {
    ...(values.limit === undefined ? {} : { tenant: number(values.limit, 'The tenant limit') }),
    ...(values['key-limit'] === undefined ? {} : { perKey: number(values['key-limit'], 'The limit per concurrency key') }),
    ...(Object.keys(tasks).length > 0 ? { tasks } : {}),
  };
}

function describeLimits(limits: ConcurrencyLimits | undefined): string {
  const parts = [
    limits?.tenant === undefined ? undefined : `${limits.tenant} running in all`,
    limits?.perKey === undefined ? undefined : `${limits.perKey} per concurrency key`,
    ...Object.entries(limits?.tasks ?? {}).map(([taskId, count]) => `${count} of task ${taskId}`),
  ].filter((part) => part !== undefined);
  return parts.length > 0 ? parts.join(', ') : 'no limit';
}

async function concurrency(keys: ApiKeysRepository, admission: AdmissionStore, action: string | undefined, where: string): Promise<void> {
  if (!values.tenant) throw new Error('concurrency needs --tenant <name>');
  const tenant = assertTenant(values.tenant);
  switch (action) {
    case 'show':
      console.log(`Tenant "${tenant}" in ${where}: ${describeLimits(await admission.limits(tenant))}.`);
      return;
    case 'set':
    case 'clear': {
      const wanted = action === 'set' ? limitsOf() : {};
      if (action === 'set' && Object.keys(wanted).length === 0) throw new Error('concurrency set needs --limit, --key-limit or --task-limit');
      // The limits item first: a key marked limited before it existed would hold creates for nothing.
      await admission.setLimits(tenant, wanted, new Date().toISOString());
      const marked = await keys.markLimited(tenant, action === 'set');
      console.log(`Tenant "${tenant}" in ${where}: ${describeLimits(wanted)} (${marked} API key${marked === 1 ? '' : 's'} marked).`);
      return;
    }
    default:
      throw new Error(`concurrency takes set, show or clear.\n\n${USAGE}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
