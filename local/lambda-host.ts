import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { registerHooks } from 'node:module';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import { isStreamingHandler, type LocalResponseStream } from './response-streaming.js';
import type { LocalFunction } from './template.js';

const LAMBDAS_DIR = fileURLToPath(new URL('../lambdas/', import.meta.url));

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** What the handler modules import of the deployed tasks, as the template's functions bundle it. */
export interface TaskImportPaths {
  /** The tasks module, `#tasks` of the functions that run steps. */
  readonly tasksModule: string;
  /** The task catalogue (JSON), `#task-catalogue` of the API functions. */
  readonly taskCatalogue: string;
  /**
   * The OpenAPI document the stack computed at synth (an ES module), `#openapi-document` of the
   * catalogue function; without it the package's default builds it from openapi.ts.
   */
  readonly openApiDocument?: string | undefined;
}

let resolved: TaskImportPaths | undefined;

/**
 * Resolves `#tasks` to the tasks module, `#task-catalogue` to the task catalogue and
 * `#openapi-document` to the OpenAPI document in this process, as esbuild's aliases do in the
 * bundles, so the handler modules run with the tasks (and serve the document) the template was
 * synthesized with. Modules are cached, so a process can serve only one of each:
 * others are refused.
 *
 * Every function sees the whole tasks module here, a step function included, where in AWS its
 * bundle holds only its own task (see docs/local.md). One module graph per function would need
 * every handler module loaded again per function (under a distinct URL), runtime and SDK included;
 * and seeing more is harmless: a step function finds its step by the task id and step name of its
 * payload, the very same definition object the generated module of its task re-exports.
 * @throws when this process already resolves them to other files.
 */
function resolveTaskImportsTo(paths: TaskImportPaths): void {
  if (resolved !== undefined) {
    const keys = ['tasksModule', 'taskCatalogue', 'openApiDocument'] as const;
    const differing = keys.find((key) => resolved![key] !== paths[key]);
    if (differing === undefined) return;
    throw new Error(`This process already runs the functions with ${resolved[differing] ?? 'no synthesized OpenAPI document'}; start another process for ${paths[differing] ?? 'none'}`);
  }
  resolved = paths;
  const tasksUrl = pathToFileURL(paths.tasksModule).href;
  const catalogueUrl = pathToFileURL(paths.taskCatalogue).href;
  const documentUrl = paths.openApiDocument ? pathToFileURL(paths.openApiDocument).href : undefined;
  registerHooks({
    resolve: (specifier, context, nextResolve) => {
      if (specifier === '#tasks') return { url: tasksUrl, shortCircuit: true };
      // A JSON module, imported without `with { type: 'json' }` (esbuild needs none): the hook says it.
      if (specifier === '#task-catalogue') return { url: catalogueUrl, format: 'json', importAttributes: { type: 'json' }, shortCircuit: true };
      if (specifier === '#openapi-document' && documentUrl) return { url: documentUrl, shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
}

/** Which function an asynchronous call belongs to (for measurements such as `npm run bench`). */
export interface Invocation {
  /** The function's entry module under `lambdas/`, e.g. `api/executions-read.ts`. */
  readonly entry: string;
  readonly requestId: string;
  /** The function's own environment variables: what `process.env` shows its code over the process's. */
  readonly environment: Readonly<Record<string, string>>;
}

/** The invocation every call made inside a handler runs in. */
export const invocations = new AsyncLocalStorage<Invocation>();

let overlaid = false;

/**
 * Makes `process.env` show the code of each invocation its own function's variables over the
 * process's, as each Lambda function has an environment of its own. The functions share this
 * process, whose environment holds only what the service's functions agree on (local/stack.ts):
 * without this, one step's variables would reach every other step. Reads outside any invocation
 * (a module's top level, which runs once for all functions here) see the process's environment
 * only; writes go to the process's. Installed once per process.
 */
function overlayFunctionEnvironments(): void {
  if (overlaid) return;
  overlaid = true;
  const own = (name: string | symbol): string | undefined => (typeof name === 'string' ? invocations.getStore()?.environment[name] : undefined);
  const environment = new Proxy(process.env, {
    get: (target, name) => own(name) ?? Reflect.get(target, name),
    has: (target, name) => own(name) !== undefined || Reflect.has(target, name),
    ownKeys: (target) => [...new Set([...Reflect.ownKeys(target), ...Object.keys(invocations.getStore()?.environment ?? {})])],
    getOwnPropertyDescriptor: (target, name) => {
      const value = own(name);
      return value === undefined ? Reflect.getOwnPropertyDescriptor(target, name) : { value, writable: true, enumerable: true, configurable: true };
    },
  });
  Object.defineProperty(process, 'env', { value: environment, writable: true, enumerable: true, configurable: true });
}

/** A function error as Lambda reports it: `errorType` and `errorMessage` (and a trace kept out of responses). */
export class LambdaInvocationError extends Error {
  constructor(
    readonly errorType: string,
    readonly errorMessage: string,
    readonly trace: readonly string[] = [],
  ) {
    super(errorMessage);
    this.name = errorType;
  }

  /** The `Cause` Step Functions records for a failed Lambda task. */
  stepFunctionsCause(): string {
    return JSON.stringify({ errorType: this.errorType, errorMessage: this.errorMessage, trace: this.trace });
  }
}

/**
 * Runs the template's functions in this process, from their handler modules under `lambdas/`:
 * the same code that is bundled and deployed. Each invocation gets a Lambda-like context and the
 * function's configured timeout; a thrown error becomes a {@link LambdaInvocationError}.
 */
export class LambdaHost {
  private readonly byArn = new Map<string, LocalFunction>();
  private readonly handlers = new Map<string, Promise<Handler>>();

  /**
   * `imports` are what the handlers' `#tasks` and `#task-catalogue` resolve to (see
   * {@link resolveTaskImportsTo}); each invocation sees its function's environment over the
   * process's (see {@link overlayFunctionEnvironments}).
   */
  constructor(functions: readonly LocalFunction[], imports: TaskImportPaths) {
    resolveTaskImportsTo(imports);
    overlayFunctionEnvironments();
    for (const fn of functions) this.byArn.set(fn.arn, fn);
  }

  /** The function an ARN (or name) refers to. */
  find(arnOrName: string): LocalFunction | undefined {
    return this.byArn.get(arnOrName) ?? [...this.byArn.values()].find((fn) => fn.name === arnOrName);
  }

  /** Imports every handler module now, so the first request does not pay for it. */
  async warm(): Promise<void> {
    await Promise.all([...this.byArn.values()].map((fn) => this.handler(fn)));
  }

  private handler(fn: LocalFunction): Promise<Handler> {
    let loaded = this.handlers.get(fn.entry);
    if (!loaded) {
      const file = isAbsolute(fn.entry) ? fn.entry : `${LAMBDAS_DIR}${fn.entry}`;
      loaded = import(pathToFileURL(file).href).then((module: { handler?: Handler }) => {
        if (typeof module.handler !== 'function') throw new Error(`${isAbsolute(fn.entry) ? fn.entry : `lambdas/${fn.entry}`} exports no handler`);
        return module.handler;
      });
      this.handlers.set(fn.entry, loaded);
    }
    return loaded;
  }

  /** Invokes a function by ARN or name with `event`. */
  async invoke(arnOrName: string, event: unknown): Promise<unknown> {
    const fn = this.find(arnOrName);
    if (!fn) throw new LambdaInvocationError('ResourceNotFoundException', `Function not found: ${arnOrName}`);
    const handler = await this.handler(fn);
    const context = contextOf(fn);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LambdaInvocationError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds}.00 seconds`)),
        fn.timeoutSeconds * 1000,
      );
    });
    try {
      // JSON round trips mirror Lambda: events and results cross a wire as JSON.
      const invocation = { entry: fn.entry, requestId: context.awsRequestId, environment: fn.environment };
      const running = invocations.run(invocation, () => handler(JSON.parse(JSON.stringify(event ?? null)), context));
      const result = await Promise.race([running, timeout]);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } catch (error) {
      if (error instanceof LambdaInvocationError) throw error;
      const failure = error instanceof Error ? error : new Error(String(error));
      throw new LambdaInvocationError(failure.name, failure.message, (failure.stack ?? '').split('\n').slice(1, 6));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Invokes a streaming function (`awslambda.streamifyResponse`, local/response-streaming.ts) by
   * ARN or name with `event`, writing its response to `stream` as it goes. It ends by itself (the
   * service's handler closes before its time is up), so no timeout races it here.
   */
  async invokeStreaming(arnOrName: string, event: unknown, stream: LocalResponseStream): Promise<void> {
    const fn = this.find(arnOrName);
    if (!fn) throw new LambdaInvocationError('ResourceNotFoundException', `Function not found: ${arnOrName}`);
    const handler = await this.handler(fn);
    if (!isStreamingHandler(handler)) throw new Error(`lambdas/${fn.entry} is not a streaming handler (awslambda.streamifyResponse)`);
    const streaming = handler as unknown as (event: unknown, stream: LocalResponseStream, context: Context) => Promise<void>;
    const context = contextOf(fn);
    const invocation = { entry: fn.entry, requestId: context.awsRequestId, environment: fn.environment };
    await invocations.run(invocation, () => streaming(JSON.parse(JSON.stringify(event ?? null)), stream, context));
  }
}

/** The Lambda context of one invocation of `fn`. */
function contextOf(fn: LocalFunction): Context {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };

}
