import { describe, expect, it, vi } from 'vitest';
import type { LambdaHost } from '../../../local/lambda-host.js';
import { LocalScheduler, ratePeriodMs } from '../../../local/scheduler.js';
import type { LocalFunction, LocalSchedule } from '../../../local/template.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:reconciler';
const RULE_ARN = 'arn:aws:events:us-east-1:000000000000:rule/Schedule';

function host(invoke: LambdaHost['invoke'] = async () => null): Pick<LambdaHost, 'find' | 'invoke'> & { invoke: ReturnType<typeof vi.fn> } {
  const fn = { arn: FUNCTION_ARN } as LocalFunction;
  return { find: (arn: string) => (arn === FUNCTION_ARN ? fn : undefined), invoke: vi.fn(invoke) };
}

function schedule(expression = 'rate(1 minute)', input?: string): LocalSchedule {
  return { logicalId: 'Schedule', arn: RULE_ARN, expression, targets: [{ arn: FUNCTION_ARN, ...(input === undefined ? {} : { input }) }] };
}

describe('ratePeriodMs', () => {
  it.each([
    ['rate(1 minute)', 60_000],
    ['rate(5 minutes)', 300_000],
    ['rate(1 hour)', 3_600_000],
    ['rate(2 days)', 172_800_000],
  ])('reads %s as %i ms', (expression, ms) => {
    expect(ratePeriodMs(expression)).toBe(ms);
  });

  it.each(['cron(0 12 * * ? *)', 'rate(0 minutes)', 'rate(1 minutes)', 'rate(5 minute)', 'rate(5 seconds)', 'rate(five minutes)'])(
    'refuses %s',
    (expression) => {
      expect(() => ratePeriodMs(expression)).toThrow(/only rate\(<n> minute\[s\]\|hour\[s\]\|day\[s\]\) expressions are/);
    },
  );
});

describe('LocalScheduler', () => {
  const options = { region: 'us-east-1', account: '000000000000' };

  it('refuses a schedule whose target is not a local function', () => {
    const other = { ...schedule(), targets: [{ arn: 'arn:aws:lambda:us-east-1:000000000000:function:missing' }] };

    expect(() => new LocalScheduler([other], host(), options)).toThrow(/no local function for its target/);
  });

  it('refuses a scale that is not a positive number', () => {
    expect(() => new LocalScheduler([schedule()], host(), { ...options, scale: 0 })).toThrow(/positive number/);
  });

  it('divides each period by the scale, down to 50 ms', () => {
    expect(new LocalScheduler([schedule('rate(5 minutes)')], host(), { ...options, scale: 60 }).plan[0]?.periodMs).toBe(5_000);
    expect(new LocalScheduler([schedule()], host(), { ...options, scale: 1e6 }).plan[0]?.periodMs).toBe(50);
  });

  it('sends each target a Scheduled Event naming the rule', async () => {
    const lambdas = host();

    await new LocalScheduler([schedule()], lambdas, options).fire(schedule());

    expect(lambdas.invoke).toHaveBeenCalledWith(
      FUNCTION_ARN,
      expect.objectContaining({ 'detail-type': 'Scheduled Event', source: 'aws.events', resources: [RULE_ARN], detail: {} }),
    );
  });

  it('sends a target its constant input when it has one', async () => {
    const lambdas = host();

    await new LocalScheduler([schedule('rate(1 minute)', '{"mode":"full"}')], lambdas, options).fire(schedule('rate(1 minute)', '{"mode":"full"}'));

    expect(lambdas.invoke).toHaveBeenCalledWith(FUNCTION_ARN, { mode: 'full' });
  });

  it('logs a failing run instead of throwing', async () => {
    const log = vi.fn();
    const lambdas = host(async () => {
      throw new Error('boom');
    });

    await new LocalScheduler([schedule()], lambdas, { ...options, log }).fire(schedule());

    expect(log).toHaveBeenCalledWith(expect.stringContaining('failed: boom'));
  });

  it('runs every period once started, and not after stop', async () => {
    const lambdas = host();
    const scheduler = new LocalScheduler([schedule()], lambdas, { ...options, scale: 1e6 });

    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 180));
    await scheduler.stop();
    const runs = lambdas.invoke.mock.calls.length;
    await new Promise((resolve) => setTimeout(resolve, 120));

    expect(runs).toBeGreaterThanOrEqual(2);
    expect(lambdas.invoke.mock.calls.length).toBe(runs);
  });

  it('runs each schedule once right after start, without waiting for its first period', async () => {
    const lambdas = host();
    const scheduler = new LocalScheduler([schedule('rate(5 minutes)')], lambdas, options);

    scheduler.start();
    await scheduler.stop();

    expect(lambdas.invoke).toHaveBeenCalledTimes(1);
    expect(lambdas.invoke).toHaveBeenCalledWith(FUNCTION_ARN, expect.objectContaining({ 'detail-type': 'Scheduled Event' }));
  });

  it('skips a tick while the previous run is still going', async () => {
    let release: () => void = () => undefined;
    const lambdas = host(() => new Promise((resolve) => (release = () => resolve(null))));
    const scheduler = new LocalScheduler([schedule()], lambdas, { ...options, scale: 1e6 });

    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    await scheduler.stop();

    expect(lambdas.invoke).toHaveBeenCalledTimes(1);
  });
});
