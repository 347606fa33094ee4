import { ExecutionsRepository } from '../repository/executions-repository.js';
import { documentClient } from './dynamodb-client.js';
import { repositoryOptions } from './repository-options.js';

/** The whole repository (lists, transitions, reconciler queries), for the functions that read. */
export const repository = new ExecutionsRepository(documentClient, repositoryOptions);
