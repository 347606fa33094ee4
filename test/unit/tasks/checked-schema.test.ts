import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { buildTaskCatalogue, jsonSchema, toTaskView } from '../../../lambdas/tasks/catalogue.js';
import { checkedSchemaOf } from '../../../lambdas/tasks/checked-schema.js';
import { defineTask, step, waitForInput } from '../../../lambdas/tasks/dsl.js';
import { sampleApproval, samplePipeline } from '../../support/sample-tasks.js';

/** The catalogue's form of `schema`, as `buildTaskCatalogue` computes it for a task's input. */
const checked = (schema: z.ZodMiniType) => checkedSchemaOf(schema, jsonSchema(schema, ['an example']), 'Task t: its input');

describe('checkedSchemaOf', () => {
  it('checks the very JSON Schema the catalogue publishes, without its examples', () => {
    const { schema } = checked(samplePipeline.input);
    const { examples, ...published } = toTaskView(samplePipeline).input_schema as Record<string, unknown>;

    expect(examples).toBeDefined();
    expect(schema).toEqual(published);
  });

  it("keeps the author's words for a rule at the pointer of its keyword, and a schema's words at its node", () => {
    const { messages } = checked(
      z.strictObject({
        url: z.string().check(z.maxLength(20), z.regex(/^https:/, 'must be an https URL')),
        title: z.string('must be a title'),
        tags: z.optional(z.array(z.string()).check(z.maxLength(3, 'at most three tags'))),
      }),
    );

    expect(messages).toEqual({
      keywords: { '/properties/url/pattern': 'must be an https URL', '/properties/tags/maxItems': 'at most three tags' },
      nodes: { '/properties/title': 'must be a title' },
    });
  });

  it('has no words to keep for a schema whose rules carry none', () => {
    expect(checked(z.strictObject({ n: z.int() })).messages).toBeUndefined();
  });

  it.each([
    ['a refinement', z.string().check(z.refine((text) => text === 'ok', 'must say ok')), /the root has a refinement/],
    ['a default', z.strictObject({ lang: z._default(z.string(), 'en') }), /\/properties\/lang has a default/],
    ['a transform', z.pipe(z.string(), z.transform((text) => text.length)), /is a pipe/],
    ['a rewrite', z.string().check(z.trim()), /rewrites its value/],
    ['a coercion', z.coerce.number(), /coerces its value/],
    ['a case-insensitive pattern', z.string().check(z.regex(/^inv-\d+$/i)), /flags JSON Schema patterns cannot carry/],
    ['an http-only URL', z.httpUrl(), /restricts URL protocols or hostnames/],
    ['a format without a pattern', z.jwt(), /the jwt format/],
    ['a date', z.strictObject({ at: z.date() }), /\/properties\/at: Date cannot be represented/],
  ])('refuses %s, which the JSON Schema would not enforce, naming the task, where and why', (_what, schema, why) => {
    expect(() => checked(schema)).toThrow(/^Task t: its input cannot be checked from its JSON Schema/);
    expect(() => checked(schema)).toThrow(why);
  });

  it('falls back to the published schema, with the API\'s words, should the words ever change its shape', () => {
    const schema = z.strictObject({ a: z.string().check(z.regex(/x/, 'has an x')) });
    const served = { ...(jsonSchema(schema) as Record<string, unknown>), title: 'not what zod generates' };

    expect(checkedSchemaOf(schema, served, 't')).toEqual({ schema: served });
  });
});

describe('buildTaskCatalogue', () => {
  it('describes each task by its view, its top-level step names and the schemas of its input and of each wait that has one', () => {
    const [pipeline, approval] = buildTaskCatalogue([samplePipeline, sampleApproval]).tasks;

    expect(pipeline).toMatchObject({ id: 'sample-pipeline', view: toTaskView(samplePipeline), steps: [{ name: 'extract' }, { name: 'analyze' }, { name: 'summarize' }], resume: {} });
    expect(approval?.steps.map((entry) => entry.name)).toEqual(['draft', 'review', 'finalize']);
    expect(Object.keys(approval?.resume ?? {})).toEqual(['1']);
    expect(approval?.resume['1']?.schema).toEqual(approval?.view.steps[1]?.input_schema);
  });

  it('is plain JSON: it survives a round trip through JSON text unchanged', () => {
    const catalogue = buildTaskCatalogue([samplePipeline, sampleApproval]);

    expect(JSON.parse(JSON.stringify(catalogue))).toEqual(catalogue);
  });

  it('refuses a task whose resume input has a rule its JSON Schema cannot carry, naming the task and the step', () => {
    const task = defineTask({
      id: 'refined-wait',
      description: 'x',
      kind: 'test',
      input: z.strictObject({}),
      examples: [{}],
      steps: [waitForInput('gate', { input: z.strictObject({ ok: z.boolean().check(z.refine((ok) => ok)) }) }), step('after', () => null)],
    });

    expect(() => buildTaskCatalogue([task])).toThrow(/^Task refined-wait: the resume input of step gate cannot be checked/);
  });
});
