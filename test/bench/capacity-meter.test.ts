import { describe, expect, it } from 'vitest';
import { capacityOf } from '../../scripts/bench/local-stack.js';

describe('the benchmark capacity meter', () => {
  it('adds up table and index units of a call as DynamoDB Local reports them', () => {
    const output = { ConsumedCapacity: { CapacityUnits: 4, Table: { CapacityUnits: 1 }, GlobalSecondaryIndexes: { 'by-tenant': { CapacityUnits: 1 } } } };

    expect(capacityOf(output)).toBe(4);
    expect(capacityOf({})).toBe(0);
  });

  it("bills a transaction's table at least 2 units per item, which DynamoDB Local under-reports when no index changes", () => {
    // DynamoDB Local's report of two 1 KB puts in one transaction: 2 in all (DynamoDB bills 4).
    const unindexed = { ConsumedCapacity: [{ TableName: 't', CapacityUnits: 2, Table: { CapacityUnits: 2 } }] };
    // One that writes an index: the table's 4 are right, and the index's 2 come on top.
    const indexed = { ConsumedCapacity: [{ TableName: 't', CapacityUnits: 6, Table: { CapacityUnits: 4 }, GlobalSecondaryIndexes: { 'by-tenant': { CapacityUnits: 2 } } }] };
    // A larger item reported right (3 KB record + 1 KB row = 8) keeps its report.
    const large = { ConsumedCapacity: [{ TableName: 't', CapacityUnits: 8, Table: { CapacityUnits: 8 } }] };

    expect(capacityOf(unindexed, 2)).toBe(4);
    expect(capacityOf(indexed, 2)).toBe(6);
    expect(capacityOf(large, 2)).toBe(8);
  });
});
