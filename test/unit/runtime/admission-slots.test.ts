import { createServer } from 'node:net';
import { CreateTableCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDynamoDb, type LocalDynamoDb } from '../../../local/dynamodb.js';
import { compileFilters } from '../../../local/event-filter.js';
import { limitOf, scopesOf, type ConcurrencyLimits, type Scope } from '../../../lambdas/domain/admission.js';
import { newExecutionId } from '../../../lambdas/domain/ids.js';
import { isTerminal } from '../../../lambdas/domain/status.js';
import { AdmissionStore } from '../../../lambdas/repository/admission-store.js';
import { CreateStore } from '../../../lambdas/repository/create-store.js';
import { QueueReader } from '../../../lambdas/repository/queue-reader.js';
import { queueViewOf } from '../../../lambdas/api/queue-view.js';
import { ADMISSION_INDEX, INDEXES, INDEX_SORT_KEY, META_SK, executionPk } from '../../../lambdas/repository/keys.js';
import { admitDue, admitTenant, reconcileHeld, repairTenant, type AdmissionDeps } from '../../../lambdas/runtime/admission.js';
import { handleChanges } from '../../../lambdas/runtime/admission-changes.js';
import { ADMISSION_STREAM_FILTERS } from '../../../lambdas/runtime/admission-filters.js';
import { queuedRecord } from '../../../lambdas/runtime/execution-control.js';
import { progress } from '../../../lambdas/runtime/progression.js';
import { MARSHALL_OPTIONS } from '../../../lambdas/shared/dynamodb-client.js';
import { createLogger } from '../../../lambdas/shared/logger.js';

// The slot accounting of concurrency limits, against the real repository code on DynamoDB Local
// (conditional transactions, the sparse admission index) and the real admission functions, with
// Step Functions mocked. Stream records are made from each write's new image, passed through the
// deployed stream filters, and then delivered, repeated or dropped at random; the reconciler's
// repair makes up for what was dropped.

const REGION = 'us-east-1';
const TABLE = 'admission-slots';
const ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:Test-';
const TASKS = ['task-a', 'task-b'] as const;
const KEYS = ['', 'key-a', 'key-b', '__proto__'] as const;

let dynamo: LocalDynamoDb;
let client: DynamoDBDocumentClient;
let store: AdmissionStore;
let creator: CreateStore;
const sfn = mockClient(SFNClient);
const logger = createLogger('admission-test');
const passes = compileFilters(ADMISSION_STREAM_FILTERS, 'admission filters');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  // The refused starts the runs inject are logged as errors, by design: not printed here.
  for (const method of ['log', 'warn', 'error'] as const) vi.spyOn(console, method).mockImplementation(() => undefined);
  dynamo = await startDynamoDb(await freePort());
  const key = (name: string) => ({ AttributeName: name, AttributeType: 'S' as const });
  await dynamo.client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [key('pk'), key('sk'), key(INDEXES.byTenant.partitionKey), key(INDEX_SORT_KEY), key(ADMISSION_INDEX.partitionKey), key(ADMISSION_INDEX.sortKey)],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: INDEXES.byTenant.name,
          KeySchema: [
            { AttributeName: INDEXES.byTenant.partitionKey, KeyType: 'HASH' },
            { AttributeName: INDEX_SORT_KEY, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: ADMISSION_INDEX.name,
          KeySchema: [
            { AttributeName: ADMISSION_INDEX.partitionKey, KeyType: 'HASH' },
            { AttributeName: ADMISSION_INDEX.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...ADMISSION_INDEX.include] },
        },
      ],
    }),
  );
  client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
    { marshallOptions: { ...MARSHALL_OPTIONS } },
  );
  const options = { tableName: TABLE, cursorSecret: 'test' };
  store = new AdmissionStore(client, options);
  creator = new CreateStore(client, options);
}, 60_000);

afterAll(async () => {
  client?.destroy();
  await dynamo?.stop();
});

/** One tenant's world in a run: what it created, the stream records not yet delivered, what Step Functions started. */
class World {
  readonly ids: string[] = [];
  readonly pending: DynamoDBRecord[] = [];
  readonly started: string[] = [];
  /** Step Functions refuses the next this many starts (a crash between admission and start). */
  refuseStarts = 0;
  readonly deps: AdmissionDeps;

  constructor(
    readonly tenant: string,
    readonly limits: ConcurrencyLimits | undefined,
  ) {
    this.deps = { store, sfn: new SFNClient({ region: REGION }), logger, stateMachineArn: (taskId) => `${ARN}${taskId}` };
  }

  async setUp(): Promise<void> {
    if (this.limits) await store.setLimits(this.tenant, this.limits, new Date().toISOString());
  }

  /** The stream record of the write just made, if the deployed filters pass it. */
  async emit(id: string, eventName: 'INSERT' | 'MODIFY'): Promise<void> {
    const { Item } = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: executionPk(this.tenant, id), sk: META_SK }, ConsistentRead: true }));
    const record: DynamoDBRecord = {
      eventName,
      dynamodb: {
        Keys: marshall({ pk: Item!.pk, sk: Item!.sk }) as Record<string, never>,
        NewImage: marshall(Item!, MARSHALL_OPTIONS) as Record<string, AttributeValue> as Record<string, never>,
      },
    };
    if (passes(record)) this.pending.push(record);
  }

  async create(priority: number | undefined, key: string, task: string, delayMs = 0): Promise<string> {
    const nowMs = Date.now();
    const id = newExecutionId(nowMs);
    const record = queuedRecord(
      {
        tenant: this.tenant,
        task: { id: task, steps: [{ name: 'only' }] },
        input: { n: this.ids.length },
        metadata: {},
        ...(priority === undefined ? {} : { priority }),
        ...(key ? { concurrencyKey: key } : {}),
        ...(delayMs > 0 ? { startAt: new Date(nowMs + delayMs).toISOString() } : {}),
      },
      `${ARN}${task}`,
      id,
      new Date(nowMs).toISOString(),
    );
    await creator.create(record, undefined, true);
    this.ids.push(id);
    await this.emit(id, 'INSERT');
    return id;
  }

  /** Delivers (or repeats, or drops) the pending stream record at `index`. */
  async deliver(index: number, mode: 'deliver' | 'repeat' | 'drop'): Promise<void> {
    if (this.pending.length === 0) return;
    const at = index % this.pending.length;
    const record = this.pending[at]!;
    if (mode !== 'repeat') this.pending.splice(at, 1);
    if (mode !== 'drop') await handleChanges(this.deps, [record]);
  }

  /** The state machine's first step: a started execution becomes running. */
  async runStep(index: number): Promise<void> {
    const candidates = [];
    for (const id of this.started) {
      const record = await store.find(this.tenant, id);
      if (record?.status === 'queued') candidates.push(id);
    }
    if (candidates.length === 0) return;
    const id = candidates[index % candidates.length]!;
    await progress(store, this.tenant, id, (current) => (current.status === 'queued' ? { type: 'start', step: { index: 0, name: 'only' } } : undefined));
  }

  /** Ends a live execution: finish, fail or cancel (cancel works on queued ones too). */
  async end(index: number, how: 'finish' | 'error' | 'cancel'): Promise<void> {
    const live = [];
    for (const id of this.ids) {
      const record = await store.find(this.tenant, id);
      if (record && !isTerminal(record.status) && (how === 'cancel' || record.status === 'running')) live.push(id);
    }
    if (live.length === 0) return;
    const id = live[index % live.length]!;
    const { applied } = await progress(store, this.tenant, id, (current) => {
      if (isTerminal(current.status)) return undefined;
      if (how === 'cancel') return { type: 'cancel', reason: 'test', stopped: true };
      if (current.status !== 'running') return undefined;
      return how === 'finish' ? { type: 'finish', result: 1 } : { type: 'error', error: { name: 'Boom', message: 'boom' } };
    });
    if (applied) await this.emit(id, 'MODIFY');
  }

  /** Slot holders, straight from the records (consistent reads). */
  async holders(): Promise<Array<{ id: string; status: string; slot: Scope[]; stage: string | undefined }>> {
    const out = [];
    for (const id of this.ids) {
      const { Item } = await client.send(new GetCommand({ TableName: TABLE, Key: { pk: executionPk(this.tenant, id), sk: META_SK }, ConsistentRead: true }));
      out.push({ id, status: Item!.status as string, slot: (Item!.slot ?? []) as Scope[], stage: Item![ADMISSION_INDEX.partitionKey] as string | undefined });
    }
    return out;
  }

  /** The invariants that hold after every step, whatever happened to the stream records. */
  async check(): Promise<void> {
    const records = await this.holders();
    const holding = records.filter((record) => record.stage?.startsWith('S#'));
    const perScope = new Map<Scope, number>();
    for (const holder of holding) for (const scope of holder.slot) perScope.set(scope, (perScope.get(scope) ?? 0) + 1);
    // Never past a limit: neither the holders nor, a fortiori, the running executions.
    if (this.limits) {
      for (const [scope, count] of perScope) {
        const limit = limitOf(this.limits, scope);
        if (limit !== undefined) expect(count, `${scope} holders`).toBeLessThanOrEqual(limit);
      }
    }
    // Nothing runs without having been admitted.
    for (const record of records) if (record.status === 'running') expect(record.stage ?? '', record.id).toMatch(/^S#/);
    // Never double-counted: each counter is exactly its holders, at every commit.
    for (const counter of await store.counters(this.tenant)) expect(counter.running, counter.scope).toBe(perScope.get(counter.scope) ?? 0);
  }

  /** Runs the system to rest: every event delivered, every started execution run and finished, the reconciler's repair. */
  async settle(): Promise<void> {
    for (let round = 0; round < 40; round++) {
      this.refuseStarts = 0;
      while (this.pending.length > 0) await this.deliver(0, 'deliver');
      // The reconciler: each queued record Step Functions does not know, then the tenant's slots.
      for (const record of await this.holders()) if (record.status === 'queued' && !this.started.includes(record.id)) await reconcileHeld(this.deps, this.tenant, record.id);
      await repairTenant(this.deps, this.tenant, 0);
      let moved = false;
      for (const record of await this.holders()) {
        if (record.status === 'queued' && this.started.includes(record.id)) {
          await progress(store, this.tenant, record.id, (current) => (current.status === 'queued' ? { type: 'start', step: { index: 0, name: 'only' } } : undefined));
          moved = true;
        }
      }
      for (const record of await this.holders()) {
        if (record.status === 'running') {
          await this.end(this.ids.indexOf(record.id), 'finish');
          moved = true;
        }
      }
      if (!moved && this.pending.length === 0) return;
    }
  }
}

/** Routes Step Functions starts to the world that asked (by tenant), refusing as the world says. */
let worlds = new Map<string, World>();
function mockStarts(): void {
  sfn.reset();
  sfn.on(StartExecutionCommand).callsFake((input: { name: string; input: string }) => {
    const tenant = (JSON.parse(input.input) as { tenant: string }).tenant;
    const world = worlds.get(tenant)!;
    if (world.refuseStarts > 0) {
      world.refuseStarts--;
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    }
    if (world.started.includes(input.name)) throw Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' });
    world.started.push(input.name);
    return { executionArn: `arn:${input.name}`, startDate: new Date() };
  });
}

let runs = 0;
const newWorld = async (limits: ConcurrencyLimits | undefined): Promise<World> => {
  const world = new World(`t${++runs}`, limits);
  worlds.set(world.tenant, world);
  await world.setUp();
  return world;
};

const limitsArbitrary: fc.Arbitrary<ConcurrencyLimits> = fc.record(
  {
    tenant: fc.integer({ min: 1, max: 3 }),
    perKey: fc.integer({ min: 1, max: 2 }),
    tasks: fc.constantFrom<Record<string, number>>({ 'task-a': 1 }, { 'task-b': 2 }, {}),
  },
  { requiredKeys: ['tenant'] },
);

type Step =
  | { op: 'create'; priority: number | undefined; key: number; task: number }
  | { op: 'deliver'; index: number; mode: 'deliver' | 'repeat' | 'drop' }
  | { op: 'run'; index: number }
  | { op: 'end'; index: number; how: 'finish' | 'error' | 'cancel' }
  | { op: 'refuse' }
  | { op: 'race' }
  | { op: 'schedule' }
  | { op: 'repair' }
  | { op: 'reconcile'; index: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('create' as const), priority: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }), key: fc.nat(3), task: fc.nat(1) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('deliver' as const), index: fc.nat(20), mode: fc.constantFrom('deliver' as const, 'deliver' as const, 'repeat' as const, 'drop' as const) }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('run' as const), index: fc.nat(20) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant('end' as const), index: fc.nat(20), how: fc.constantFrom('finish' as const, 'error' as const, 'cancel' as const) }), weight: 3 },
  { arbitrary: fc.constant({ op: 'refuse' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'race' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'schedule' as const }), weight: 1 },
  { arbitrary: fc.constant({ op: 'repair' as const }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('reconcile' as const), index: fc.nat(20) }), weight: 1 },
);

async function apply(world: World, step: Step): Promise<void> {
  switch (step.op) {
    case 'create':
      await world.create(step.priority, KEYS[step.key]!, TASKS[step.task]!);
      return;
    case 'deliver':
      return world.deliver(step.index, step.mode);
    case 'run':
      return world.runStep(step.index);
    case 'end':
      return world.end(step.index, step.how);
    case 'refuse':
      world.refuseStarts++;
      return;
    case 'race':
      // Two admissions of one tenant at once (a stream batch and the schedule): one wins each slot.
      await Promise.all([admitTenant(world.deps, world.tenant), admitTenant(world.deps, world.tenant)]);
      return;
    case 'schedule':
      await admitDue(world.deps);
      return;
    case 'repair':
      await repairTenant(world.deps, world.tenant, 0);
      return;
    case 'reconcile':
      // The reconciler's check of one queued record (it may run while the record's events are on their way).
      if (world.ids.length > 0) await reconcileHeld(world.deps, world.tenant, world.ids[step.index % world.ids.length]!);
      return;
  }
}

describe('slot accounting (property: random interleavings on DynamoDB Local)', () => {
  it('never exceeds a limit, never double-counts, never leaks a slot, and starts all work once things settle', async () => {
    mockStarts();
    await fc.assert(
      fc.asyncProperty(limitsArbitrary, fc.array(stepArbitrary, { minLength: 5, maxLength: 35 }), async (limits, steps) => {
        const world = await newWorld(limits);
        for (const step of steps) {
          await apply(world, step);
          await world.check();
        }
        await world.settle();
        await world.check();
        const records = await world.holders();
        // Everything ran to an end, and every slot came back.
        for (const record of records) expect(isTerminal(record.status as never), `${record.id} ${record.status}`).toBe(true);
        expect(records.filter((record) => record.stage !== undefined)).toEqual([]);
        for (const counter of await store.counters(world.tenant)) expect(counter.running, counter.scope).toBe(0);
        // Every started execution was admitted once: Step Functions saw each name once.
        expect(new Set(world.started).size).toBe(world.started.length);
      }),
      { numRuns: 20 },
    );
  }, 600_000);

  it('starts queued work highest priority first, first in first out within a priority', async () => {
    mockStarts();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 8 }), async (priorities) => {
        const world = await newWorld({ tenant: 1 });
        // A first execution takes the one slot, so the rest all wait before any is admitted.
        await world.create(undefined, '', 'task-a');
        while (world.pending.length > 0) await world.deliver(0, 'deliver');
        const waiting: Array<{ id: string; priority: number }> = [];
        for (const priority of priorities) waiting.push({ id: await world.create(priority, '', 'task-a'), priority });
        while (world.pending.length > 0) await world.deliver(0, 'deliver');
        expect(world.started).toHaveLength(1);
        await world.settle();

        const expected = [...waiting].sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1)).map((entry) => entry.id);
        expect(world.started.slice(1)).toEqual(expected);
      }),
      { numRuns: 8 },
    );
  }, 300_000);
});

describe('fairness between concurrency keys', () => {
  it('gives a freed slot to the key running the fewest, so one busy key does not hold back another created after it', async () => {
    mockStarts();
    const world = await newWorld({ tenant: 2 });
    await world.create(undefined, '', 'task-a');
    await world.create(undefined, '', 'task-a');
    while (world.pending.length > 0) await world.deliver(0, 'deliver');
    const busy = [];
    for (let i = 0; i < 6; i++) busy.push(await world.create(undefined, 'key-a', 'task-a'));
    const other = await world.create(undefined, 'key-b', 'task-a');
    while (world.pending.length > 0) await world.deliver(0, 'deliver');
    expect(world.started).toHaveLength(2);

    // Both first executions end: key-a's first waiting one takes one slot, then key-b (running none) the other.
    for (const id of [...world.started]) {
      await world.runStep(world.started.indexOf(id));
    }
    await world.end(0, 'finish');
    await world.end(0, 'finish');
    while (world.pending.length > 0) await world.deliver(0, 'deliver');

    expect(world.started.slice(2)).toEqual([busy[0], other]);
  }, 60_000);

  it('passes over work of a key at its own limit: other keys start while it waits', async () => {
    mockStarts();
    const world = await newWorld({ tenant: 3, perKey: 1 });
    const a = [await world.create(undefined, 'key-a', 'task-a'), await world.create(undefined, 'key-a', 'task-a'), await world.create(undefined, 'key-a', 'task-a')];
    const b = await world.create(undefined, 'key-b', 'task-a');
    const none = await world.create(undefined, '', 'task-a');
    while (world.pending.length > 0) await world.deliver(0, 'deliver');

    expect(world.started).toEqual([a[0], b, none]);
    const running = await store.running(world.tenant, scopesOf('task-a', 'key-a'));
    expect(running.get('KEY#key-a')).toBe(1);
    expect(running.get('TENANT')).toBe(3);
  }, 60_000);
});

describe('delayed starts', () => {
  it('holds a delayed execution until its start time, then the schedule queues and starts it; cancelled while delayed, it frees nothing', async () => {
    mockStarts();
    const world = await newWorld(undefined);
    const soon = await world.create(undefined, '', 'task-a', 1500);
    const cancelled = await world.create(undefined, '', 'task-a', 1500);
    while (world.pending.length > 0) await world.deliver(0, 'deliver');
    await admitDue(world.deps);
    expect(world.started).toEqual([]);

    await world.end(world.ids.indexOf(cancelled), 'cancel');
    while (world.pending.length > 0) await world.deliver(0, 'deliver');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await admitDue(world.deps);

    expect(world.started).toEqual([soon]);
    // A tenant without a limits item is not limited: its creates are held only for their start time.
    expect(await store.limited(world.tenant)).toBe(false);
    const states = await world.holders();
    expect(states.find((state) => state.id === cancelled)).toMatchObject({ status: 'cancelled', stage: undefined });
  }, 60_000);
});

describe('where a queued execution waits (GET /executions/{id}: queueViewOf)', () => {
  it('shows the position in the queue and the limit that holds it back; start_at for a delayed one; null once it runs', async () => {
    mockStarts();
    const world = await newWorld({ tenant: 1, perKey: 5 });
    const reader = new QueueReader(client, TABLE);
    expect(await store.limited(world.tenant)).toBe(true);
    const view = async (id: string) => {
      const found = await reader.find(world.tenant, id);
      return queueViewOf(reader, found!.record, found!.place);
    };
    const first = await world.create(undefined, '', 'task-a');
    const low = await world.create(1, '', 'task-a');
    const high = await world.create(5, 'key-a', 'task-a');
    const delayed = await world.create(undefined, '', 'task-a', 60_000);
    const unplaced = await world.create(undefined, '', 'task-a');
    while (world.pending.length > 1) await world.deliver(0, 'deliver');

    expect(await view(high)).toEqual({ reason: 'tenant_limit', position: 1, start_at: null, limit: { scope: 'TENANT', limit: 1, running: 1 } });
    expect(await view(low)).toMatchObject({ reason: 'tenant_limit', position: 2 });
    expect(await view(delayed)).toMatchObject({ reason: 'start_at', position: null, start_at: expect.any(String) });
    expect(await view(unplaced)).toMatchObject({ reason: 'admitting', position: null });
    expect(await view(first)).toMatchObject({ reason: 'starting', position: null });
    await world.runStep(0);
    expect(await view(first)).toBeNull();
  }, 60_000);
});

describe('lost stream records of executions cancelled while they waited', () => {
  it('takes a cancelled queued execution out of the queue at the next admission run, and a cancelled delayed one once due', async () => {
    mockStarts();
    const world = await newWorld({ tenant: 1 });
    await world.create(undefined, '', 'task-a');
    const queued = await world.create(undefined, '', 'task-a');
    const delayed = await world.create(undefined, '', 'task-a', 800);
    while (world.pending.length > 0) await world.deliver(0, 'deliver');
    await world.end(world.ids.indexOf(queued), 'cancel');
    await world.end(world.ids.indexOf(delayed) - 1, 'cancel');
    // Both cancels' stream records are lost.
    while (world.pending.length > 0) await world.deliver(0, 'drop');
    const stageOf = async (id: string) => (await world.holders()).find((record) => record.id === id)!;
    expect(await stageOf(queued)).toMatchObject({ status: 'cancelled', stage: `Q#${world.tenant}` });

    await admitTenant(world.deps, world.tenant);
    await new Promise((resolve) => setTimeout(resolve, 900));
    await admitDue(world.deps);

    expect(await stageOf(queued)).toMatchObject({ status: 'cancelled', stage: undefined });
    expect(await stageOf(delayed)).toMatchObject({ status: 'cancelled', stage: undefined });
    await world.check();
  }, 60_000);
});
