/**
 * Stand-in for an existing Lambda function (in AWS, any runtime) that an `invoke` step calls by
 * ARN: the local stack runs it for that ARN (`npm start -- --function <arn>=<this file>`). It
 * follows the documented contract: `{ input, execution_id, task_id, step, attempt }` in, the
 * step's output out, a thrown error fails the step.
 */
export async function handler(event: { input: { text?: string }; execution_id: string; task_id: string; step: string; attempt: number }) {
  if (event.input.text === 'reject') throw new RangeError('the scorer rejects this text');
  return { score: (event.input.text ?? '').length, scored_by: event.step, execution_id: event.execution_id };
}
