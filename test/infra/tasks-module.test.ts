import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { chooseTasksModule, DEFAULT_TASKS_MODULE, loadTasksModule, PROJECT_DIR } from '../../infra/tasks-module.js';
import { ENTRY_METADATA_KEY, TASK_CATALOGUE_METADATA_KEY, TASKS_MODULE_METADATA_KEY } from '../../infra/constructs/service-function.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { tasks as exampleTasks } from '../../examples/tasks/index.js';
import { resourcesOf, testApp } from './support.js';

const FIXTURE = join(PROJECT_DIR, 'test/infra/fixtures/one-task.ts');

function synth(stack: ExecutionsStack) {
  const template = Template.fromStack(stack);
  const functions = Object.values(template.findResources('AWS::Lambda::Function') as Record<string, { Metadata?: Record<string, unknown>; Properties: { Environment?: { Variables?: Record<string, unknown> } } }>);
  const machines = Object.values(resourcesOf(template, 'AWS::StepFunctions::StateMachine')).map((machine) => String(machine.Properties?.StateMachineName));
  return { functions, machines };
}

/** The functions that run task code: they bundle the tasks module; every other function bundles none of it. */
const RUNS_TASKS = ['runtime/step-handler.ts'];

describe('the tasks module of a stack', () => {
  it('with a chosen module (as -c tasks= loads it): one state machine per task of that module, and the functions that run steps bundle it', async () => {
    const { functions, machines } = synth(new ExecutionsStack(testApp(), 'Chosen', { tasksModule: await loadTasksModule(FIXTURE) }));
    expect(machines).toEqual(['Chosen-fixture-only']);
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      const entry = String(fn.Metadata?.[ENTRY_METADATA_KEY]);
      expect(fn.Metadata?.[TASKS_MODULE_METADATA_KEY], entry).toBe(RUNS_TASKS.includes(entry) ? 'test/infra/fixtures/one-task.ts' : undefined);
      // The API functions that need the tasks get their catalogue instead, a file beside the template.
      if (fn.Metadata?.[TASK_CATALOGUE_METADATA_KEY] !== undefined) expect(fn.Metadata[TASK_CATALOGUE_METADATA_KEY]).toMatch(/^task-catalogue\.[0-9a-f]{16}\.json$/);
    }
    const deployed = functions.map((fn) => fn.Properties.Environment?.Variables?.TASK_IDS).filter((ids) => ids !== undefined);
    expect(new Set(deployed)).toEqual(new Set(['fixture-only']));
  });

  it('the default module: the example tasks, bundled from examples/tasks/index.ts', async () => {
    const { functions, machines } = synth(new ExecutionsStack(testApp(), 'Default', { tasksModule: await loadTasksModule(chooseTasksModule(undefined, {})) }));
    expect(machines.sort()).toEqual(exampleTasks.map((task) => `Default-${task.id}`).sort());
    for (const fn of functions.filter((candidate) => RUNS_TASKS.includes(String(candidate.Metadata?.[ENTRY_METADATA_KEY])))) {
      expect(fn.Metadata?.[TASKS_MODULE_METADATA_KEY]).toBe('examples/tasks/index.ts');
    }
    expect(DEFAULT_TASKS_MODULE).toBe(join(PROJECT_DIR, 'examples/tasks/index.ts'));
  });
});
