import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { bulkMessageBody, type SendBulkMessage } from './bulk-worker.js';

/** Sends bulk messages to the queue at `queueUrl`. */
export function bulkSender(sqs: SQSClient, queueUrl: string): SendBulkMessage {
  return async (message) => {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: bulkMessageBody(message) }));
  };
}
