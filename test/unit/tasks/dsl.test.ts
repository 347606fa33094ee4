import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { definitionSiteOf } from '../../../lambdas/tasks/definition-site.js';
import {
  MAX_NESTING,
  allSteps,
  checkExecutionTimeout,
  choice,
  defineTask,
  invoke,
  lambdaStepsOf,
  map,
  parallel,
  runTask,
  sequencesOf,
  sleep,
  step,
  waitForInput,
  type Condition,
  type Step,
  type TaskDefinition,
} from '../../../lambdas/tasks/dsl.js';

const input = z.strictObject({ n: z.number() });
const noop = (value: unknown) => value;

function definition(overrides: Partial<TaskDefinition<typeof input>> = {}): TaskDefinition<typeof input> {
  return {
    id: 'sample-task',
    description: 'A sample.',
    kind: 'pipeline',
    input,
    examples: [{ n: 1 }],
    steps: [step('one', noop), step('two', noop)],
    ...overrides,
  };
}

describe('step', () => {
  it('defaults to a 300 s timeout and two retries with exponential backoff on any error', () => {
    const defined = step('fetch', noop);

    expect(defined).toMatchObject({
      kind: 'step',
      name: 'fetch',
      timeoutSeconds: 300,
      retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 60, errors: ['States.ALL'] },
    });
  });

  it('keeps the given options and runs the given handler', async () => {
    const defined = step('fetch', (value: { n: number }) => ({ doubled: value.n * 2 }), {
      timeoutSeconds: 900,
      retry: { maxAttempts: 5, errors: ['Lambda.TooManyRequestsException'] },
    });

    expect(defined.timeoutSeconds).toBe(900);
    expect(defined.retry).toEqual({
      maxAttempts: 5,
      intervalSeconds: 1,
      backoffRate: 2,
      maxDelaySeconds: 60,
      errors: ['Lambda.TooManyRequestsException'],
    });
    const context = { executionId: 'e', taskId: 't', stepIndex: 0, stepName: 'fetch', attempt: 0, reportProgress: async () => undefined };
    expect(await defined.run({ n: 2 }, context)).toEqual({ doubled: 4 });
  });

  it('turns retries off with retry: false', () => {
    expect(step('once', noop, { retry: false }).retry).toBe(false);
  });

  it.each([0, -1, 1.5, 901, Number.NaN])('throws for timeoutSeconds %s', (timeoutSeconds) => {
    expect(() => step('slow', noop, { timeoutSeconds })).toThrow(/Step slow: timeoutSeconds must be an integer from 1 to 900/);
  });
});

describe('waitForInput', () => {
  it('defaults to a one-day timeout without prompt or schema', () => {
    expect(waitForInput('review')).toEqual({ kind: 'wait', name: 'review', timeoutSeconds: 86_400 });
  });

  it('keeps prompt, schema and timeout, up to a year', () => {
    const schema = z.object({ ok: z.boolean() });

    const wait = waitForInput('review', { prompt: 'OK?', input: schema, timeoutSeconds: 365 * 86_400 });

    expect(wait).toEqual({ kind: 'wait', name: 'review', prompt: 'OK?', input: schema, timeoutSeconds: 365 * 86_400 });
  });

  it('throws for a timeout over a year', () => {
    expect(() => waitForInput('review', { timeoutSeconds: 365 * 86_400 + 1 })).toThrow(/Wait review: timeoutSeconds/);
  });
});

describe('defineTask', () => {
  it('returns a valid definition unchanged', () => {
    const valid = definition();

    expect(defineTask(valid)).toBe(valid);
  });

  it.each(['Sample', 'sample_task', '1sample', 'sample-', '-sample', 'sample--task', 'a'.repeat(41), ''])(
    'throws for the task id %j',
    (id) => {
      expect(() => defineTask(definition({ id }))).toThrow(/Task id must be kebab-case and at most 40 characters/);
    },
  );

  it('accepts a 40-character kebab-case id with digits', () => {
    const id = `task-${'a'.repeat(30)}-v2-x`.slice(0, 40);

    expect(defineTask(definition({ id })).id).toBe(id);
  });

  it('throws for a task without steps', () => {
    expect(() => defineTask(definition({ steps: [] }))).toThrow('Task sample-task has no steps');
  });

  it('throws for a step name used twice, also across step kinds', () => {
    const twice: Step[] = [step('one', noop), waitForInput('one')];

    expect(() => defineTask(definition({ steps: twice }))).toThrow('Task sample-task: step name "one" is used twice');
  });

  it.each(['One', 'step one', 'step_one', 'x'.repeat(61)])('throws for the step name %j', (name) => {
    expect(() => defineTask(definition({ steps: [step(name, noop)] }))).toThrow(/step name must be kebab-case/);
  });

  it('throws without an example input', () => {
    expect(() => defineTask(definition({ examples: [] }))).toThrow('Task sample-task needs at least one example input');
  });

  it('says what is missing when a JavaScript author leaves out examples altogether', () => {
    const { examples: _omitted, ...withoutExamples } = definition();
    expect(() => defineTask(withoutExamples as unknown as Parameters<typeof defineTask>[0])).toThrow('Task sample-task needs at least one example input');
  });

  it('records the file that defined the task, beside it: the definition is unchanged, and other objects have no site', () => {
    const valid = definition();

    const defined = defineTask(valid);

    expect(definitionSiteOf(defined)).toBe(import.meta.filename);
    expect(Object.keys(defined).sort()).toEqual(['description', 'examples', 'id', 'input', 'kind', 'steps']);
    expect(definitionSiteOf({ ...defined })).toBeUndefined();
    expect(definitionSiteOf(definition())).toBeUndefined();
  });

  it('throws for an example that does not match the input schema', () => {
    const examples = [{ n: 1 }, { n: 'one' } as unknown as { n: number }];

    expect(() => defineTask(definition({ examples }))).toThrow(/example \{"n":"one"\} does not match its input schema/);
  });
});

describe('task timeoutSeconds', () => {
  it('is absent unless given, so the state machine computes one', () => {
    expect(defineTask(definition()).timeoutSeconds).toBeUndefined();
  });

  it('accepts a timeout equal to the longest single step', () => {
    const steps = [step('one', noop, { timeoutSeconds: 30 }), waitForInput('gate', { timeoutSeconds: 600 })];

    expect(defineTask(definition({ steps, timeoutSeconds: 600 })).timeoutSeconds).toBe(600);
  });

  it('throws for a timeout shorter than the longest single step, naming that step', () => {
    const steps = [step('one', noop, { timeoutSeconds: 30 }), waitForInput('gate', { timeoutSeconds: 600 })];

    expect(() => defineTask(definition({ steps, timeoutSeconds: 599 }))).toThrow(
      'Task sample-task: timeoutSeconds (599) is shorter than step "gate" (600)',
    );
  });

  it.each([0, -5, 1.5, Number.NaN, 365 * 86_400 + 1])('throws for timeoutSeconds %s', (timeoutSeconds) => {
    expect(() => defineTask(definition({ timeoutSeconds }))).toThrow(/Task sample-task: timeoutSeconds must be an integer from 1 to 31536000/);
  });
});

describe('invoke', () => {
  it('defaults to a 300 s timeout and the default retries, keeping the target', () => {
    expect(invoke('lookup', 'lookup-fn')).toEqual({
      kind: 'invoke',
      name: 'lookup',
      target: 'lookup-fn',
      timeoutSeconds: 300,
      retry: { maxAttempts: 2, intervalSeconds: 1, backoffRate: 2, maxDelaySeconds: 60, errors: ['States.ALL'] },
    });
  });

  it('keeps its options: no retries, a longer timeout', () => {
    expect(invoke('lookup', 'lookup-fn', { retry: false, timeoutSeconds: 900 })).toMatchObject({ retry: false, timeoutSeconds: 900 });
  });

  it.each([
    'arn:aws:lambda:us-east-1:123456789012:function:my-fn',
    'arn:aws:lambda:eu-west-3:123456789012:function:my_fn:live',
    'arn:aws:lambda:us-east-1:123456789012:function:my-fn:$LATEST',
    'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn:7',
    'lookupFn',
    'a'.repeat(64),
  ])('accepts the target %s', (target) => {
    expect(invoke('lookup', target).target).toBe(target);
  });

  it.each([
    'arn:aws:lambda:us-east-1:12345:function:my-fn',
    'arn:aws:s3:::bucket',
    'arn:aws:lambda:us-east-1:123456789012:function:',
    '1-starts-with-a-digit',
    'has space',
    'a'.repeat(65),
    '',
  ])('throws for the target %j', (target) => {
    expect(() => invoke('lookup', target)).toThrow(/^Invoke lookup: target must be a Lambda function ARN or a function name given to the stack/);
  });

  it('throws for a timeout over 900 s', () => {
    expect(() => invoke('lookup', 'fn', { timeoutSeconds: 901 })).toThrow(/Invoke lookup: timeoutSeconds must be an integer from 1 to 900/);
  });
});

describe('parallel', () => {
  it('keeps its branches in order', () => {
    const left = [step('left', noop)];
    const right = [step('right', noop)];

    expect(parallel('both', [left, right])).toEqual({ kind: 'parallel', name: 'both', branches: [left, right] });
  });

  it('throws without branches', () => {
    expect(() => parallel('both', [])).toThrow('Parallel both has no branches');
  });
});

describe('map', () => {
  it('defaults to the input itself, 10 items at once, inline', () => {
    const steps = [step('each', noop)];

    const defined = map('each-doc', {}, steps);

    expect(defined).toEqual({ kind: 'map', name: 'each-doc', maxConcurrency: 10, distributed: false, steps });
    expect(defined).not.toHaveProperty('items');
  });

  it.each(['docs', 'batch.items', 'pages.0', '_private.x_1'])('keeps the items path %s', (items) => {
    expect(map('m', { items }, [step('s', noop)]).items).toBe(items);
  });

  it.each(['', 'a..b', '$.docs', 'docs[0]', 'a-b', '.docs', 'docs.', 'a'.repeat(201)])('throws for the items path %j', (items) => {
    expect(() => map('m', { items }, [step('s', noop)])).toThrow(/^Map m: items must be a dotted path of identifiers or indexes/);
  });

  it('runs at most 40 items at once inline, at most 10000 distributed', () => {
    expect(map('m', { maxConcurrency: 40 }, []).maxConcurrency).toBe(40);
    expect(map('m', { maxConcurrency: 10_000, distributed: true }, []).maxConcurrency).toBe(10_000);
    expect(() => map('m', { maxConcurrency: 41 }, [])).toThrow('Map m: maxConcurrency must be an integer from 1 to 40, got 41');
    expect(() => map('m', { maxConcurrency: 10_001, distributed: true }, [])).toThrow('Map m: maxConcurrency must be an integer from 1 to 10000, got 10001');
  });

  it.each([0, -1, 2.5, Number.NaN])('throws for maxConcurrency %s', (maxConcurrency) => {
    expect(() => map('m', { maxConcurrency }, [])).toThrow(/Map m: maxConcurrency must be an integer from 1 to 40/);
  });

  it('keeps distributed', () => {
    expect(map('m', { distributed: true }, []).distributed).toBe(true);
  });
});

describe('choice', () => {
  const steps = [step('then', noop)];

  it('keeps its cases and fallback, and has no otherwise key without one', () => {
    const cases = [{ when: { path: 'kind', equals: 'a' }, steps }];

    expect(choice('route', cases, [step('else', noop)])).toMatchObject({ kind: 'choice', name: 'route', cases, otherwise: [{ name: 'else' }] });
    expect(choice('route', cases)).not.toHaveProperty('otherwise');
  });

  it('throws without cases', () => {
    expect(() => choice('route', [])).toThrow('Choice route has no cases');
  });

  it.each<Condition>([
    { path: 'a', equals: 'x' },
    { path: 'a.b.0', equals: 3 },
    { path: 'a', equals: false },
    { path: 'n', greaterThan: 0 },
    { path: 'n', greaterThanOrEquals: -1.5 },
    { path: 'n', lessThan: 10 },
    { path: 'n', lessThanOrEquals: 10 },
    { path: 'n', present: false },
    { and: [{ path: 'a', equals: 1 }, { or: [{ path: 'b', present: true }, { not: { path: 'c', lessThan: 2 } }] }] },
  ])('accepts the condition %j', (when) => {
    expect(choice('route', [{ when, steps }]).cases[0]?.when).toBe(when);
  });

  it.each<[string, Condition, RegExp]>([
    ['a bad path', { path: 'a b', equals: 1 }, /Choice route: condition path must be a dotted path/],
    ['a bad path deep inside', { not: { and: [{ path: '$.x', present: true }] } }, /Choice route: condition path must be a dotted path/],
    ['an empty and', { and: [] }, /Choice route: "and"\/"or" needs at least one condition/],
    ['an empty or', { or: [] }, /Choice route: "and"\/"or" needs at least one condition/],
    ['an infinite bound', { path: 'n', greaterThan: Number.POSITIVE_INFINITY }, /Choice route: greaterThan must be a finite number/],
    ['a NaN bound', { path: 'n', lessThanOrEquals: Number.NaN }, /Choice route: lessThanOrEquals must be a finite number/],
  ])('throws for %s', (_case, when, message) => {
    expect(() => choice('route', [{ when, steps }])).toThrow(message);
  });

  it('checks every case, not only the first', () => {
    expect(() => choice('route', [{ when: { path: 'a', equals: 1 }, steps }, { when: { path: '', equals: 1 }, steps }])).toThrow(/condition path/);
  });

  it('accepts conditions nested 8 deep and throws for 9', () => {
    const deep = (depth: number): Condition => (depth === 0 ? { path: 'a', present: true } : { not: deep(depth - 1) });

    expect(() => choice('route', [{ when: deep(8), steps }])).not.toThrow();
    expect(() => choice('route', [{ when: deep(9), steps }])).toThrow('Choice route: conditions nest more than 8 deep');
  });
});

describe('sleep', () => {
  it('sleeps fixed seconds, up to a year', () => {
    expect(sleep('nap', 60)).toEqual({ kind: 'sleep', name: 'nap', seconds: 60 });
    expect(sleep('nap', 365 * 86_400).seconds).toBe(365 * 86_400);
  });

  it.each([0, -1, 1.5, 365 * 86_400 + 1, Number.NaN])('throws for %s seconds', (seconds) => {
    expect(() => sleep('nap', seconds)).toThrow(/Sleep nap: seconds must be an integer from 1 to 31536000/);
  });

  it('sleeps the seconds at a path of its input', () => {
    const defined = sleep('nap', { path: 'wait.seconds' });

    expect(defined).toEqual({ kind: 'sleep', name: 'nap', secondsPath: 'wait.seconds' });
    expect(defined).not.toHaveProperty('seconds');
  });

  it('throws for a path that is not dotted', () => {
    expect(() => sleep('nap', { path: 'wait[seconds]' })).toThrow(/Sleep nap: path must be a dotted path/);
  });
});

describe('runTask', () => {
  it('defaults to the whole input and a one-day timeout', () => {
    const defined = runTask('child', 'sample-pipeline');

    expect(defined).toEqual({ kind: 'run-task', name: 'child', taskId: 'sample-pipeline', timeoutSeconds: 86_400 });
    expect(defined).not.toHaveProperty('inputPath');
  });

  it('keeps an input path and a timeout up to a year', () => {
    expect(runTask('child', 'sample-pipeline', { inputPath: 'job.spec', timeoutSeconds: 365 * 86_400 })).toMatchObject({ inputPath: 'job.spec', timeoutSeconds: 365 * 86_400 });
  });

  it.each(['Sample', 'sample_pipeline', 'sample-', '', 'a'.repeat(41)])('throws for the task id %j', (taskId) => {
    expect(() => runTask('child', taskId)).toThrow(`RunTask child: "${taskId}" is not a task id`);
  });

  it('throws for a bad input path or timeout', () => {
    expect(() => runTask('child', 'sample-pipeline', { inputPath: 'job..spec' })).toThrow(/RunTask child: inputPath must be a dotted path/);
    expect(() => runTask('child', 'sample-pipeline', { timeoutSeconds: 0 })).toThrow(/RunTask child: timeoutSeconds must be an integer/);
  });
});

describe('walking nested steps', () => {
  const tree: Step[] = [
    step('a', noop),
    parallel('p', [[step('b', noop), map('m', {}, [step('c', noop)])], [invoke('d', 'fn')]]),
    choice('ch', [{ when: { path: 'x', present: true }, steps: [step('e', noop)] }], [sleep('f', 1), step('g', noop)]),
    waitForInput('w'),
  ];

  it('sequencesOf gives the branches, the map\'s steps, the cases then the fallback, and nothing for a leaf', () => {
    expect(sequencesOf(tree[1]!).map((sequence) => sequence.map((entry) => entry.name))).toEqual([['b', 'm'], ['d']]);
    expect(sequencesOf(allSteps(tree).find((entry) => entry.name === 'm')!).map((sequence) => sequence.map((entry) => entry.name))).toEqual([['c']]);
    expect(sequencesOf(tree[2]!).map((sequence) => sequence.map((entry) => entry.name))).toEqual([['e'], ['f', 'g']]);
    expect(sequencesOf(tree[0]!)).toEqual([]);
    expect(sequencesOf(choice('ch', [{ when: { path: 'x', present: true }, steps: [step('e', noop)] }]))).toHaveLength(1);
  });

  it('allSteps lists every step depth first in definition order', () => {
    expect(allSteps(tree).map((entry) => entry.name)).toEqual(['a', 'p', 'b', 'm', 'c', 'd', 'ch', 'e', 'f', 'g', 'w']);
  });

  it('lambdaStepsOf lists the Lambda steps only, nested ones included', () => {
    expect(lambdaStepsOf({ steps: tree }).map((entry) => entry.name)).toEqual(['a', 'b', 'c', 'e', 'g']);
  });

  it('checkExecutionTimeout weighs nested steps too, naming the longest', () => {
    const steps = [step('a', noop, { timeoutSeconds: 60 }), parallel('p', [[step('slow', noop, { timeoutSeconds: 900 })]])];

    expect(() => checkExecutionTimeout({ id: 't', steps, timeoutSeconds: 899 })).toThrow('Task t: timeoutSeconds (899) is shorter than step "slow" (900)');
    expect(() => checkExecutionTimeout({ id: 't', steps, timeoutSeconds: 900 })).not.toThrow();
  });

  it('checkExecutionTimeout counts a child task\'s own timeout', () => {
    const steps = [map('m', {}, [runTask('child', 'other-task')])];

    expect(() => checkExecutionTimeout({ id: 't', steps, timeoutSeconds: 3600 })).toThrow('Task t: timeoutSeconds (3600) is shorter than step "child" (86400)');
  });
});

describe('defineTask with nested steps', () => {
  /** `depth` parallel, map and choice steps inside one another, a Lambda step innermost. */
  function nest(depth: number): Step {
    let inner: Step = step('leaf', noop);
    for (let level = depth; level >= 1; level--) {
      const name = `level-${level}`;
      if (level % 3 === 1) inner = parallel(name, [[inner]]);
      else if (level % 3 === 2) inner = map(name, {}, [inner]);
      else inner = choice(name, [{ when: { path: 'x', present: true }, steps: [inner] }]);
    }
    return inner;
  }

  it('accepts every kind of step nested, and keeps the definition as given', () => {
    const steps: Step[] = [
      map('each', { items: 'docs' }, [step('summarize', noop), sleep('pause', 1), invoke('lookup', 'fn')]),
      parallel('both', [[step('left', noop)], [runTask('child', 'other-task', { timeoutSeconds: 60 })]]),
      choice('route', [{ when: { path: 'n', greaterThan: 1 }, steps: [step('big', noop)] }], [step('small', noop)]),
      step('done', noop),
    ];

    expect(defineTask(definition({ steps })).steps).toBe(steps);
  });

  it(`accepts steps nested ${MAX_NESTING} deep and throws for one more, naming the step too deep`, () => {
    expect(MAX_NESTING).toBe(4);
    expect(() => defineTask(definition({ steps: [nest(4)] }))).not.toThrow();
    expect(() => defineTask(definition({ steps: [nest(5)] }))).toThrow('Task sample-task: "level-5" nests parallel, map and choice steps more than 4 deep');
  });

  it.each<[string, Step[]]>([
    ['a nested step and a top-level one', [step('same', noop), parallel('p', [[step('same', noop)]])]],
    ['two branches', [parallel('p', [[step('same', noop)], [step('same', noop)]])]],
    ['a case and the fallback', [choice('c', [{ when: { path: 'x', present: true }, steps: [step('same', noop)] }], [step('same', noop)])]],
    ['a container and a step inside it', [map('same', {}, [step('same', noop)])]],
  ])('throws for a step name used twice across %s', (_case, steps) => {
    expect(() => defineTask(definition({ steps }))).toThrow('Task sample-task: step name "same" is used twice');
  });

  it('checks the names of nested steps', () => {
    expect(() => defineTask(definition({ steps: [map('m', {}, [step('Bad_Name', noop)])] }))).toThrow('Task sample-task: step name must be kebab-case: "Bad_Name"');
  });

  it.each<[string, Step, string]>([
    ['a parallel branch', parallel('p', [[step('a', noop)], []]), 'parallel "p" (branch 1) has no steps'],
    ['a map', map('m', {}, []), 'map "m" (steps) has no steps'],
    ['a case', choice('c', [{ when: { path: 'x', present: true }, steps: [] }]), 'choice "c" (case 0) has no steps'],
    ['a fallback', choice('c', [{ when: { path: 'x', present: true }, steps: [step('a', noop)] }], []), 'choice "c" (otherwise) has no steps'],
  ])('throws for %s without steps, saying where', (_case, entry, where) => {
    expect(() => defineTask(definition({ steps: [entry] }))).toThrow(`Task sample-task: ${where}`);
  });

  it('throws for a wait inside a parallel, map or choice: only the top level waits', () => {
    for (const entry of [
      parallel('p', [[waitForInput('gate'), step('a', noop)]]),
      map('m', {}, [step('a', noop), waitForInput('gate')]),
      choice('c', [{ when: { path: 'x', present: true }, steps: [waitForInput('gate')] }]),
    ]) {
      expect(() => defineTask(definition({ steps: [entry] }))).toThrow(
        'Task sample-task: wait "gate" must be a top-level step (a resume addresses the execution\'s one pending wait)',
      );
    }
  });

  it('throws for a sleep that ends the task or a branch, and accepts one before a step', () => {
    expect(() => defineTask(definition({ steps: [step('a', noop), sleep('nap', 5)] }))).toThrow(
      'Task sample-task: sleep "nap" ends the task; a sleep must come before a step (at the end it only delays the end)',
    );
    expect(() => defineTask(definition({ steps: [parallel('p', [[step('a', noop)], [sleep('nap', 5)]])] }))).toThrow(
      'Task sample-task: sleep "nap" ends parallel "p" (branch 1)',
    );
    expect(() => defineTask(definition({ steps: [sleep('nap', 5), step('a', noop)] }))).not.toThrow();
    expect(() => defineTask(definition({ steps: [map('m', {}, [sleep('nap', { path: 'n' }), step('a', noop)])] }))).not.toThrow();
  });

  it('weighs nested steps against the task\'s timeout', () => {
    const steps = [map('m', {}, [step('slow', noop, { timeoutSeconds: 600 })])];

    expect(() => defineTask(definition({ steps, timeoutSeconds: 300 }))).toThrow('Task sample-task: timeoutSeconds (300) is shorter than step "slow" (600)');
  });
});

describe('state names of a task', () => {
  it('refuses two steps whose states would share a name, naming both', () => {
    expect(() => defineTask(definition({ steps: [step('a-1b', noop), step('a1b', noop)] }))).toThrow('steps "a-1b" and "a1b" would both have a state named A1b');
    expect(() => defineTask(definition({ steps: [invoke('score', 'scorer'), step('score-record', noop)] }))).toThrow(
      'steps "score" and "score-record" would both have a state named ScoreRecord',
    );
  });
});
