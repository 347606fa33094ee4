import { mkdirSync, mkdtempSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * A fresh directory inside the checkout, as a user's tasks file would be (the package's own
 * `async-executions/tasks` resolves there), under `.tmp/`: ignored by git, and outside the folders
 * tsc and the lint read while other test files run.
 */
export function checkoutTempDir(prefix: string): string {
  const parent = join(ROOT, '.tmp');
  mkdirSync(parent, { recursive: true });
  return mkdtempSync(join(parent, prefix));
}
