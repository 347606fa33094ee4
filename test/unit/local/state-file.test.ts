import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readStackState } from '../../../local/state-file.js';

const dir = mkdtempSync(join(tmpdir(), 'state-file-'));
afterEach(() => rmSync(join(dir, 'stack.json'), { force: true }));

describe('the local stack state file', () => {
  it('reads back what a running stack recorded', () => {
    const state = { url: 'http://127.0.0.1:3000', dynamodb: 'http://127.0.0.1:1', sfn: 'http://127.0.0.1:2', table: 't', apiKey: 'k', pid: 42 };
    writeFileSync(join(dir, 'stack.json'), JSON.stringify(state));

    expect(readStackState(join(dir, 'stack.json'))).toEqual(state);
  });

  it('counts a file cut short by a kill as no state, so npm start replaces it and the keys CLI says no stack runs', () => {
    writeFileSync(join(dir, 'stack.json'), '{"url":"http://127.0.0.1:3000","dyn');

    expect(readStackState(join(dir, 'stack.json'))).toBeUndefined();
  });

  it('is undefined without a file', () => {
    expect(readStackState(join(dir, 'stack.json'))).toBeUndefined();
  });
});
