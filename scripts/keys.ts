import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { assertTenant, newApiKey } from '../lambdas/domain/api-keys.js';
import { ApiKeysRepository } from '../lambdas/repository/api-keys-repository.js';
import { readStackState, STATE_FILE, staleReason } from '../local/state-file.js';

const USAGE = `Manage API keys (only their SHA-256 hashes are stored).

  npm run keys -- create --tenant <name> [--name <label>]   prints the new key once
  npm run keys -- list [--tenant <name>]
  npm run keys -- revoke <key id>

Where: the running local stack (default when npm start is running), or a deployed table:
  --table <TableName output of the stack>  (AWS credentials and region from the environment)
  --endpoint <url>                          a DynamoDB endpoint (e.g. a local stack's)`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    tenant: { type: 'string' },
    name: { type: 'string' },
    table: { type: 'string' },
    endpoint: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

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

async function main(): Promise<void> {
  const [command, argument] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const { client, table, where } = await target();
  const keys = new ApiKeysRepository(DynamoDBDocumentClient.from(client), table);
  try {
    switch (command) {
      case 'create': {
        if (!values.tenant) throw new Error('create needs --tenant <name>');
        const tenant = assertTenant(values.tenant);
        const key = newApiKey();
        await keys.put(key.hash, { keyId: key.keyId, tenant, name: values.name ?? '', createdAt: new Date().toISOString() });
        console.log(`Created key ${key.keyId} for tenant "${tenant}" in ${where}.`);
        console.log('Store it now; it cannot be shown again:\n');
        console.log(key.key);
        break;
      }
      case 'list': {
        const records = await keys.list(values.tenant);
        if (records.length === 0) console.log(`No keys in ${where}.`);
        for (const record of records) {
          const state = record.revokedAt ? `revoked ${record.revokedAt}` : 'active';
          console.log(`${record.keyId}\t${record.tenant}\t${state}\t${record.createdAt}\t${record.name}`);
        }
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

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
