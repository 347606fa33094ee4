import * as z from 'zod/mini';
import type { Step, TaskDefinition } from './dsl.js';

/** A step as `GET /tasks/{id}` shows it. */
export interface StepView {
  readonly index: number;
  readonly name: string;
  readonly kind: Step['kind'];
  readonly timeout_seconds: number;
  readonly retry?: unknown;
  readonly prompt?: string;
  readonly input_schema?: unknown;
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

function jsonSchema(schema: z.ZodMiniType, examples?: readonly unknown[]): unknown {
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
    steps: task.steps.map((step, index): StepView => {
      if (step.kind === 'wait') {
        return {
          index,
          name: step.name,
          kind: 'wait',
          timeout_seconds: step.timeoutSeconds,
          ...(step.prompt ? { prompt: step.prompt } : {}),
          ...(step.input ? { input_schema: jsonSchema(step.input) } : {}),
        };
      }
      return { index, name: step.name, kind: 'step', timeout_seconds: step.timeoutSeconds, retry: step.retry };
    }),
  };
}
