import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createRequestHandler } from 'local-aws-sqs';
import type { LocalQueue, LocalQueueAddress } from './template.js';

/** A running local SQS endpoint (the `local-aws-sqs` server) on 127.0.0.1. */
export interface LocalSqs {
  /** `http://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL_SQS` and the queue URLs point to. */
  readonly endpoint: string;
  /** A client of this endpoint (dummy credentials), for the event source mappings and tests. */
  readonly client: SQSClient;
  /** The queues created by {@link LocalSqs.createQueues}, by logical id. */
  readonly queues: ReadonlyMap<string, LocalQueueAddress>;
  /**
   * Creates the template's queues with their attributes, in the order given (the model puts each
   * dead-letter queue first).
   * @throws Error naming the queue SQS refused, or whose URL is not the one the model resolved.
   */
  createQueues(queues: readonly LocalQueue[]): Promise<void>;
  /** Closes the server and its connections (a long poll in progress ends with them). */
  stop(): Promise<void>;
}

/** Options of {@link startSqs}. */
export interface LocalSqsOptions {
  readonly region: string;
  readonly account: string;
  /**
   * The port to listen on.
   * @default 0: a free one, chosen by the system (so no other process can take it in between)
   */
  readonly port?: number;
}

/**
 * Starts a local SQS endpoint, `local-aws-sqs` (an in-process implementation of the SQS JSON and
 * Query protocols, its queues in memory), on 127.0.0.1 only. It listens before the template is
 * read, so that queue URLs in the functions' environment can name its port; the queues come after
 * ({@link LocalSqs.createQueues}), through the SQS API itself.
 */
export async function startSqs(options: LocalSqsOptions): Promise<LocalSqs> {
  const server = createServer();
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const { requestHandler } = createRequestHandler({
    port,
    hostname: '127.0.0.1',
    region: options.region,
    accountId: options.account,
    // AWS makes a deleted queue's name wait 60 s; a local stack that recreates queues need not.
    emulateQueueCreationLifecycle: false,
  });
  server.on('request', (req, res) => void requestHandler(req, res));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({ endpoint, region: options.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const queues = new Map<string, LocalQueueAddress>();
  return {
    endpoint,
    client,
    queues,
    async createQueues(templateQueues) {
      for (const queue of templateQueues) {
        let url: string | undefined;
        try {
          ({ QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: queue.name, Attributes: { ...queue.attributes } })));
        } catch (error) {
          throw new Error(`Queue ${queue.logicalId} (${queue.name}): the local SQS refused it: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (url !== queue.url) throw new Error(`Queue ${queue.logicalId}: the local SQS created ${url ?? 'no queue'}, not ${queue.url}`);
        queues.set(queue.logicalId, { logicalId: queue.logicalId, name: queue.name, url: queue.url, arn: queue.arn });
      }
    },
    stop: () => close(server, client),
  };
}

function close(server: Server, client: SQSClient): Promise<void> {
  client.destroy();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
