import type { JsonSchema } from '../domain/json-schema.js';
import type { TaskView } from './catalogue.js';

// What the API functions know of the deployed tasks: plain JSON, computed from the tasks module
// at synth (`buildTaskCatalogue`) and bundled as `#task-catalogue`, so no API bundle carries task
// code, zod or a step's dependencies. This module holds only types and pure helpers: importing it
// costs a bundle nothing.

/**
 * The task author's words for the rules of a schema, by JSON pointer (RFC 6901) into it:
 * `keywords` by the pointer of a keyword (`/properties/url/pattern`), `nodes` by the pointer of
 * a subschema ("" the root), for any rule of it that has no words of its own.
 */
export interface SchemaMessages {
  readonly keywords?: Readonly<Record<string, string>>;
  readonly nodes?: Readonly<Record<string, string>>;
}

/** A JSON Schema the API checks values against, with the author's words for its rules. */
export interface CheckedSchema {
  readonly schema: JsonSchema;
  readonly messages?: SchemaMessages;
}

/** What keeping an execution's record takes of its task: its id and top-level steps, in order. */
export interface TaskOutline {
  readonly id: string;
  readonly steps: readonly { readonly name: string }[];
}

/** One deployed task as the API functions know it. */
export interface CatalogueTask extends TaskOutline {
  /** What `GET /tasks` and `GET /tasks/{id}` serve: `toTaskView` of the task. */
  readonly view: TaskView;
  /** What an execution input must satisfy (the view's `input_schema`, without its examples). */
  readonly input: CheckedSchema;
  /** What a resume input must satisfy, by the index of the wait step (a wait without a schema takes any input). */
  readonly resume: Readonly<Record<string, CheckedSchema>>;
}

/** Every task a stack deploys, as `#task-catalogue` default-exports it. */
export interface TaskCatalogue {
  readonly tasks: readonly CatalogueTask[];
}

/** The step at `index` of `task`, as a reference, or undefined past the last step. */
export function stepAt(task: TaskOutline, index: number): { index: number; name: string } | undefined {
  const step = task.steps[index];
  return step ? { index, name: step.name } : undefined;
}
