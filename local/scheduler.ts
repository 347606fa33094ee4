import type { LambdaHost } from './lambda-host.js';
import type { LocalSchedule } from './template.js';
import { eventEnvelope } from './events.js';

const UNIT_MS: Readonly<Record<string, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** The shortest period a scaled schedule runs at, whatever the scale. */
const MIN_PERIOD_MS = 50;

/**
 * The period of an EventBridge `rate(<n> <unit>)` expression, in ms.
 * @throws for `cron(...)` and anything else that is not a valid rate expression.
 */
export function ratePeriodMs(expression: string): number {
  const match = /^rate\((\d+) (minute|hour|day)(s?)\)$/.exec(expression.trim());
  const value = Number(match?.[1]);
  // As in EventBridge: the unit is singular for 1 and plural otherwise.
  if (!match || value < 1 || (match[3] === 's') !== value > 1) {
    throw new Error(`Schedule "${expression}" is not emulated locally: only rate(<n> minute[s]|hour[s]|day[s]) expressions are`);
  }
  return value * UNIT_MS[match[2]!]!;
}

/** Settings of {@link LocalScheduler}. */
export interface LocalSchedulerOptions {
  readonly region: string;
  readonly account: string;
  /**
   * How many times faster than their rate the schedules run (tests: 60 turns a minute into a second).
   * @default 1
   */
  readonly scale?: number;
  readonly log?: (message: string) => void;
}

/**
 * Runs the template's EventBridge schedule rules: once at start, then every `rate(...)` period
 * (divided by `scale`), each target function gets a "Scheduled Event" (or the target's constant
 * input), as EventBridge would send it. A run still in progress skips the next tick instead of
 * piling up.
 */
export class LocalScheduler {
  private readonly periods = new Map<LocalSchedule, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly inFlight = new Map<LocalSchedule, Promise<void>>();
  private readonly log: (message: string) => void;

  constructor(
    schedules: readonly LocalSchedule[],
    private readonly lambdas: Pick<LambdaHost, 'find' | 'invoke'>,
    private readonly options: LocalSchedulerOptions,
  ) {
    this.log = options.log ?? (() => undefined);
    const scale = options.scale ?? 1;
    if (!Number.isFinite(scale) || scale <= 0) throw new Error(`The schedule scale must be a positive number, got ${scale}`);
    for (const schedule of schedules) {
      for (const target of schedule.targets) {
        if (!this.lambdas.find(target.arn)) {
          throw new Error(`Schedule ${schedule.logicalId}: no local function for its target ${target.arn}`);
        }
      }
      this.periods.set(schedule, Math.max(MIN_PERIOD_MS, ratePeriodMs(schedule.expression) / scale));
    }
  }

  /** Each schedule with the period it runs at locally, in ms. */
  get plan(): ReadonlyArray<{ readonly schedule: LocalSchedule; readonly periodMs: number }> {
    return [...this.periods].map(([schedule, periodMs]) => ({ schedule, periodMs }));
  }

  /**
   * Runs every schedule once now, then every period. EventBridge's first run comes one period
   * after the rule is created; a local stack is restarted often, and a restart is when records
   * most need the reconciler, so it does not wait (5 minutes for the reconciler) here.
   */
  start(): void {
    for (const [schedule, period] of this.periods) {
      const tick = () => {
        if (this.inFlight.has(schedule)) return;
        const run = this.fire(schedule).finally(() => this.inFlight.delete(schedule));
        this.inFlight.set(schedule, run);
      };
      tick();
      const timer = setInterval(tick, period);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /** Invokes every target of `schedule` once, now. A failing target is logged, not retried. */
  async fire(schedule: LocalSchedule): Promise<void> {
    await Promise.all(
      schedule.targets.map(async (target) => {
        const event =
          target.input !== undefined
            ? (JSON.parse(target.input) as unknown)
            : eventEnvelope(this.options, 'Scheduled Event', 'aws.events', [schedule.arn], {});
        try {
          await this.lambdas.invoke(target.arn, event);
        } catch (error) {
          this.log(`scheduled run of ${target.arn} (${schedule.expression}) failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }),
    );
  }

  /** Stops the timers and waits for the runs in progress. */
  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
