import { CallbackStore } from '../repository/callback-store.js';
import { CreateStore } from '../repository/create-store.js';
import { FamilyStore } from '../repository/family-store.js';
import { RuntimeStore } from '../repository/runtime-store.js';
import { WaitStore } from '../repository/wait-store.js';
import { WatchStore } from '../repository/watch-store.js';
import { documentClient } from './dynamodb-client.js';
import { repositoryOptions } from './repository-options.js';

// Factories rather than instances: a module-level instance would be bundled into every function
// that imports this module, whichever store it uses.

/** The write core plus creating executions: the create function. */
export const createStore = (): CreateStore => new CreateStore(documentClient, repositoryOptions);

/** The write core (read one, change status) plus the lookup of resume links: the control function. */
export const callbackStore = (): CallbackStore => new CallbackStore(documentClient, repositoryOptions);

/**
 * The runtime store plus child executions (create a child, parent tokens, children, follow-ups): the
 * child-start and status-change functions.
 */
export const familyStore = (): FamilyStore => new FamilyStore(documentClient, repositoryOptions);

/** The write core plus progress, wait tokens and recorded step outputs: the step functions. */
export const runtimeStore = (): RuntimeStore => new RuntimeStore(documentClient, repositoryOptions);

/** The runtime store plus the resume links a wait writes: the wait function. */
export const waitStore = (): WaitStore => new WaitStore(documentClient, repositoryOptions);

/** The record and the rows after a position, read consistently: the events function. */
export const watchStore = (): WatchStore => new WatchStore(documentClient, repositoryOptions);
