import type { DynamoDBStreamEvent } from 'aws-lambda';
import { TagIndexStore } from '../repository/tag-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { createLogger, logged } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { indexTagChanges } from './tag-index.js';

const deps = { store: new TagIndexStore(documentClient, repositoryOptions), logger: createLogger('tag-index') };

/** Lambda entry of the table's stream (records created with tags and records removed with tags, by the mapping's filters). */
export const handler = logged(
  () => ({}),
  async (event: DynamoDBStreamEvent): Promise<void> => {
    await indexTagChanges(deps, event.Records);
  },
);
