import { join, resolve } from 'node:path';

/** Where a running `npm start` records its endpoints, table and key, for the keys CLI. */
export const STATE_FILE = join(resolve(import.meta.dirname, '..'), '.local', 'stack.json');

/** What {@link STATE_FILE} holds. */
export interface LocalStackState {
  readonly url: string;
  readonly dynamodb: string;
  readonly sfn: string;
  readonly table: string;
  readonly apiKey: string;
}
