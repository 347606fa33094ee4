import { beforeEach, describe, expect, it, vi } from 'vitest';

const state = { url: 'http://127.0.0.1:3000', apiKey: 'local-development-key', dynamodb: 'http://127.0.0.1:8000', sfn: 'http://127.0.0.1:8083', table: 't' };
const stale = vi.fn<() => Promise<string | undefined>>(async () => undefined);
vi.mock('../../../local/state-file.js', () => ({ STATE_FILE: '/tmp/stack.json', readStackState: () => state, staleReason: () => stale() }));

const { resolveTarget } = await import('../../../cli/config.js');

beforeEach(() => stale.mockResolvedValue(undefined));

describe("the CLI's target with a local stack running", () => {
  it("takes the local stack's URL and development key when nothing else is given", async () => {
    expect(await resolveTarget({}, {})).toEqual({ url: state.url, apiKey: state.apiKey });
  });

  it('never sends the development key to another URL: a key must be given for it', async () => {
    await expect(resolveTarget({}, { ASYNC_EXECUTIONS_URL: 'https://api.example.com' })).rejects.toThrow(/No API key/);
    await expect(resolveTarget({ url: 'https://api.example.com' }, {})).rejects.toThrow(/No API key/);
  });

  it('takes no key from a stale state file, even for its own URL', async () => {
    stale.mockResolvedValue('its process 42 has exited');

    await expect(resolveTarget({ url: state.url }, {})).rejects.toThrow(/No API key/);
  });
});
