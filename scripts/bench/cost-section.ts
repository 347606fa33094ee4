import { MAX_WAIT_SECONDS } from '../../lambdas/api/long-poll.js';
import { costPerMillion, costTable, dollars, gbSeconds, NAIVE, naivePolls, naiveUsage, ourUsage, totalOf, waitingHour, type CostRow, type ExecutionUsage } from './cost-model.js';
import { scheduledPolls } from './operations.js';
import type { CostMeasurement } from './cost-meter.js';
import { PRICE_REGION, PRICES, PRICES_CHECKED, type Prices } from './prices.js';

/** The cost section of docs/performance.md, from one measurement. */
export interface CostSection {
  readonly title: string;
  readonly body: string;
  readonly rows: readonly CostRow[];
}

const invocationsOf = (usage: ExecutionUsage) => usage.functions.reduce((sum, fn) => sum + fn.invocations, 0);
const gbSecondsOf = (usage: ExecutionUsage) => usage.functions.reduce((sum, fn) => sum + gbSeconds(fn), 0);
const round = (value: number) => String(Math.round(value * 10) / 10);

/** A task's capacity units per execution before this release's index redesign (recorded) and now (measured). */
export interface IndexRedesign {
  readonly task: string;
  readonly before: number;
  readonly now: number;
}

/** What the index redesign saves, which both columns above share: the units it removed, all of them index writes. */
function redesignNote({ task, before, now }: IndexRedesign, prices: Prices): string {
  const saved = ((before - now) * prices.dynamoDbWriteRequestUnit.usd) / prices.dynamoDbWriteRequestUnit.per * 1_000_000;
  return `Both columns share this release's DynamoDB design, so the table does not show its largest saving: a ${task} execution took ${before} capacity units before the index redesign (recorded) and ${now} now (measured in this run); the ${before - now} units it removed are all index writes, ${dollars(saved)} per million executions at the write price above, on top of the rows of both designs.`;
}

/** Renders the measured costs: the dollar table, its chart, the counts behind it and the prices used. */
export function costSection(measurement: CostMeasurement, prices: Prices = PRICES, redesign?: IndexRedesign): CostSection {
  const rows: CostRow[] = measurement.executions.map((execution) => ({
    task: execution.task,
    ours: costPerMillion(ourUsage(execution), prices),
    naive: costPerMillion(naiveUsage(execution), prices),
  }));
  const { table, chart } = costTable(rows);
  const countRows = measurement.executions.flatMap((execution) =>
    (
      [
        ['this service', ourUsage(execution), `${execution.caller.requests} held GETs`],
        ['naive', naiveUsage(execution), `${naivePolls(execution.durationMs)} polls`],
      ] as const
    ).map(([design, usage, caller]) => [
      execution.task,
      design,
      `${(execution.durationMs / 1000).toFixed(1)} s`,
      `${usage.apiRequests} (${caller})`,
      invocationsOf(usage),
      gbSecondsOf(usage).toFixed(3),
      usage.stateTransitions,
      round(usage.writeUnits),
      round(usage.readUnits),
      usage.awsServiceEvents,
      usage.s3WriteRequests + usage.s3ReadRequests,
      usage.sqsRequests,
    ]),
  );
  const countTable = [
    '| task | design | duration | API requests | Lambda invocations | GB-seconds | state transitions | write units | read units | status events | S3 requests | SQS requests |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...countRows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
  const memories = [...new Set(measurement.executions.flatMap((execution) => [...ourUsage(execution).functions].map((fn) => `${fn.name} ${fn.memoryMb} MB ${fn.architecture}`)))].sort();
  const priceList = Object.values(prices)
    .map((price) => `- ${price.unit}: $${price.usd} per ${price.per.toLocaleString('en-US')}, ${price.source}${price.confirmed ? ' (read on the AWS page)' : ' (**not confirmed on the AWS page**)'}${price.note ? `: ${price.note}` : ''}`)
    .join('\n');
  const hold = { seconds: MAX_WAIT_SECONDS, readsPerHold: 1 + scheduledPolls(MAX_WAIT_SECONDS * 1000) };
  const waiting = measurement.executions[0] ? waitingHour(measurement.executions[0].poll, hold) : undefined;
  const waitingCost = waiting ? { ours: totalOf(costPerMillion(waiting.ours, prices)), naive: totalOf(costPerMillion(waiting.naive, prices)) } : undefined;
  const body = `US dollars per million executions of each example task, on-demand prices of ${PRICE_REGION} read on ${PRICES_CHECKED} (all in \`scripts/bench/prices.ts\`, each with its source), times the operations counted while the local stack ran one execution of each task with a caller that waits as this service's clients are told to: \`GET /executions/{id}\` with \`Prefer: wait=25\` and the last ETag, again after each answer, until the end (a wait resumed at once). No free tier, no volume tier.

${table}

${chart}

${
    waitingCost
      ? `Waiting is where the two callers differ most, and not in this service's favour: a caller waiting an hour on an execution that does not change (a wait for a human) costs ${dollars(waitingCost.ours)} per million such hours with held GETs (${Math.ceil(3600 / hold.seconds)} GETs of ${hold.seconds} s, each billed for its whole hold in Lambda duration and reading the record ${hold.readsPerHold} times) against ${dollars(waitingCost.naive)} with the naive caller's ${Math.ceil(3_600_000 / NAIVE.pollIntervalMs)} polls (each priced as the plain GET measured for ${measurement.executions[0]!.task}). A held GET answers a change within a second with one request instead of one a second, but Lambda bills the held second as it bills work: webhooks are the cheaper way to wait long (a held event stream is billed for its hold as well).`
      : ''
  }

${redesign ? redesignNote(redesign, prices) : ''}

What each execution used (children of \`research-agent\` included: they are executions it starts):

${countTable}

No \`--check\` budget on cost: for executions of a few seconds the two designs come within a few per cent of each other either way (the naive caller's fewer, shorter requests offset its memory and architecture), so \"cheaper than naive\" would flip with the machine's timings; the figures are reported.

**The naive design** (\`NAIVE\` in \`scripts/bench/cost-model.ts\`): ${NAIVE.description}

How each figure is counted:

- **API Gateway**: the HTTP API requests the caller made (create, resume, its GETs), each metered once per started 512 KB. The authorizer's verdict is cached per key, so its invocations are not per execution (a run's uncached ones are counted).
- **Lambda**: every invocation the execution caused (API routes, steps, waits, records, the status-change function, the table stream's consumers), at the memory and architecture the synthesized template configures: ${memories.join('; ')}. Durations are measured by the local stack per invocation (the handler, in this process, against DynamoDB Local) and billed as Lambda bills them, each rounded up to the next 1 ms; cold starts (init, billed too) are not included. DynamoDB Local on a shared machine answers in tens to hundreds of milliseconds where DynamoDB answers in a few, so these durations, and the Lambda duration column, are an upper bound. A held GET is billed for the whole hold, which is why long polling shows in Lambda duration.
- **Step Functions**: states entered, of the execution and of the children it starts; AWS bills Standard workflows per state transition, \"each time a step of your workflow is executed\", retries and redrives included (an inline Map's iterations are not charged themselves, the states inside them are). Function invocations that failed in this run (their retries add requests and transitions a clean run does not have): ${measurement.failedInvocations}. Local durations under contention are long: batch-summarize runs 10 map items at once against one execution record, and each lost race re-reads and retries after a jittered pause, billed while it waits.
- **DynamoDB**: the capacity units DynamoDB Local reports (\`ReturnConsumedCapacity\`), read units for GetItem and Query, write units for the rest, at on-demand prices. A transactional write already counts 2 units per KB in what DynamoDB Local reports (a one-item TransactWriteItems reports 2 where a PutItem reports 1), so nothing is doubled again. ${measurement.failedWrites} writes DynamoDB refused in this run (lost races, failed conditions) are not priced: DynamoDB charges them, DynamoDB Local reports no units for them.
- **EventBridge**: the Step Functions status events delivered to the status-change rule; AWS service events on the default bus are free, and the service puts no custom events.
- **S3** and **SQS**: requests the functions send to \`AWS_ENDPOINT_URL_S3\` and \`AWS_ENDPOINT_URL_SQS\`, counted at the AWS SDK's HTTP handler whichever client sends them (0 while nothing is offloaded or queued for these executions). Lambda's own polling of a queue (receives, deletes, empty receives) is a per-queue cost, not counted.
- Not counted: storage (DynamoDB, S3), CloudWatch Logs and metrics, data transfer, KMS, the schedules' runs (reconciler, admission: a fixed cost per minute, whatever the executions).

Prices (${PRICE_REGION}, read ${PRICES_CHECKED}):

${priceList}`;
  return { title: 'Cost per million executions', body, rows };
}
