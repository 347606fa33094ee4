import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { nextFireTime, parseScheduleExpression, type FireRule } from './schedule-expressions.js';

/**
 * A local EventBridge Scheduler: the REST-JSON API the SDK's `SchedulerClient` speaks
 * (CreateSchedule, GetSchedule, UpdateSchedule, DeleteSchedule, ListSchedules; `AWS_ENDPOINT_URL_SCHEDULER`
 * points the functions here) over schedules kept in a JSON file (with `--persist`, so a restart
 * keeps them), firing each ENABLED one on time through the local Lambda host: rate, cron in its
 * time zone (daylight saving as Scheduler handles it), at(), start and end dates, the target's
 * retry policy and its dead-letter queue. Its clock may run faster than real time
 * ({@link LocalEventBridgeSchedulerOptions.timeScale}), so a test sees a `rate(1 minute)` schedule
 * fire every second.
 */

/** A schedule as the local Scheduler keeps it (the API's shapes, dates as epoch ms). */
export interface StoredSchedule {
  readonly Name: string;
  readonly GroupName: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone: string;
  readonly StartDate?: number;
  readonly EndDate?: number;
  readonly Description?: string;
  readonly State: 'ENABLED' | 'DISABLED';
  readonly FlexibleTimeWindow: { readonly Mode: string; readonly MaximumWindowInMinutes?: number };
  readonly Target: StoredTarget;
  readonly ActionAfterCompletion: 'NONE' | 'DELETE';
  readonly CreationDate: number;
  readonly LastModificationDate: number;
  /** When it last fired (virtual clock, epoch ms), so a restart does not fire the same time twice. */
  readonly LastFired?: number;
}

/** A schedule's target, as the API takes it. */
export interface StoredTarget {
  readonly Arn: string;
  readonly RoleArn: string;
  readonly Input?: string;
  readonly RetryPolicy?: { readonly MaximumRetryAttempts?: number; readonly MaximumEventAgeInSeconds?: number };
  readonly DeadLetterConfig?: { readonly Arn?: string };
}

/** Settings of {@link LocalEventBridgeScheduler}. */
export interface LocalEventBridgeSchedulerOptions {
  readonly region: string;
  readonly account: string;
  /** Schedule groups that exist (the template's); `default` always does. */
  readonly groups: readonly string[];
  /** Invokes a local function by ARN with an event (the Lambda host). */
  readonly invoke: (arn: string, event: unknown) => Promise<unknown>;
  /** True when a function of that ARN runs locally (a target must). */
  readonly hasFunction: (arn: string) => boolean;
  /** Sends a run that failed after its retries to a dead-letter queue by ARN. */
  readonly deadLetter?: (queueArn: string, body: string, attributes: Readonly<Record<string, string>>) => Promise<void>;
  /**
   * Keeps the schedules (and the clock) in this JSON file, so a restart goes on with them.
   * @default in memory
   */
  readonly file?: string;
  /**
   * How many times faster than real time the schedules' clock runs (60: a minute passes in a
   * second). Runs carry that clock's time as their scheduled time.
   * @default 1
   */
  readonly timeScale?: number;
  readonly log?: (message: string) => void;
}

/** An error in the Scheduler API's terms: its HTTP status and exception name. */
export class SchedulerApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new SchedulerApiError(400, 'ValidationException', message);
const NAME = /^[0-9a-zA-Z._-]{1,64}$/;
const DEFAULT_RETRY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 };
/** The most times one schedule fires in one tick (a timer far behind a fast clock must not flood the functions). */
const MAX_CATCH_UP = 100;
/** The longest a timer waits at once (Node's limit is 2^31-1 ms); it then looks again. */
const MAX_TIMER_MS = 60_000;

/** A date of the API's JSON: epoch seconds (what the SDK sends) or ISO text. */
function dateOf(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const ms = typeof value === 'number' ? value * 1000 : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw invalid(`${name} is not a timestamp`);
  return ms;
}

function isValidTimezone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The local EventBridge Scheduler (see the module's comment). */
export class LocalEventBridgeScheduler {
  private readonly schedules = new Map<string, StoredSchedule>();
  /** When each ENABLED schedule fires next (virtual epoch ms). */
  private readonly due = new Map<string, number>();
  private readonly groups: Set<string>;
  private readonly scale: number;
  private readonly log: (message: string) => void;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** The virtual clock: `virtualOrigin + (Date.now() - realOrigin) * scale`. */
  private readonly realOrigin = Date.now();
  private virtualOrigin = this.realOrigin;

  constructor(private readonly options: LocalEventBridgeSchedulerOptions) {
    this.groups = new Set(['default', ...options.groups]);
    this.scale = options.timeScale ?? 1;
    if (!Number.isFinite(this.scale) || this.scale <= 0) throw new Error(`The scheduler time scale must be a positive number, got ${this.scale}`);
    this.log = options.log ?? (() => undefined);
    this.load();
  }

  /** The scheduler's clock (epoch ms): real time, or faster with a time scale. */
  now(): number {
    return this.virtualOrigin + (Date.now() - this.realOrigin) * this.scale;
  }

  private key(group: string, name: string): string {
    return `${group}/${name}`;
  }

  private arnOf(schedule: Pick<StoredSchedule, 'GroupName' | 'Name'>): string {
    return `arn:aws:scheduler:${this.options.region}:${this.options.account}:schedule/${schedule.GroupName}/${schedule.Name}`;
  }

  private load(): void {
    const file = this.options.file;
    if (!file || !existsSync(file)) return;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { clock?: number; schedules?: StoredSchedule[] };
    // The clock never runs backwards across a restart: a faster clock went ahead of real time.
    if (typeof saved.clock === 'number' && saved.clock > this.virtualOrigin) this.virtualOrigin = saved.clock;
    for (const schedule of saved.schedules ?? []) this.schedules.set(this.key(schedule.GroupName, schedule.Name), schedule);
  }

  private save(): void {
    const file = this.options.file;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    // Written aside, then renamed: a kill mid-write leaves the old file or the new one.
    writeFileSync(`${file}.tmp`, `${JSON.stringify({ clock: this.now(), schedules: [...this.schedules.values()] }, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }

  /** Adds schedule groups (the template's, once it is read). */
  addGroups(names: readonly string[]): void {
    for (const name of names) this.groups.add(name);
  }

  /** The schedules it keeps. */
  get size(): number {
    return this.schedules.size;
  }

  /** Starts firing the ENABLED schedules. */
  start(): void {
    this.running = true;
    for (const schedule of this.schedules.values()) this.plan(schedule);
    this.arm();
  }

  /** Stops firing and waits for the runs in progress; the schedules stay (in the file). */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
    this.save();
  }

  private ruleOf(schedule: StoredSchedule): FireRule {
    return {
      expression: parseScheduleExpression(schedule.ScheduleExpression),
      timezone: schedule.ScheduleExpressionTimezone,
      ...(schedule.StartDate === undefined ? {} : { startMs: schedule.StartDate }),
      ...(schedule.EndDate === undefined ? {} : { endMs: schedule.EndDate }),
      createdMs: schedule.CreationDate,
    };
  }

  /** Works out when `schedule` fires next (after its last run, and not in the past). */
  private plan(schedule: StoredSchedule): void {
    const key = this.key(schedule.GroupName, schedule.Name);
    this.due.delete(key);
    if (schedule.State !== 'ENABLED') return;
    // A run missed while the stack was down is not made up: from now on (a rate's first run is its creation).
    const after = Math.max(schedule.LastFired ?? schedule.CreationDate - 1, this.now() - 1);
    const next = nextFireTime(this.ruleOf(schedule), after);
    if (next !== undefined) this.due.set(key, next);
  }

  /** Sets the timer for the next due schedule. */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running || this.due.size === 0) return;
    const soonest = Math.min(...this.due.values());
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, (soonest - this.now()) / this.scale));
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  /**
   * Fires every schedule that is due, each time it was due (a late timer fires the times it missed,
   * as Scheduler would have, at most {@link MAX_CATCH_UP} per tick), then sets the timer again.
   */
  private tick(): void {
    const now = this.now();
    for (const [key, due] of [...this.due]) {
      let at: number | undefined = due;
      for (let fired = 0; at !== undefined && at <= now && fired < MAX_CATCH_UP; fired++) {
        const schedule = this.schedules.get(key);
        if (!schedule) break;
        const firing = { ...schedule, LastFired: at };
        this.schedules.set(key, firing);
        const run = this.fire(firing, at).finally(() => this.inFlight.delete(run));
        this.inFlight.add(run);
        const rule = this.ruleOf(firing);
        if (rule.expression.kind === 'at' && firing.ActionAfterCompletion === 'DELETE') {
          this.schedules.delete(key);
          at = undefined;
        } else {
          at = nextFireTime(rule, at);
        }
      }
      if (at === undefined) this.due.delete(key);
      else this.due.set(key, at);
    }
    this.save();
    this.arm();
  }

  /** The target input with Scheduler's context attributes filled in. */
  private inputOf(schedule: StoredSchedule, at: number, attempt: number, executionId: string): unknown {
    const text = (schedule.Target.Input ?? '{}')
      .replaceAll('<aws.scheduler.scheduled-time>', new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'))
      .replaceAll('<aws.scheduler.schedule-arn>', this.arnOf(schedule))
      .replaceAll('<aws.scheduler.execution-id>', executionId)
      .replaceAll('<aws.scheduler.attempt-number>', String(attempt));
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }

  /**
   * Invokes the target, retrying a failure as the target's retry policy says (waits of 1, 2, 4 …
   * seconds on the scheduler's clock, within the event's maximum age), then sends it to the
   * dead-letter queue, if the target has one.
   */
  private async fire(schedule: StoredSchedule, at: number): Promise<void> {
    const retry = { ...DEFAULT_RETRY, ...schedule.Target.RetryPolicy };
    const executionId = randomUUID();
    let lastError = '';
    for (let attempt = 1; attempt <= retry.MaximumRetryAttempts + 1; attempt++) {
      if (attempt > 1) {
        const wait = Math.min(2 ** (attempt - 2) * 1000, 60_000);
        if (this.now() + wait - at > retry.MaximumEventAgeInSeconds * 1000) break;
        await new Promise((resolve) => setTimeout(resolve, wait / this.scale).unref());
        if (!this.running) break;
      }
      try {
        await this.options.invoke(schedule.Target.Arn, this.inputOf(schedule, at, attempt, executionId));
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        this.log(`schedule ${schedule.GroupName}/${schedule.Name}: attempt ${attempt} failed: ${lastError}`);
      }
    }
    const queue = schedule.Target.DeadLetterConfig?.Arn;
    if (queue && this.options.deadLetter) {
      await this.options
        .deadLetter(queue, JSON.stringify(this.inputOf(schedule, at, 0, executionId)), {
          ERROR_CODE: 'TargetInvocationFailed',
          ERROR_MESSAGE: lastError.slice(0, 1000),
          SCHEDULE_ARN: this.arnOf(schedule),
          TARGET_ARN: schedule.Target.Arn,
        })
        .catch((error: unknown) => this.log(`schedule ${schedule.Name}: its dead-letter queue refused the run: ${String(error)}`));
    }
  }

  /** A schedule from a Create or Update request's body, checked as Scheduler checks it. */
  private scheduleFrom(name: string, body: Record<string, unknown>, previous?: StoredSchedule): StoredSchedule {
    if (!NAME.test(name)) throw invalid('Name must be 1 to 64 of [0-9a-zA-Z-_.]');
    const group = typeof body.GroupName === 'string' && body.GroupName ? body.GroupName : 'default';
    if (!this.groups.has(group)) throw new SchedulerApiError(404, 'ResourceNotFoundException', `Schedule group ${group} does not exist.`);
    const expression = body.ScheduleExpression;
    if (typeof expression !== 'string') throw invalid('ScheduleExpression is required');
    try {
      parseScheduleExpression(expression);
    } catch (error) {
      throw invalid(error instanceof Error ? error.message : String(error));
    }
    const timezone = typeof body.ScheduleExpressionTimezone === 'string' ? body.ScheduleExpressionTimezone : 'UTC';
    if (!isValidTimezone(timezone)) throw invalid(`Invalid time zone ${timezone}`);
    const window = body.FlexibleTimeWindow as StoredSchedule['FlexibleTimeWindow'] | undefined;
    if (!window || (window.Mode !== 'OFF' && window.Mode !== 'FLEXIBLE')) throw invalid('FlexibleTimeWindow.Mode must be OFF or FLEXIBLE');
    const target = body.Target as StoredTarget | undefined;
    if (!target || typeof target.Arn !== 'string' || typeof target.RoleArn !== 'string') throw invalid('Target needs Arn and RoleArn');
    if (!this.options.hasFunction(target.Arn)) throw invalid(`The local Scheduler invokes local functions only; no function ${target.Arn}`);
    const state = body.State ?? 'ENABLED';
    if (state !== 'ENABLED' && state !== 'DISABLED') throw invalid('State must be ENABLED or DISABLED');
    const start = dateOf(body.StartDate, 'StartDate');
    const end = dateOf(body.EndDate, 'EndDate');
    // Scheduler compares the dates with real time, not with a test's faster clock.
    if (end !== undefined && end <= Date.now()) throw invalid('The EndDate you specify cannot be earlier than the current time.');
    if (start !== undefined && end !== undefined && end <= start) throw invalid('The EndDate must be later than the StartDate.');
    const now = Date.now();
    return {
      Name: name,
      GroupName: group,
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: timezone,
      ...(start === undefined ? {} : { StartDate: start }),
      ...(end === undefined ? {} : { EndDate: end }),
      ...(typeof body.Description === 'string' ? { Description: body.Description } : {}),
      State: state,
      FlexibleTimeWindow: window,
      Target: target,
      ActionAfterCompletion: body.ActionAfterCompletion === 'DELETE' ? 'DELETE' : 'NONE',
      // The scheduler's clock: a rate counts from here.
      CreationDate: previous?.CreationDate ?? this.now(),
      LastModificationDate: now,
      ...(previous?.LastFired === undefined ? {} : { LastFired: previous.LastFired }),
    };
  }

  private find(group: string, name: string): StoredSchedule {
    const schedule = this.schedules.get(this.key(group, name));
    if (!schedule) throw new SchedulerApiError(404, 'ResourceNotFoundException', `Schedule ${name} does not exist.`);
    return schedule;
  }

  private put(schedule: StoredSchedule): { ScheduleArn: string } {
    this.schedules.set(this.key(schedule.GroupName, schedule.Name), schedule);
    if (this.running) {
      this.plan(schedule);
      this.arm();
    }
    this.save();
    return { ScheduleArn: this.arnOf(schedule) };
  }

  /** CreateSchedule. */
  create(name: string, body: Record<string, unknown>): { ScheduleArn: string } {
    const schedule = this.scheduleFrom(name, body);
    if (this.schedules.has(this.key(schedule.GroupName, name))) throw new SchedulerApiError(409, 'ConflictException', `Schedule ${name} already exists.`);
    return this.put(schedule);
  }

  /** UpdateSchedule: replaces every setting of an existing schedule. */
  update(name: string, body: Record<string, unknown>): { ScheduleArn: string } {
    const group = typeof body.GroupName === 'string' && body.GroupName ? body.GroupName : 'default';
    const previous = this.find(group, name);
    return this.put(this.scheduleFrom(name, body, previous));
  }

  /** GetSchedule, in the API's shape (dates as epoch seconds). */
  get(name: string, group = 'default'): Record<string, unknown> {
    const schedule = this.find(group, name);
    const { LastFired: _lastFired, StartDate, EndDate, CreationDate, LastModificationDate, ...rest } = schedule;
    return {
      ...rest,
      Arn: this.arnOf(schedule),
      ...(StartDate === undefined ? {} : { StartDate: StartDate / 1000 }),
      ...(EndDate === undefined ? {} : { EndDate: EndDate / 1000 }),
      CreationDate: CreationDate / 1000,
      LastModificationDate: LastModificationDate / 1000,
    };
  }

  /** DeleteSchedule. */
  delete(name: string, group = 'default'): Record<string, never> {
    const schedule = this.find(group, name);
    const key = this.key(schedule.GroupName, schedule.Name);
    this.schedules.delete(key);
    this.due.delete(key);
    this.arm();
    this.save();
    return {};
  }

  /** ListSchedules: by name, 100 at most per page (or MaxResults), with a NextToken. */
  list(query: URLSearchParams): { Schedules: unknown[]; NextToken?: string } {
    const group = query.get('ScheduleGroup');
    const prefix = query.get('NamePrefix') ?? '';
    const state = query.get('State');
    const max = Math.min(100, Math.max(1, Number(query.get('MaxResults') ?? 100) || 100));
    const after = query.get('NextToken') ?? '';
    const matching = [...this.schedules.values()]
      .filter((schedule) => (!group || schedule.GroupName === group) && schedule.Name.startsWith(prefix) && (!state || schedule.State === state))
      .map((schedule) => ({ key: this.key(schedule.GroupName, schedule.Name), schedule }))
      .sort((a, b) => (a.key < b.key ? -1 : 1))
      .filter(({ key }) => key > after);
    const page = matching.slice(0, max);
    return {
      Schedules: page.map(({ schedule }) => ({
        Arn: this.arnOf(schedule),
        Name: schedule.Name,
        GroupName: schedule.GroupName,
        State: schedule.State,
        CreationDate: schedule.CreationDate / 1000,
        LastModificationDate: schedule.LastModificationDate / 1000,
        Target: { Arn: schedule.Target.Arn },
      })),
      ...(matching.length > max ? { NextToken: page.at(-1)!.key } : {}),
    };
  }

  /** Answers one request of the REST-JSON protocol. */
  async handle(method: string, url: URL, body: Record<string, unknown>): Promise<unknown> {
    if (url.pathname === '/schedules' && method === 'GET') return this.list(url.searchParams);
    const match = /^\/schedules\/([^/]+)$/.exec(url.pathname);
    if (!match) throw new SchedulerApiError(404, 'ResourceNotFoundException', `No operation at ${method} ${url.pathname}`);
    const name = decodeURIComponent(match[1]!);
    const group = url.searchParams.get('groupName') ?? 'default';
    switch (method) {
      case 'POST':
        return this.create(name, body);
      case 'PUT':
        return this.update(name, body);
      case 'GET':
        return this.get(name, group);
      case 'DELETE':
        return this.delete(name, group);
      default:
        throw new SchedulerApiError(405, 'ValidationException', `${method} is not an operation of Scheduler`);
    }
  }

  /** The HTTP listener of the API (what a `SchedulerClient` with this endpoint calls). */
  readonly listener = (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, payload: unknown, code?: string) => {
        res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-amzn-errortype': code } : {}) });
        res.end(JSON.stringify(payload));
      };
      Promise.resolve()
        .then(() => {
          const text = Buffer.concat(chunks).toString('utf8');
          const body = text ? (JSON.parse(text) as unknown) : {};
          if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid('The body must be a JSON object');
          return this.handle(req.method ?? 'GET', new URL(req.url ?? '/', 'http://local'), body as Record<string, unknown>);
        })
        .then(
          (result) => reply(200, result),
          (error: unknown) => {
            if (error instanceof SchedulerApiError) reply(error.statusCode, { Message: error.message }, error.code);
            else if (error instanceof SyntaxError) reply(400, { Message: 'The body is not JSON' }, 'ValidationException');
            else reply(500, { Message: error instanceof Error ? error.message : String(error) }, 'InternalServerException');
          },
        );
    });
  };
}

/** A local Scheduler listening on 127.0.0.1. */
export interface LocalSchedulerEndpoint {
  /** `http://127.0.0.1:<port>`: `AWS_ENDPOINT_URL_SCHEDULER`. */
  readonly endpoint: string;
  readonly scheduler: LocalEventBridgeScheduler;
  stop(): Promise<void>;
}

/** Starts {@link LocalEventBridgeScheduler}'s API on a free port of 127.0.0.1 (firing starts with `scheduler.start()`). */
export async function startLocalScheduler(options: LocalEventBridgeSchedulerOptions): Promise<LocalSchedulerEndpoint> {
  const scheduler = new LocalEventBridgeScheduler(options);
  const server: Server = createServer(scheduler.listener);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    scheduler,
    // Once, however often it is called (the stack registers it twice: see local/stack.ts).
    stop: () =>
      (stopped ??= (async () => {
        await scheduler.stop();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      })()),
  };
}
