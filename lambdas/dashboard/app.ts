/// <reference lib="dom" />
/**
 * The web dashboard, in the browser: executions (filtered, polled), an execution (progress,
 * history, input and output, cancel, resume from the wait's schema) and the tasks (a start form
 * from each input schema). Bundled by esbuild into the page `GET /dashboard` serves; it calls the
 * same API with the key the user types once per browser session (sessionStorage, never a URL).
 */
import { planForm, readForm, type FormPlan, type FormValues } from './schema-form.js';

const KEY_ITEM = 'async-executions-api-key';
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
const STATUSES = ['queued', 'running', 'awaiting_input', 'succeeded', 'failed', 'cancelled'];
/** The API's root: where this page is served from, minus `dashboard`. */
const API = location.pathname.replace(/dashboard\/?$/, '');

interface Execution {
  readonly id: string;
  readonly task_id: string;
  readonly status: string;
  readonly input: unknown;
  readonly output: unknown;
  readonly error: string | null;
  readonly cancel_reason: string | null;
  readonly progress: { readonly percentage: number; readonly message: string | null };
  readonly transition_count: number;
  readonly console_url: string;
  readonly created_at: string;
}

interface Transition {
  readonly seq: number;
  readonly type: string;
  readonly from: string | null;
  readonly to: string;
  readonly created_at: string;
  readonly scope: string | null;
  readonly step_label?: string | null;
  readonly current: { readonly step: number };
}

interface StepView {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  readonly input_schema?: unknown;
}

interface TaskView {
  readonly id: string;
  readonly description: string;
  readonly input_schema: unknown;
  readonly steps: readonly StepView[];
}

type Child = Node | string | null | undefined | false;

/** An element with attributes (`on…` functions become listeners) and children. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, unknown> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value as EventListener);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children) if (child) element.append(child);
  return element;
}

const main = document.getElementById('main')!;
const alertBox = document.getElementById('alert')!;
let timer: number | undefined;
/** Bumped on every navigation: a poll of a page that was left stops. */
let generation = 0;

function say(text: string): void {
  alertBox.textContent = text;
}

class Refused extends Error {}

/** A call to the API with the session's key; a problem's words become the thrown message. */
async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const key = sessionStorage.getItem(KEY_ITEM);
  if (!key) throw new Refused('No API key');
  const response = await fetch(`${API}${path.replace(/^\//, '')}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const parsed = (text ? JSON.parse(text) : null) as T & { title?: string; detail?: string; errors?: Array<{ path: string; message: string }> };
  if (response.status === 401) {
    sessionStorage.removeItem(KEY_ITEM);
    throw new Refused('The API refused the key: enter it again.');
  }
  if (!response.ok) {
    const errors = parsed?.errors?.map((error) => `${error.path || 'body'} ${error.message}`).join('; ');
    throw new Error(`${response.status} ${parsed?.detail ?? parsed?.title ?? ''}${errors ? ` (${errors})` : ''}`);
  }
  return parsed;
}

function fail(error: unknown): void {
  if (error instanceof Refused) {
    say(error.message === 'No API key' ? '' : error.message);
    keyPrompt();
    return;
  }
  say(error instanceof Error ? error.message : String(error));
}

/** The once-per-session key prompt. */
function keyPrompt(): void {
  generation++;
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true });
  main.replaceChildren(
    h(
      'form',
      {
        onsubmit: (event: Event) => {
          event.preventDefault();
          sessionStorage.setItem(KEY_ITEM, input.value.trim());
          say('');
          route();
        },
      },
      h('h1', {}, 'API key'),
      h('p', {}, 'Kept in this browser tab only (session storage) and sent as the Authorization header.'),
      h('label', { for: 'api-key' }, 'API key'),
      input,
      h('button', { type: 'submit' }, 'Use key'),
    ),
  );
  input.focus();
}

const json = (value: unknown) => h('pre', {}, JSON.stringify(value, null, 2));
const link = (id: string) => h('a', { href: `#/executions/${encodeURIComponent(id)}` }, id);

/** An enum option as shown: a string without its JSON quotes, any other value as its JSON. */
function optionLabel(option: string): string {
  const value: unknown = JSON.parse(option);
  return typeof value === 'string' ? value : option;
}

/** Controls of a planned form, and a reader of their values. */
function formControls(plan: FormPlan, prefix: string): { controls: HTMLElement[]; values: () => FormValues } {
  if (plan.kind === 'raw') {
    const area = h('textarea', { id: `${prefix}-json`, rows: 6 });
    area.value = plan.initial;
    return { controls: [h('label', { for: area.id }, 'Input (JSON)'), area], values: () => ({ json: area.value }) };
  }
  const readers: Array<() => [string, string | boolean]> = [];
  const controls = plan.fields.map((field) => {
    const id = `${prefix}-${field.name}`;
    let control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
    if (field.kind === 'boolean') {
      const box = h('input', { id, type: 'checkbox' });
      box.checked = field.initial === true;
      readers.push(() => [field.name, box.checked]);
      control = box;
    } else {
      if (field.kind === 'enum') {
        control = h('select', { id }, h('option', { value: '' }, field.required ? 'Choose…' : '(none)'), ...(field.options ?? []).map((option) => h('option', { value: option }, optionLabel(option))));
      } else if (field.kind === 'string-list') {
        control = h('textarea', { id, rows: 3 });
      } else {
        control = h('input', { id, type: field.kind === 'string' ? 'text' : 'number', ...(field.kind === 'integer' ? { step: 1 } : { step: 'any' }) });
      }
      control.value = String(field.initial);
      const read = control;
      readers.push(() => [field.name, read.value]);
    }
    const hint = field.kind === 'string-list' ? ' (one per line)' : '';
    return h(
      'div',
      { class: 'field' },
      h('label', { for: id }, `${field.name}${field.required ? ' *' : ''}${hint}`),
      control,
      field.description ? h('small', {}, field.description) : null,
    );
  });
  return { controls, values: () => Object.fromEntries(readers.map((read) => read())) };
}

/** A form built from `schema` that sends what it reads to `submit`. */
function schemaForm(schema: unknown, prefix: string, button: string, submit: (value: unknown) => Promise<void>): HTMLFormElement {
  const plan = planForm(schema);
  const { controls, values } = formControls(plan, prefix);
  const form = h(
    'form',
    {
      onsubmit: (event: Event) => {
        event.preventDefault();
        const result = readForm(plan, values());
        if ('errors' in result) {
          say(result.errors.map((error) => `${error.name} ${error.message}`).join('; '));
          return;
        }
        say('');
        submit(result.value).catch(fail);
      },
    },
    ...controls,
    h('button', { type: 'submit' }, button),
  );
  return form;
}

function poll(every: number, run: () => Promise<boolean | void>): void {
  const mine = generation;
  const tick = () => {
    if (mine !== generation) return;
    run()
      .then((stop) => {
        if (stop !== true && mine === generation) timer = window.setTimeout(tick, every);
      })
      .catch(fail);
  };
  tick();
}

async function tasks(): Promise<TaskView[]> {
  return (await call<{ items: TaskView[] }>('GET', '/tasks')).items;
}

/** The executions, filtered by status and task, polled every 2 s. */
async function executionsPage(params: URLSearchParams): Promise<void> {
  const taskIds = (await tasks()).map((task) => task.id);
  const status = h('select', { id: 'filter-status' }, h('option', { value: '' }, 'any'), ...STATUSES.map((name) => h('option', { value: name }, name)));
  status.value = params.get('status') ?? '';
  const task = h('select', { id: 'filter-task' }, h('option', { value: '' }, 'any'), ...taskIds.map((id) => h('option', { value: id }, id)));
  task.value = params.get('task_id') ?? '';
  const filter = () => {
    const query = new URLSearchParams();
    if (status.value) query.set('status', status.value);
    if (task.value) query.set('task_id', task.value);
    location.hash = `#/executions?${query}`;
  };
  status.addEventListener('change', filter);
  task.addEventListener('change', filter);
  const body = h('tbody');
  main.replaceChildren(
    h('h1', {}, 'Executions'),
    h('div', { class: 'filters' }, h('label', { for: 'filter-status' }, 'Status'), status, h('label', { for: 'filter-task' }, 'Task'), task),
    h('table', {}, h('thead', {}, h('tr', {}, ...['Execution', 'Task', 'Status', 'Progress', 'Created'].map((name) => h('th', { scope: 'col' }, name)))), body),
  );
  const query = new URLSearchParams({ limit: '50' });
  if (status.value) query.set('status', status.value);
  if (task.value) query.set('task_id', task.value);
  poll(2000, async () => {
    const { items } = await call<{ items: Execution[] }>('GET', `/executions?${query}`);
    body.replaceChildren(
      ...items.map((execution) =>
        h(
          'tr',
          {},
          h('td', {}, link(execution.id)),
          h('td', {}, execution.task_id),
          h('td', { class: `status ${execution.status}` }, execution.status),
          h('td', {}, `${Math.round(execution.progress.percentage)} %`),
          h('td', {}, new Date(execution.created_at).toLocaleString()),
        ),
      ),
    );
    if (items.length === 0) body.append(h('tr', {}, h('td', { colspan: 5 }, 'No executions.')));
  });
}

/** The resume schema of the wait `execution` is in: its step's `input_schema` in the task view (any JSON without one). */
async function resumeSchema(execution: Execution, history: readonly Transition[]): Promise<unknown> {
  const wait = [...history].reverse().find((row) => row.type === 'wait' && row.scope === null);
  const task = await call<TaskView>('GET', `/tasks/${encodeURIComponent(execution.task_id)}`);
  const step = task.steps.find((candidate) => candidate.index === wait?.current.step && candidate.kind === 'wait');
  return step?.input_schema ?? {};
}

/** One execution: summary, actions, input/output and history, polled every second until it ends. */
async function executionPage(id: string): Promise<void> {
  const path = `/executions/${encodeURIComponent(id)}`;
  const summary = h('section', { 'aria-label': 'Summary' });
  const actions = h('section', { 'aria-label': 'Actions' });
  const data = h('section', { 'aria-label': 'Input and output' });
  const timeline = h('ol', { class: 'timeline' });
  main.replaceChildren(h('h1', {}, `Execution ${id}`), summary, actions, data, h('h2', {}, 'Transitions'), timeline);
  let shownStatus = '';
  let shownCount = -1;
  poll(1000, async () => {
    const execution = await call<Execution>('GET', path);
    const percentage = Math.round(execution.progress.percentage);
    summary.replaceChildren(
      h('p', {}, 'Task ', h('a', { href: '#/tasks' }, execution.task_id), ' · status ', h('strong', { class: `status ${execution.status}`, 'data-status': execution.status }, execution.status)),
      h('label', { for: 'progress' }, `Progress ${percentage} %${execution.progress.message ? ` · ${execution.progress.message}` : ''}`),
      h('progress', { id: 'progress', max: 100, value: percentage }),
      h('p', {}, h('a', { href: execution.console_url, target: '_blank', rel: 'noopener' }, 'Open in the Step Functions console')),
      execution.cancel_reason ? h('p', {}, `Cancel reason: ${execution.cancel_reason}`) : '',
      execution.error ? h('p', { class: 'error' }, `Error: ${execution.error}`) : '',
    );
    data.replaceChildren(h('h2', {}, 'Input'), json(execution.input), h('h2', {}, 'Output'), json(execution.output));
    if (execution.transition_count !== shownCount) {
      shownCount = execution.transition_count;
      const { items } = await call<{ items: Transition[] }>('GET', `${path}/transitions?limit=100`);
      timeline.replaceChildren(
        ...items.map((row) =>
          h('li', {}, h('strong', {}, `${row.seq} ${row.type}`), ` ${row.from ?? '–'} → ${row.to}`, row.scope ? ` · ${row.scope}` : '', ` · ${new Date(row.created_at).toLocaleTimeString()}`),
        ),
      );
      // The actions change with the status only, so a reason or resume input being typed survives a poll.
      if (execution.status !== shownStatus) {
        shownStatus = execution.status;
        await renderActions(actions, execution, items, path);
      }
    }
    return ENDED.has(execution.status);
  });
}

async function renderActions(actions: HTMLElement, execution: Execution, history: readonly Transition[], path: string): Promise<void> {
  const children: HTMLElement[] = [];
  if (execution.status === 'awaiting_input') {
    const schema = await resumeSchema(execution, history);
    children.push(
      h('h2', {}, 'Resume'),
      schemaForm(schema, 'resume', 'Resume', async (input) => {
        await call('POST', `${path}/resume`, { input });
        say('Resumed.');
      }),
    );
  }
  if (!ENDED.has(execution.status)) {
    // As many characters as the API takes for a reason.
    const reason = h('input', { id: 'cancel-reason', type: 'text', maxlength: 2000 });
    children.push(
      h(
        'form',
        {
          onsubmit: (event: Event) => {
            event.preventDefault();
            call('POST', `${path}/cancel`, reason.value ? { reason: reason.value } : {})
              .then(() => say('Cancelled.'))
              .catch(fail);
          },
        },
        h('h2', {}, 'Cancel'),
        h('label', { for: 'cancel-reason' }, 'Reason'),
        reason,
        h('button', { type: 'submit' }, 'Cancel execution'),
      ),
    );
  }
  actions.replaceChildren(...children);
}

/** The task catalogue, each task with a start form from its input schema. */
async function tasksPage(): Promise<void> {
  const items = await tasks();
  main.replaceChildren(
    h('h1', {}, 'Tasks'),
    ...items.map((task) =>
      h(
        'section',
        { class: 'task', 'aria-labelledby': `task-${task.id}` },
        h('h2', { id: `task-${task.id}` }, task.id),
        h('p', {}, task.description),
        h('p', {}, `Steps: ${task.steps.map((step) => `${step.name} (${step.kind})`).join(' → ')}`),
        schemaForm(task.input_schema, `start-${task.id}`, `Start ${task.id}`, async (input) => {
          const execution = await call<Execution>('POST', `/tasks/${encodeURIComponent(task.id)}/executions`, { input });
          location.hash = `#/executions/${encodeURIComponent(execution.id)}`;
        }),
      ),
    ),
  );
}

function route(): void {
  generation++;
  clearTimeout(timer);
  // A message belongs to the page it was said on.
  say('');
  if (!sessionStorage.getItem(KEY_ITEM)) {
    keyPrompt();
    return;
  }
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  const detail = /^\/executions\/([^/]+)$/.exec(path);
  // In a promise: a malformed hash (`%E0`) must show its error, not stop the page.
  const page = Promise.resolve().then(() =>
    path === '/tasks' ? tasksPage() : detail ? executionPage(decodeURIComponent(detail[1]!)) : executionsPage(new URLSearchParams(query)),
  );
  page.catch(fail);
}

document.getElementById('forget')!.addEventListener('click', () => {
  sessionStorage.removeItem(KEY_ITEM);
  route();
});
window.addEventListener('hashchange', route);
route();
