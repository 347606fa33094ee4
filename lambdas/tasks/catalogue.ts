import * as z from 'zod/mini';
import { checkedSchemaOf } from './checked-schema.js';
import type { Condition, Step, TaskDefinition } from './dsl.js';
import type { CatalogueTask, CheckedSchema, TaskCatalogue } from './task-catalogue.js';

/** A step as `GET /tasks/{id}` shows it; nested steps are indexed within their own sequence. */
export interface StepView {
  readonly index: number;
  readonly name: string;
  readonly kind: Step['kind'];
  readonly timeout_seconds?: number;
  readonly retry?: unknown;
  readonly prompt?: string;
  readonly input_schema?: unknown;
  /** `run-task`: the child task. */
  readonly task_id?: string;
  /** `run-task`: where the child's input comes from; `sleep`: where the seconds come from; `map`: where the items are. */
  readonly path?: string;
  /** `sleep`: fixed seconds. */
  readonly seconds?: number;
  /** `map`. */
  readonly max_concurrency?: number;
  readonly distributed?: boolean;
  /** `parallel`: the branches. */
  readonly branches?: readonly (readonly StepView[])[];
  /** `map`: the steps run per item. */
  readonly steps?: readonly StepView[];
  /** `choice`: the cases, in order, and the fallback. */
  readonly cases?: ReadonlyArray<{ readonly when: Condition; readonly steps: readonly StepView[] }>;
  readonly otherwise?: readonly StepView[];
}

/** A task as `GET /tasks` and `GET /tasks/{id}` show it. */
export interface TaskView {
  readonly id: string;
  readonly description: string;
  readonly kind: string;
  /** JSON Schema (draft 2020-12) of the execution input, with valid `examples`. */
  readonly input_schema: unknown;
  readonly steps: readonly StepView[];
}

/** The JSON Schema (draft 2020-12) the catalogue publishes for a zod schema, with `examples` when given. */
export function jsonSchema(schema: z.ZodMiniType, examples?: readonly unknown[]): unknown {
  const generated = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return examples ? { ...generated, examples } : generated;
}

/** The catalogue view of a task: JSON Schemas generated from its zod schemas. */
export function toTaskView(task: TaskDefinition): TaskView {
  return {
    id: task.id,
    description: task.description,
    kind: task.kind,
    input_schema: jsonSchema(task.input, task.examples),
    steps: viewsOf(task.steps),
  };
}

function viewsOf(steps: readonly Step[]): StepView[] {
  return steps.map((step, index) => viewOf(step, index));
}

function viewOf(step: Step, index: number): StepView {
  const base = { index, name: step.name, kind: step.kind };
  switch (step.kind) {
    case 'wait':
      return {
        ...base,
        timeout_seconds: step.timeoutSeconds,
        ...(step.prompt ? { prompt: step.prompt } : {}),
        ...(step.input ? { input_schema: jsonSchema(step.input) } : {}),
      };
    case 'step':
      return { ...base, timeout_seconds: step.timeoutSeconds, retry: step.retry };
    case 'invoke':
      // Not the target: a function ARN names the account and the function, which callers need not know.
      return { ...base, timeout_seconds: step.timeoutSeconds, retry: step.retry };
    case 'run-task':
      return { ...base, task_id: step.taskId, timeout_seconds: step.timeoutSeconds, ...(step.inputPath ? { path: step.inputPath } : {}) };
    case 'sleep':
      return { ...base, ...(step.seconds === undefined ? { path: step.secondsPath } : { seconds: step.seconds }) };
    case 'parallel':
      return { ...base, branches: step.branches.map(viewsOf) };
    case 'map':
      return {
        ...base,
        ...(step.items ? { path: step.items } : {}),
        max_concurrency: step.maxConcurrency,
        distributed: step.distributed,
        steps: viewsOf(step.steps),
      };
    case 'choice':
      return {
        ...base,
        cases: step.cases.map((entry) => ({ when: entry.when, steps: viewsOf(entry.steps) })),
        ...(step.otherwise ? { otherwise: viewsOf(step.otherwise) } : {}),
      };
  }
}

/**
 * The task catalogue of `tasks`: for each, its view (what `GET /tasks/{id}` serves), its top-level
 * step names, and the JSON Schemas (with their authors' words) its input and resume inputs are
 * checked against. Plain JSON: the stack writes it at synth for the API functions, which so learn
 * the tasks without bundling their code (docs/architecture.md).
 * @throws Error naming the task when one of its schemas has rules its JSON Schema cannot enforce.
 */
export function buildTaskCatalogue(tasks: readonly TaskDefinition[]): TaskCatalogue {
  return {
    tasks: tasks.map((task): CatalogueTask => {
      const view = toTaskView(task);
      const resume: Record<string, CheckedSchema> = {};
      task.steps.forEach((step, index) => {
        if (step.kind !== 'wait' || !step.input) return;
        const served = view.steps.find((candidate) => candidate.index === index && candidate.name === step.name)?.input_schema;
        resume[String(index)] = checkedSchemaOf(step.input, served, `Task ${task.id}: the resume input of step ${step.name}`);
      });
      return {
        id: task.id,
        steps: task.steps.map((step) => ({ name: step.name })),
        view,
        input: checkedSchemaOf(task.input, view.input_schema, `Task ${task.id}: its input`),
        resume,
      };
    }),
  };
}
