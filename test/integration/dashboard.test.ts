import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, apiKey, baseUrl, type Execution } from './client.js';

/** Debian's `chromium` package (`.ci/run` installs it when missing); playwright-core downloads no browser. */
const CHROMIUM = '/usr/bin/chromium';
/** With WRITE_SCREENSHOTS=1 each page is saved as docs/dashboard-<page>.png (the README shows them). */
const SCREENSHOTS = process.env.WRITE_SCREENSHOTS === '1';
const DOCS = resolve(import.meta.dirname, '../../docs');

let browser: Browser;
let page: Page;

/** Saves the page (the first screenful only when `fullPage` is false: the tasks page is long). */
async function screenshot(name: string, fullPage = true): Promise<void> {
  if (SCREENSHOTS) await page.screenshot({ path: `${DOCS}/dashboard-${name}.png`, fullPage });
}

/** The id of the execution the page shows (its hash is `#/executions/<id>`). */
async function shownExecution(): Promise<string> {
  await page.waitForURL(/#\/executions\/[^/?]+$/);
  return decodeURIComponent(new URL(page.url()).hash.split('/').pop()!);
}

async function statusShown(status: string): Promise<void> {
  await page.locator(`[data-status="${status}"]`).waitFor({ timeout: 20_000 });
}

/** Starts `taskId` from its form on the tasks page after `fill` sets the fields; returns the new execution's id. */
async function startFromForm(taskId: string, fill: (form: Locator) => Promise<unknown> = async () => undefined): Promise<string> {
  await page.getByRole('link', { name: 'Tasks', exact: true }).click();
  const section = page.getByRole('region', { name: taskId, exact: true });
  await fill(section);
  await section.getByRole('button', { name: `Start ${taskId}` }).click();
  return shownExecution();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  // Everything the page loads comes from the local stack: a request elsewhere (a CDN) fails the test.
  page.on('request', (request) => {
    if (!request.url().startsWith(baseUrl()) && !request.url().startsWith('data:')) throw new Error(`The dashboard requested ${request.url()}`);
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe('web dashboard in Chromium', () => {
  it('asks for the API key once per session, keeps it in sessionStorage and never in the URL', async () => {
    await page.goto(`${baseUrl()}/dashboard`);
    await page.getByLabel('API key').fill(apiKey());
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();

    await page.reload();
    await page.getByRole('heading', { name: 'Executions' }).waitFor();
    expect(await page.getByLabel('API key').count()).toBe(0);
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(apiKey());
    expect(page.url()).not.toContain(apiKey());
  });

  it('starts an execution from the form generated from the input schema and shows it finish', async () => {
    const id = await startFromForm('test-noop', (form) => form.getByLabel('n *').fill('7'));
    await statusShown('succeeded');

    const { body } = await api<Execution>('GET', `/executions/${id}`);
    expect(body).toMatchObject({ task_id: 'test-noop', status: 'succeeded', input: { n: 7 }, output: { n: 7 } });
    expect(await page.getByRole('progressbar').getAttribute('value')).toBe('100');
    expect(await page.locator('ol.timeline li').count()).toBe(body.transition_count);
    await screenshot('execution');
  });

  it('resumes a waiting execution from the form generated from the wait step\'s schema', async () => {
    // The example input fills the start form; the wait's schema ({ approved, comment? }) the resume form.
    const id = await startFromForm('sample-approval');
    await statusShown('awaiting_input');
    await page.getByLabel('approved *').check();
    await page.getByLabel('comment').fill('ship it');
    await screenshot('resume');
    await page.getByRole('button', { name: 'Resume' }).click();
    await statusShown('succeeded');

    const { body } = await api<Execution>('GET', `/executions/${id}`);
    expect(body.output).toMatchObject({ decision: 'approved', comment: 'ship it' });
  });

  it('cancels a running execution with a reason', async () => {
    const id = await startFromForm('test-slow', (form) => form.getByLabel('ms *').fill('30000'));
    await statusShown('running');
    await page.getByLabel('Reason').fill('not needed');
    await page.getByRole('button', { name: 'Cancel execution' }).click();
    await statusShown('cancelled');

    const { body } = await api<Execution>('GET', `/executions/${id}`);
    expect(body).toMatchObject({ status: 'cancelled', cancel_reason: 'not needed' });
    await page.getByText('Cancel reason: not needed').waitFor();
  });

  it('lists executions filtered by task and status', async () => {
    await page.getByRole('link', { name: 'Executions', exact: true }).click();
    await page.getByLabel('Task').selectOption('test-slow');
    await page.getByLabel('Status').selectOption('cancelled');
    await page.waitForURL(/task_id=test-slow/);
    const rows = page.locator('tbody tr');
    // The list is drawn again when the filtered page arrives: wait for those rows, not the previous ones.
    await expect
      .poll(async () => {
        const cells = await rows.evaluateAll((trs) => trs.map((tr) => `${tr.children[1]?.textContent} ${tr.children[2]?.textContent}`));
        return cells.length > 0 && cells.every((cell) => cell === 'test-slow cancelled');
      }, { timeout: 10_000 })
      .toBe(true);
    await page.getByLabel('Task').selectOption('');
    await page.getByLabel('Status').selectOption('');
    await page.locator('tbody tr').nth(2).waitFor();
    await screenshot('executions');
  });

  it('shows every task with a start form', async () => {
    await page.getByRole('link', { name: 'Tasks', exact: true }).click();
    const { body } = await api<{ items: Array<{ id: string }> }>('GET', '/tasks');
    for (const task of body.items) await page.getByRole('button', { name: `Start ${task.id}`, exact: true }).waitFor();
    await screenshot('tasks', false);
  });
});
