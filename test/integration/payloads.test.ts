import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { MAX_CREATE_INPUT_BYTES, OFFLOAD_THRESHOLD_BYTES } from '../../lambdas/domain/payload-limits.js';
import { executionPk } from '../../lambdas/repository/keys.js';
import { PAYLOAD_URL_SECONDS, PayloadLinks } from '../../lambdas/shared/payload-links.js';
import { api, start, transitions, waitForStatus, type Execution } from './client.js';

// Large payloads on the local stack: values over the offload threshold live in the payload bucket
// (s3rver), the states, records and rows carry references, and the API links to the bytes.

type LargeExecution = Execution;

const table = DynamoDBDocumentClient.from(
  new DynamoDBClient({ endpoint: inject('dynamoDbEndpoint'), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
);

/** Every stored item of an execution's partition (its record, rows and markers), as JSON text. */
async function storedItems(id: string): Promise<string[]> {
  const { Items = [] } = await table.send(
    new QueryCommand({ TableName: inject('tableName'), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': executionPk('default', id) } }),
  );
  return Items.map((item) => JSON.stringify(item));
}

const MIB = 1024 * 1024;

describe('large payloads through S3', () => {
  it('runs a 2 MiB step output through three steps, keeps only references in the table, and serves the output through output_url', async () => {
    const created = await start('test-large-output', { kb: 2048 });
    const done = (await waitForStatus(created.id, 'succeeded', 60_000)) as LargeExecution;

    expect(done.output).toBeNull();
    expect(done.output_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(new URL(done.output_url!).searchParams.get('X-Amz-Expires')).toBe(String(PAYLOAD_URL_SECONDS));
    const fetched = await fetch(done.output_url!);
    expect(fetched.status).toBe(200);
    const output = (await fetched.json()) as { text: string; seen: string[] };
    expect(output.text.length).toBe(2 * MIB);
    expect(output.text).toBe('x'.repeat(2 * MIB));
    // Each later step got the whole text, not a reference.
    expect(output.seen).toEqual([`relay:${2 * MIB}`, `finish:${2 * MIB}`]);

    const rows = await transitions(created.id);
    const steps = rows.filter((row) => row.type === 'step');
    expect(steps).toHaveLength(3);
    for (const row of steps) {
      expect(row.output).toBeNull();
      expect(row.output_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    }
    const produced = (await (await fetch(steps[0]!.output_url!)).json()) as { text: string; seen: string[] };
    expect(produced).toEqual({ text: 'x'.repeat(2 * MIB), seen: [] });
    // No stored item holds the bytes: the record and every row keep a reference.
    for (const item of await storedItems(created.id)) expect(item.length).toBeLessThan(8 * 1024);
  }, 90_000);

  it('keeps a step output of exactly the threshold inline, with no link', async () => {
    const created = await start('test-large-output', { kb: 32 });
    const done = (await waitForStatus(created.id, 'succeeded', 30_000)) as LargeExecution;

    expect(done.output_url).toBeNull();
    expect((done.output as { text: string }).text.length).toBe(32 * 1024);
    expect(JSON.stringify(done.output).length).toBeLessThanOrEqual(OFFLOAD_THRESHOLD_BYTES);
  }, 60_000);

  it('takes a 5 MiB input at create, hands the step the whole input, and links to it from GET /executions/{id}', async () => {
    const blob = 'y'.repeat(MAX_CREATE_INPUT_BYTES - JSON.stringify({ blob: '' }).length);
    const reply = await api<LargeExecution>('POST', '/tasks/test-large-input/executions', { input: { blob } });

    expect(reply.status).toBe(201);
    expect(reply.body.input).toBeNull();
    expect(reply.body.input_url).toBeNull();
    const done = (await waitForStatus(reply.body.id, 'succeeded', 60_000)) as LargeExecution;
    expect(done.output).toEqual({ length: blob.length, head: 'yyyyyyyy' });
    expect(done.output_url).toBeNull();
    expect(done.input).toBeNull();
    const input = (await (await fetch(done.input_url!)).json()) as { blob: string };
    expect(input.blob.length).toBe(blob.length);
    for (const item of await storedItems(done.id)) expect(item.length).toBeLessThan(8 * 1024);
  }, 90_000);

  it('passes a 200 KiB resume input to the next step by reference, and links to it from the resume row', async () => {
    const created = await start('test-large-resume', {});
    await waitForStatus(created.id, 'awaiting_input', 30_000);
    const blob = 'r'.repeat(200 * 1024);

    const resumed = await api<Execution>('POST', `/executions/${created.id}/resume`, { input: { blob } });
    const done = await waitForStatus(created.id, 'succeeded', 30_000);

    expect(resumed.status).toBe(200);
    expect(done.output).toEqual({ length: blob.length });
    const row = (await transitions(created.id)).find((candidate) => candidate.type === 'resume')!;
    expect(row.output).toBeNull();
    expect(((await (await fetch(row.output_url!)).json()) as { blob: string }).blob).toBe(blob);
    for (const item of await storedItems(created.id)) expect(item.length).toBeLessThan(8 * 1024);
  }, 90_000);

  it('refuses an input over 5 MiB with 413 problem+json naming both sizes', async () => {
    const blob = 'z'.repeat(MAX_CREATE_INPUT_BYTES);
    const reply = await api<{ status: number; detail: string }>('POST', '/tasks/test-large-input/executions', { input: { blob } });

    expect(reply.status).toBe(413);
    expect(reply.headers.get('content-type')).toContain('application/problem+json');
    expect(reply.body.detail).toContain(String(MAX_CREATE_INPUT_BYTES));
  }, 30_000);

  it('answers an expired link with 403 AccessDenied "Request has expired"', async () => {
    const created = await start('test-large-output', { kb: 100 });
    const done = (await waitForStatus(created.id, 'succeeded', 30_000)) as LargeExecution;
    const link = new URL(done.output_url!);
    // Path-style: /<bucket>/<key>. The same signer the API uses, with a 1 s lifetime: s3rver checks
    // X-Amz-Date + X-Amz-Expires as S3 does (not the V4 signature itself), and waiting out the API's
    // 15 minutes is no test; the API's own link is checked to carry 900 s above.
    const [, bucket, ...key] = link.pathname.split('/');
    const s3 = new S3Client({ endpoint: inject('s3Endpoint'), region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const reference = { $payload: { key: key.map(decodeURIComponent).join('/'), bytes: 1 } };
    const shortLived = await new PayloadLinks(s3, bucket!, 1).urlOf(reference);
    expect((await fetch(shortLived!)).status).toBe(200);

    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const expired = await fetch(shortLived!);
    expect(expired.status).toBe(403);
    const text = await expired.text();
    expect(text).toContain('<Code>AccessDenied</Code>');
    expect(text).toContain('Request has expired');
  }, 60_000);
});
