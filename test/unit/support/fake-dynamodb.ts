import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DeleteCommandInput,
  type DynamoDBDocumentClient,
  type GetCommandInput,
  type GetCommandOutput,
  type PutCommandInput,
  type QueryCommandInput,
  type QueryCommandOutput,
  type TransactWriteCommandInput,
  type TransactWriteCommandOutput,
  type UpdateCommandInput,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { MARSHALL_OPTIONS } from '../../../lambdas/shared/dynamodb-client.js';

/** A stored item, as the document client sees it (native JS values). */
export type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const metadata = { httpStatusCode: 200 };

/** Index name → partition key attribute (mirrors the table's GSIs). */
const INDEX_PARTITION_KEYS: Readonly<Record<string, string>> = {
  'by-tenant-keys': 'tenant_key',
  'by-task-keys': 'task_key',
  'by-ended': 'status_key',
  'by-open': 'open_key',
  'by-parent': 'parent_key',
  'by-due': 'due_key',
  'by-group': 'group_key',
  'by-admission': 'admission_key',
  'by-completed-keys': 'tenant_key',
  'by-started': 'tenant_key',
};

/** Index name → sort key attribute, for the indexes that do not sort by `id`. */
const INDEX_SORT_KEYS: Readonly<Record<string, string>> = {
  'by-completed-keys': 'completed_at',
  'by-started': 'started_at',
  'by-open': 'open_sort',
  'by-parent': 'created_at',
  'by-due': 'due_at',
  'by-admission': 'admission_sort',
};

/** Non-key attributes of indexes that do not project ALL (an empty list: keys only). */
const INDEX_INCLUDES: Readonly<Record<string, readonly string[]>> = {
  'by-tenant-keys': [],
  'by-task-keys': [],
  'by-ended': [],
  'by-completed-keys': [],
  'by-started': [],
  'by-open': ['tenant', 'execution_arn', 'task_id'],
  'by-due': [],
  'by-admission': ['id', 'tenant', 'task_id', 'status', 'priority', 'concurrency_key', 'slot'],
};

/** What an index returns of an item: everything, or the table's and the index's keys and its included attributes. */
function projected(item: Item, indexName: string | undefined): Item {
  const include = indexName === undefined ? undefined : INDEX_INCLUDES[indexName];
  if (!include) return item;
  const keys = ['pk', 'sk', INDEX_PARTITION_KEYS[indexName!]!, INDEX_SORT_KEYS[indexName!] ?? 'id', ...include];
  return Object.fromEntries(Object.entries(item).filter(([name]) => keys.includes(name)));
}

function keyOf(pk: unknown, sk: unknown): string {
  return `${String(pk)}\u0000${String(sk)}`;
}

/**
 * A value as DynamoDB gets it back: through the real marshaller with the document client's
 * options and back. So what the client refuses (a map with a `constructor` key, an unsafe number)
 * throws here too, and what it silently drops (an own `__proto__` key, `undefined`) is gone.
 */
function clean(value: unknown): unknown {
  return unmarshall(marshall({ value }, MARSHALL_OPTIONS)).value;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function pathOf(token: string, names: Names): string[] {
  return token.split('.').map((part) => {
    if (!part.startsWith('#')) return part;
    const name = names?.[part];
    if (name === undefined) throw new Error(`FakeDynamoDB: no ExpressionAttributeNames entry for ${part}`);
    return name;
  });
}

function read(item: Item | undefined, path: readonly string[]): unknown {
  let current: unknown = item;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

function operand(token: string, item: Item | undefined, names: Names, values: Values): unknown {
  if (token.startsWith(':')) {
    if (!values || !(token in values)) throw new Error(`FakeDynamoDB: no ExpressionAttributeValues entry for ${token}`);
    return values[token];
  }
  return read(item, pathOf(token, names));
}

function splitAnd(expression: string): string[] {
  const parts = expression.trim().split(/\s+AND\s+/);
  const clauses: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (/\sBETWEEN\s+\S+$/.test(part) && i + 1 < parts.length) {
      clauses.push(`${part} AND ${parts[++i]!}`);
    } else {
      clauses.push(part);
    }
  }
  return clauses;
}

/**
 * Evaluates the subset of DynamoDB condition syntax the repository uses: conjunctions, or a
 * top-level disjunction of them (`a OR b`, as the idempotency key's "absent or expired" check).
 */
export function evaluate(expression: string | undefined, item: Item | undefined, names: Names, values: Values): boolean {
  if (!expression) return true;
  if (/\sOR\s/.test(expression)) {
    // A parenthesised conjunction as an alternative: `a OR (b AND c)`.
    return expression.split(/\s+OR\s+/).some((alternative) => evaluate(alternative.trim().replace(/^\((.*)\)$/, '$1'), item, names, values));
  }
  return splitAnd(expression).every((clause) => {
    let match = /^attribute_not_exists\(\s*(\S+)\s*\)$/.exec(clause);
    if (match) return read(item, pathOf(match[1]!, names)) === undefined;
    match = /^attribute_exists\(\s*(\S+)\s*\)$/.exec(clause);
    if (match) return read(item, pathOf(match[1]!, names)) !== undefined;
    match = /^(NOT\s+)?contains\(\s*(\S+)\s*,\s*(\S+)\s*\)$/.exec(clause);
    if (match) {
      const list = operand(match[2]!, item, names, values);
      const found = Array.isArray(list) ? list.includes(operand(match[3]!, item, names, values)) : typeof list === 'string' && list.includes(String(operand(match[3]!, item, names, values)));
      return match[1] ? !found : found;
    }
    match = /^size\(\s*(\S+)\s*\)\s*=\s*(\S+)$/.exec(clause);
    if (match) {
      const value = operand(match[1]!, item, names, values);
      const size = Array.isArray(value) || typeof value === 'string' ? value.length : undefined;
      return size !== undefined && size === operand(match[2]!, item, names, values);
    }
    match = /^begins_with\(\s*(\S+)\s*,\s*(\S+)\s*\)$/.exec(clause);
    if (match) {
      const value = operand(match[1]!, item, names, values);
      const prefix = operand(match[2]!, item, names, values);
      return typeof value === 'string' && typeof prefix === 'string' && value.startsWith(prefix);
    }
    match = /^(\S+)\s+BETWEEN\s+(\S+)\s+AND\s+(\S+)$/.exec(clause);
    if (match) {
      const value = operand(match[1]!, item, names, values);
      const low = operand(match[2]!, item, names, values);
      const high = operand(match[3]!, item, names, values);
      return typeof value === 'string' && typeof low === 'string' && typeof high === 'string' && value >= low && value <= high;
    }
    match = /^(\S+)\s+IN\s*\(([^)]*)\)$/.exec(clause);
    if (match) {
      const left = operand(match[1]!, item, names, values);
      return left !== undefined && match[2]!.split(',').some((candidate) => operand(candidate.trim(), item, names, values) === left);
    }
    match = /^(\S+)\s*<>\s*(\S+)$/.exec(clause);
    if (match) return operand(match[1]!, item, names, values) !== operand(match[2]!, item, names, values);
    match = /^(\S+)\s*<=\s*(\S+)$/.exec(clause);
    if (match) {
      const left = operand(match[1]!, item, names, values);
      const right = operand(match[2]!, item, names, values);
      return typeof left === typeof right && left !== undefined && right !== undefined && (left as number) <= (right as number);
    }
    match = /^(\S+)\s*>=\s*(\S+)$/.exec(clause);
    if (match) {
      const left = operand(match[1]!, item, names, values);
      const right = operand(match[2]!, item, names, values);
      return typeof left === typeof right && left !== undefined && right !== undefined && (left as number) >= (right as number);
    }
    match = /^(\S+)\s*<\s*(\S+)$/.exec(clause);
    if (match) {
      const left = operand(match[1]!, item, names, values);
      const right = operand(match[2]!, item, names, values);
      return typeof left === typeof right && left !== undefined && right !== undefined && (left as number) < (right as number);
    }
    match = /^(\S+)\s*=\s*(\S+)$/.exec(clause);
    if (match) {
      const left = operand(match[1]!, item, names, values);
      const right = operand(match[2]!, item, names, values);
      // Lists and maps compare by value, as DynamoDB compares them.
      return left !== undefined && (left === right || (typeof left === 'object' && JSON.stringify(left) === JSON.stringify(right)));
    }
    throw new Error(`FakeDynamoDB cannot evaluate "${clause}"`);
  });
}

/** Splits at the commas outside parentheses (`SET a = if_not_exists(a, :z) + :one, b = :b`). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** The value of a SET's right-hand side: an operand, `if_not_exists(a, v)`, `list_append(a, b)` or `a + b`. */
function setValue(source: string, item: Item, names: Names, values: Values): unknown {
  const text = source.trim();
  const call = /^(if_not_exists|list_append)\((.*)\)$/.exec(text);
  if (call && splitTopLevel(call[2]!).length === 2) {
    const [first, second] = splitTopLevel(call[2]!).map((part) => part.trim()) as [string, string];
    if (call[1] === 'if_not_exists') return operand(first, item, names, values) ?? setValue(second, item, names, values);
    const left = setValue(first, item, names, values);
    const right = setValue(second, item, names, values);
    if (!Array.isArray(left) || !Array.isArray(right)) throw new Error('FakeDynamoDB: list_append of a non-list');
    return [...left, ...right];
  }
  const sum = splitTopLevel(text.replaceAll(' + ', ',')).map((part) => part.trim());
  if (sum.length === 2 && text.includes(' + ')) {
    const [left, right] = sum.map((part) => setValue(part, item, names, values));
    if (typeof left !== 'number' || typeof right !== 'number') throw new Error('FakeDynamoDB only adds numbers');
    return left + right;
  }
  return operand(text, item, names, values);
}

/** Applies `SET a = :a, b = :b`, `REMOVE c, d` and `ADD n :one` clauses (in any order) to a copy of `item`. */
function applyUpdate(item: Item, expression: string, names: Names, values: Values): Item {
  const clauses = [...expression.trim().matchAll(/(SET|REMOVE|ADD)\s+(.+?)(?=\s+(?:SET|REMOVE|ADD)\s|$)/g)];
  if (clauses.length === 0) throw new Error(`FakeDynamoDB cannot apply "${expression}"`);
  const next: Item = copy(item);
  for (const [, action, body] of clauses) {
    for (const part of splitTopLevel(body!)) {
      if (action === 'REMOVE') {
        delete next[pathOf(part.trim(), names)[0]!];
        continue;
      }
      const equals = part.indexOf('=');
      const [target, source] = action === 'SET' ? [part.slice(0, equals).trim(), part.slice(equals + 1).trim()] : part.trim().split(/\s+/);
      if (!target || !source) throw new Error(`FakeDynamoDB cannot apply "${part}"`);
      const path = pathOf(target, names);
      if (path.length !== 1) throw new Error('FakeDynamoDB only updates top-level attributes');
      const value = action === 'SET' ? setValue(source, item, names, values) : operand(source, item, names, values);
      if (value === undefined) throw new Error(`FakeDynamoDB: ${source} has no value (DynamoDB rejects this)`);
      if (action === 'ADD') {
        const current = next[path[0]!] ?? 0;
        if (typeof current !== 'number' || typeof value !== 'number') throw new Error('FakeDynamoDB only ADDs numbers');
        next[path[0]!] = current + value;
      } else {
        next[path[0]!] = clean(copy(value));
      }
    }
  }
  return next;
}

function transactionCanceled(codes: readonly string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${codes.join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: codes.map((code) =>
      code === 'None' ? { Code: 'None' } : { Code: code, Message: 'The conditional request failed' },
    ),
  });
}

/**
 * An in-memory table that answers the document client's Get, Put, Update, Delete, Query and
 * TransactWrite commands with DynamoDB's semantics for what the repository uses: conditions are
 * evaluated, a transaction applies all or nothing and is cancelled with per-item reasons, a Query
 * applies `Limit` before its filter and pages with `LastEvaluatedKey`.
 */
export class FakeTable {
  private readonly items = new Map<string, Item>();
  private readonly beforeTransactHooks: Array<(input: TransactWriteCommandInput) => void> = [];

  /** Answers the stub's commands from this table (call again after `stub.reset()`). */
  install(stub: AwsClientStub<DynamoDBDocumentClient>): this {
    stub.on(GetCommand).callsFake(async (input: GetCommandInput) => this.get(input));
    stub.on(PutCommand).callsFake(async (input: PutCommandInput) => this.putCommand(input));
    stub.on(UpdateCommand).callsFake(async (input: UpdateCommandInput) => this.update(input));
    stub.on(DeleteCommand).callsFake(async (input: DeleteCommandInput) => this.deleteCommand(input));
    stub.on(QueryCommand).callsFake(async (input: QueryCommandInput) => this.query(input));
    stub.on(TransactWriteCommand).callsFake(async (input: TransactWriteCommandInput) => this.transact(input));
    stub.on(BatchGetCommand).callsFake(async (input: BatchGetCommandInput) => this.batchGet(input));
    return this;
  }

  /**
   * Runs `hook` once, just before the next transaction is evaluated: a concurrent writer that
   * changes the table between this writer's read and its write.
   */
  beforeNextTransaction(hook: (input: TransactWriteCommandInput) => void): void {
    this.beforeTransactHooks.push(hook);
  }

  /** Stores an item as is (arrangement). */
  put(item: Item): void {
    this.items.set(keyOf(item.pk, item.sk), clean(copy(item)) as Item);
  }

  /** The stored item, if any. */
  item(pk: string, sk: string): Item | undefined {
    const found = this.items.get(keyOf(pk, sk));
    return found ? copy(found) : undefined;
  }

  /** Every item of a partition, by sort key. */
  partition(pk: string): Item[] {
    return [...this.items.values()]
      .filter((item) => item.pk === pk)
      .sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1))
      .map(copy);
  }

  /** Every stored item (copies), in no particular order: for whole-table consistency checks. */
  all(): Item[] {
    return [...this.items.values()].map(copy);
  }

  private async get(input: GetCommandInput): Promise<GetCommandOutput> {
    const key = input.Key ?? {};
    const found = this.items.get(keyOf(key.pk, key.sk));
    return { $metadata: metadata, ...(found ? { Item: copy(found) } : {}) };
  }

  private async putCommand(input: PutCommandInput) {
    const item = input.Item ?? {};
    const existing = this.items.get(keyOf(item.pk, item.sk));
    if (!evaluate(input.ConditionExpression, existing, input.ExpressionAttributeNames, input.ExpressionAttributeValues)) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });
    }
    this.put(item);
    return { $metadata: metadata };
  }

  private async deleteCommand(input: DeleteCommandInput) {
    const key = input.Key ?? {};
    this.items.delete(keyOf(key.pk, key.sk));
    return { $metadata: metadata };
  }

  private async update(input: UpdateCommandInput): Promise<UpdateCommandOutput> {
    const key = input.Key ?? {};
    const existing = this.items.get(keyOf(key.pk, key.sk));
    if (!evaluate(input.ConditionExpression, existing, input.ExpressionAttributeNames, input.ExpressionAttributeValues)) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });
    }
    const next = applyUpdate(existing ?? { ...key }, input.UpdateExpression ?? '', input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    this.items.set(keyOf(key.pk, key.sk), next);
    // ALL_NEW and UPDATED_NEW alike: the whole new item (a superset of what UPDATED_NEW returns); ALL_OLD the item before.
    const returned = input.ReturnValues === 'ALL_OLD' ? existing : input.ReturnValues?.endsWith('_NEW') ? next : undefined;
    return { $metadata: metadata, ...(returned ? { Attributes: copy(returned) } : {}) };
  }

  private async transact(input: TransactWriteCommandInput): Promise<TransactWriteCommandOutput> {
    this.beforeTransactHooks.shift()?.(input);
    const actions = input.TransactItems ?? [];
    const codes = actions.map((action) => (this.passes(action) ? 'None' : 'ConditionalCheckFailed'));
    if (codes.some((code) => code !== 'None')) throw transactionCanceled(codes);
    for (const action of actions) {
      if (action.Put) this.put(action.Put.Item ?? {});
      if (action.Update) {
        const key = action.Update.Key ?? {};
        const existing = this.items.get(keyOf(key.pk, key.sk)) ?? { ...key };
        const { UpdateExpression, ExpressionAttributeNames, ExpressionAttributeValues } = action.Update;
        this.items.set(keyOf(key.pk, key.sk), applyUpdate(existing, UpdateExpression ?? '', ExpressionAttributeNames, ExpressionAttributeValues));
      }
      if (action.Delete) {
        const key = action.Delete.Key ?? {};
        this.items.delete(keyOf(key.pk, key.sk));
      }
    }
    return { $metadata: metadata };
  }

  private passes(action: TransactItem): boolean {
    const target = action.Put ?? action.Update ?? action.Delete ?? action.ConditionCheck;
    if (!target) throw new Error('FakeDynamoDB: empty transaction item');
    const key = action.Put ? action.Put.Item ?? {} : (action.Update ?? action.Delete ?? action.ConditionCheck)!.Key ?? {};
    const existing = this.items.get(keyOf(key.pk, key.sk));
    return evaluate(target.ConditionExpression, existing, target.ExpressionAttributeNames, target.ExpressionAttributeValues);
  }

  private async batchGet(input: BatchGetCommandInput): Promise<BatchGetCommandOutput> {
    const Responses: Record<string, Item[]> = {};
    for (const [table, { Keys = [] } = {}] of Object.entries(input.RequestItems ?? {})) {
      if (Keys.length > 100) throw new Error('FakeDynamoDB: BatchGetItem takes at most 100 keys');
      Responses[table] = Keys.flatMap((key) => {
        const found = this.items.get(keyOf(key.pk, key.sk));
        return found ? [copy(found)] : [];
      });
    }
    return { $metadata: metadata, Responses };
  }

  private async query(input: QueryCommandInput): Promise<QueryCommandOutput> {
    const indexKey = input.IndexName === undefined ? undefined : INDEX_PARTITION_KEYS[input.IndexName];
    if (input.IndexName !== undefined && indexKey === undefined) throw new Error(`FakeDynamoDB: no index ${input.IndexName}`);
    const sortKey = indexKey === undefined ? 'sk' : (INDEX_SORT_KEYS[input.IndexName!] ?? 'id');
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    const matching = [...this.items.values()]
      // An index holds an item only when it has both keys (by-completed is sparse by its sort key).
      .filter((item) => indexKey === undefined || (item[indexKey] !== undefined && item[sortKey] !== undefined))
      .filter((item) => evaluate(input.KeyConditionExpression, item, names, values))
      .sort((a, b) => {
        const left = `${String(a[sortKey])}\u0000${String(a.pk)}`;
        const right = `${String(b[sortKey])}\u0000${String(b.pk)}`;
        return left < right ? -1 : left > right ? 1 : 0;
      });
    if (input.ScanIndexForward === false) matching.reverse();

    let start = 0;
    if (input.ExclusiveStartKey) {
      const after = input.ExclusiveStartKey;
      const position = matching.findIndex((item) => item.pk === after.pk && item.sk === after.sk);
      if (position >= 0) {
        start = position + 1;
      } else {
        // As DynamoDB: the key is a position, whether or not an item is there now (an item that left
        // an index partition, e.g. by changing status, still marks where the last page ended).
        if (after[sortKey] === undefined) throw new Error('FakeDynamoDB: ExclusiveStartKey names no item');
        const at = `${String(after[sortKey])}\u0000${String(after.pk)}`;
        const keyOf = (item: Item) => `${String(item[sortKey])}\u0000${String(item.pk)}`;
        const next = matching.findIndex((item) => (input.ScanIndexForward === false ? keyOf(item) < at : keyOf(item) > at));
        start = next < 0 ? matching.length : next;
      }
    }
    const limit = input.Limit ?? Number.POSITIVE_INFINITY;
    const evaluated = matching.slice(start, start + limit);
    const more = start + evaluated.length < matching.length;
    const last = evaluated.at(-1);
    const lastKey =
      more && last
        ? {
            pk: last.pk,
            sk: last.sk,
            ...(indexKey === undefined ? {} : { [indexKey]: last[indexKey], [sortKey]: last[sortKey] }),
          }
        : undefined;
    const items = evaluated
      .filter((item) => evaluate(input.FilterExpression, item, names, values))
      .map((item) => projected(copy(item), input.IndexName));
    return {
      $metadata: metadata,
      Items: items,
      Count: items.length,
      ScannedCount: evaluated.length,
      ...(lastKey ? { LastEvaluatedKey: lastKey } : {}),
    };
  }
}
