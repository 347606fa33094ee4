import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { LocalFunction } from './template.js';

const LAMBDAS_DIR = fileURLToPath(new URL('../lambdas/', import.meta.url));

type Handler = (event: unknown, context: Context) => Promise<unknown>;

let resolvedTasksModule: string | undefined;

/**
 * Resolves `#tasks` to `tasksModule` in this process, as esbuild's alias does in the bundles, so the
 * handler modules run with the tasks the template was synthesized with. Modules are cached, so a
 * process can serve only one tasks module: another one is refused.
 * @throws when this process already resolves `#tasks` to another module.
 */
function resolveTasksModuleTo(tasksModule: string): void {
  if (resolvedTasksModule === tasksModule) return;
  if (resolvedTasksModule !== undefined) {
    throw new Error(`This process already runs the functions with tasks module ${resolvedTasksModule}; start another process for ${tasksModule}`);
  }
  resolvedTasksModule = tasksModule;
  const url = pathToFileURL(tasksModule).href;
  registerHooks({
    resolve: (specifier, context, nextResolve) => (specifier === '#tasks' ? { url, shortCircuit: true } : nextResolve(specifier, context)),
  });
}

/** Which function an asynchronous call belongs to (for measurements such as `npm run bench`). */
export interface Invocation {
  /** The function's entry module under `lambdas/`, e.g. `api/executions-read.ts`. */
  readonly entry: string;
  readonly requestId: string;
}

/** The invocation every call made inside a handler runs in. */
export const invocations = new AsyncLocalStorage<Invocation>();

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

  /** `tasksModule` is what the handlers' `#tasks` resolves to (see {@link resolveTasksModuleTo}). */
  constructor(functions: readonly LocalFunction[], tasksModule: string) {
    resolveTasksModuleTo(tasksModule);
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
      loaded = import(pathToFileURL(`${LAMBDAS_DIR}${fn.entry}`).href).then((module: { handler?: Handler }) => {
        if (typeof module.handler !== 'function') throw new Error(`lambdas/${fn.entry} exports no handler`);
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
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const context = {
      callbackWaitsForEmptyEventLoop: false,
      functionName: fn.name,
      functionVersion: '$LATEST',
      invokedFunctionArn: fn.arn,
      memoryLimitInMB: '512',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${fn.name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    } satisfies Context;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LambdaInvocationError('Sandbox.Timedout', `Task timed out after ${fn.timeoutSeconds}.00 seconds`)),
        fn.timeoutSeconds * 1000,
      );
    });
    try {
      // JSON round trips mirror Lambda: events and results cross a wire as JSON.
      const invocation = { entry: fn.entry, requestId: context.awsRequestId };
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
}
