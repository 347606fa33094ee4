import { describe, expect, it } from 'vitest';
import {
  billedMilliseconds,
  billedSqsRequests,
  costPerMillion,
  costTable,
  meteredApiRequests,
  naivePolls,
  naiveUsage,
  NO_USAGE,
  ourUsage,
  totalOf,
  waitingHour,
  s3RequestTier,
  type Breakdown,
  type CallerReads,
  type ExecutionUsage,
  type MeasuredExecution,
} from '../../../scripts/bench/cost-model.js';
import { costSection } from '../../../scripts/bench/cost-section.js';
import type { Prices } from '../../../scripts/bench/prices.js';

// Round test prices, so every expectation below is computed by hand and no price update breaks it.
const price = (usd: number, per: number) => ({ usd, per, unit: 'test', source: 'test', confirmed: true });
const PRICES: Prices = {
  apiGatewayHttpRequest: price(1, 1_000_000),
  lambdaRequest: price(0.2, 1_000_000),
  lambdaGbSecondArm: price(0.00001, 1),
  lambdaGbSecondX86: price(0.00002, 1),
  stepFunctionsTransition: price(0.025, 1_000),
  dynamoDbWriteRequestUnit: price(1, 1_000_000),
  dynamoDbReadRequestUnit: price(0.25, 1_000_000),
  eventBridgeAwsServiceEvent: price(1, 1_000_000),
  s3WriteRequest: price(0.005, 1_000),
  s3ReadRequest: price(0.0004, 1_000),
  sqsRequest: price(0.4, 1_000_000),
};

const expectBreakdown = (actual: Breakdown, expected: Breakdown) => {
  for (const [component, value] of Object.entries(expected)) expect(actual[component as keyof Breakdown], component).toBeCloseTo(value, 6);
};

describe('billing units', () => {
  it('bills each Lambda invocation rounded up to the next millisecond, at least one', () => {
    expect(billedMilliseconds(0.2)).toBe(1);
    expect(billedMilliseconds(1)).toBe(1);
    expect(billedMilliseconds(1.0001)).toBe(2);
    expect(billedMilliseconds(37.5)).toBe(38);
  });

  it('meters an HTTP API request once per started 512 KB, and an SQS request once per started 64 KB', () => {
    expect(meteredApiRequests(0)).toBe(1);
    expect(meteredApiRequests(512 * 1024)).toBe(1);
    expect(meteredApiRequests(512 * 1024 + 1)).toBe(2);
    expect(billedSqsRequests(10)).toBe(1);
    expect(billedSqsRequests(64 * 1024 + 1)).toBe(2);
  });

  it('has the naive caller poll once per started second, at least once', () => {
    expect(naivePolls(0)).toBe(1);
    expect(naivePolls(1000)).toBe(1);
    expect(naivePolls(1001)).toBe(2);
    expect(naivePolls(25_800)).toBe(26);
  });
});

describe('costPerMillion', () => {
  it('multiplies every counted operation by its price, per million executions', () => {
    const usage: ExecutionUsage = {
      apiRequests: 3,
      functions: [
        { name: 'a', memoryMb: 512, architecture: 'arm64', invocations: 2, billedMs: 1000 },
        { name: 'b', memoryMb: 1024, architecture: 'x86_64', invocations: 1, billedMs: 500 },
      ],
      stateTransitions: 4,
      readUnits: 8,
      writeUnits: 10,
      awsServiceEvents: 1,
      s3WriteRequests: 2,
      s3ReadRequests: 5,
      sqsRequests: 3,
    };
    const breakdown = costPerMillion(usage, PRICES);
    expectBreakdown(breakdown, {
      'API Gateway': 3, // 3 × $1 per million
      'Lambda requests': 0.6, // 3 invocations × $0.20 per million
      'Lambda duration': 15, // (0.5 GB × 1 s × $0.00001 + 1 GB × 0.5 s × $0.00002) × 1e6
      'Step Functions': 100, // 4 × $0.025 per 1,000 × 1e6
      'DynamoDB writes': 10,
      'DynamoDB reads': 2, // 8 × $0.25 per million
      EventBridge: 1,
      S3: 12, // 2 × $0.005 + 5 × $0.0004, per 1,000, × 1e6
      SQS: 1.2,
    });
    expect(totalOf(breakdown)).toBeCloseTo(144.8, 6);
  });

  it('costs nothing for an execution that did nothing', () => {
    expect(totalOf(costPerMillion(NO_USAGE, PRICES))).toBe(0);
  });
});

const poll: CallerReads = { requests: 1, fn: { name: 'api/executions-read.ts', memoryMb: 512, architecture: 'arm64', invocations: 1, billedMs: 20 }, readUnits: 1, writeUnits: 1 };
const measured: MeasuredExecution = {
  task: 'document-pipeline',
  work: { ...NO_USAGE, apiRequests: 1, functions: [{ name: 'runtime/step-handler.ts', memoryMb: 512, architecture: 'arm64', invocations: 2, billedMs: 1000 }], readUnits: 2, writeUnits: 4, stateTransitions: 3 },
  caller: { requests: 3, fn: { name: 'api/executions-read.ts', memoryMb: 512, architecture: 'arm64', invocations: 3, billedMs: 3000 }, readUnits: 3, writeUnits: 3 },
  durationMs: 2500,
  poll,
};

describe('this service against the naive design', () => {
  it('adds the measured long polls to the execution\'s work', () => {
    const ours = ourUsage(measured);
    expect(ours.apiRequests).toBe(4);
    expect(ours.readUnits).toBe(5);
    expect(ours.writeUnits).toBe(7);
    expect(ours.stateTransitions).toBe(3);
    expect(ours.functions.map((fn) => [fn.invocations, fn.billedMs, fn.memoryMb, fn.architecture])).toEqual([
      [2, 1000, 512, 'arm64'],
      [3, 3000, 512, 'arm64'],
    ]);
    // (0.5 GB × 1 s + 0.5 GB × 3 s) × $0.00001 × 1e6
    expect(costPerMillion(ours, PRICES)['Lambda duration']).toBeCloseTo(20, 6);
  });

  it('runs every function at 1,024 MB on x86_64 and replaces the long polls with a poll a second', () => {
    const naive = naiveUsage(measured);
    // 2.5 s: 3 polls, each one measured plain GET.
    expect(naive.apiRequests).toBe(1 + 3);
    expect(naive.readUnits).toBe(2 + 3);
    expect(naive.writeUnits).toBe(4 + 3);
    expect(naive.stateTransitions).toBe(3);
    expect(naive.functions.map((fn) => [fn.invocations, fn.billedMs, fn.memoryMb, fn.architecture])).toEqual([
      [2, 1000, 1024, 'x86_64'],
      [3, 60, 1024, 'x86_64'],
    ]);
    // (1 GB × 1 s + 1 GB × 0.06 s) × $0.00002 × 1e6
    expect(costPerMillion(naive, PRICES)['Lambda duration']).toBeCloseTo(21.2, 6);
  });

  it('prices an hour of waiting: held GETs billed for their whole hold against 3,600 polls', () => {
    const { ours, naive } = waitingHour(poll, { seconds: 25, readsPerHold: 28 });
    // 144 held GETs of 25 s at 512 MB arm64, 28 reads each.
    expect(totalOf(costPerMillion(ours, PRICES))).toBeCloseTo(144 + 28.8 + 18_000 + 1008 + 144, 6);
    // 3,600 polls of 20 ms at 1,024 MB x86_64, one read and one counter write each.
    expect(totalOf(costPerMillion(naive, PRICES))).toBeCloseTo(3600 + 720 + 1440 + 900 + 3600, 6);
  });
});

describe('costTable', () => {
  it('prints both designs per task with the ratio, and charts the totals', () => {
    const zero = costPerMillion(NO_USAGE, PRICES);
    const { table, chart } = costTable([{ task: 'document-pipeline', ours: { ...zero, 'API Gateway': 1 }, naive: { ...zero, 'API Gateway': 2 } }]);
    expect(table).toContain('| document-pipeline | this service | $1.00 | $0 | $0 | $0 | $0 | $0 | $0 | $0 | $0 | **$1.00** | 50 % |');
    expect(table).toContain('| document-pipeline | naive | $2.00 |');
    expect(chart).toContain('xychart-beta');
    expect(chart).toContain('x-axis ["document-pipeline", "document-pipeline (naive)"]');
    expect(chart).toContain('bar [1.00, 2.00]');
  });
});

describe('s3RequestTier', () => {
  it('prices object reads in the read tier, writes and listings in the write tier, and deletes at nothing', () => {
    expect(s3RequestTier('GET', '/payloads/exec/1/output.json', {}, false)).toBe('read');
    expect(s3RequestTier('HEAD', '/payloads/exec/1/output.json', {}, false)).toBe('read');
    expect(s3RequestTier('PUT', '/payloads/exec/1/output.json', {}, false)).toBe('write');
    expect(s3RequestTier('POST', '/payloads/exec/1/output.json', { uploads: '' }, false)).toBe('write');
    expect(s3RequestTier('DELETE', '/payloads/exec/1/output.json', {}, false)).toBe('free');
    // A GET of the bucket itself is a LIST.
    expect(s3RequestTier('GET', '/payloads', { 'list-type': '2' }, false)).toBe('write');
    expect(s3RequestTier('GET', '/payloads/', {}, false)).toBe('write');
  });

  it('reads the key from the path alone when the bucket is in the host name', () => {
    expect(s3RequestTier('GET', '/output.json', {}, true)).toBe('read');
    expect(s3RequestTier('GET', '/', {}, true)).toBe('write');
  });
});

describe('costSection', () => {
  it('prices the units the index redesign removed at the write price, as a saving both columns share', () => {
    const measurement = { executions: [{ ...measured, task: 'document-pipeline' }], failedWrites: 0, failedInvocations: 0 };

    const section = costSection(measurement, PRICES, { task: 'document-pipeline', before: 91, now: 43 });

    // 48 write units × $1 per million units × 1e6 executions
    expect(section.body).toContain('took 91 capacity units before the index redesign (recorded) and 43 now');
    expect(section.body).toContain('$48.00 per million executions');
    expect(costSection(measurement, PRICES).body).not.toContain('index redesign (recorded)');
  });
});
