import { ExecutionsRepository } from '../repository/executions-repository.js';
import { documentClient } from './dynamodb-client.js';
import { intEnv, requireEnv } from './env.js';

/**
 * The repository every execution function shares, built once at module load from `TABLE_NAME`,
 * `CURSOR_SECRET` and `RETENTION_DAYS` (a missing one fails the cold start, naming it).
 */
export const repository = new ExecutionsRepository(documentClient, {
  tableName: requireEnv('TABLE_NAME'),
  cursorSecret: requireEnv('CURSOR_SECRET'),
  retentionDays: intEnv('RETENTION_DAYS', 90),
});
