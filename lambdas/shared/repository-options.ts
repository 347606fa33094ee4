import type { RepositoryOptions } from '../repository/execution-store.js';
import { intEnv, requireEnv } from './env.js';

/**
 * Repository settings read once at module load from `TABLE_NAME`, `CURSOR_SECRET` and
 * `RETENTION_DAYS` (a missing one fails the cold start, naming it). Each function builds the
 * narrowest store it needs from these, so its bundle carries no code it never runs.
 */
export const repositoryOptions: RepositoryOptions = {
  tableName: requireEnv('TABLE_NAME'),
  cursorSecret: requireEnv('CURSOR_SECRET'),
  retentionDays: intEnv('RETENTION_DAYS', 90),
};
