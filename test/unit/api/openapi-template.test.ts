import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeOpenApiTemplate } from '../../../infra/openapi-document.js';
import { deployedTasks } from '../../../lambdas/api/deployed-tasks.js';
import { openApiDocument, type OpenApiOptions } from '../../../lambdas/api/openapi.js';
import { API_SERVER, STREAM_SERVER, decodeOpenApiTemplate, fillOpenApiTemplate } from '../../../lambdas/api/openapi-template.js';
import { apiEvent, lambdaContext, parse } from '../support/api-events.js';

// The catalogue function serves the document computed at synth with the request's servers filled
// in; these tests hold it equal, key order included, to the document openapi.ts builds directly.

const TASKS = [...deployedTasks().values()];
const STREAM_URL = 'https://abcdefghij.lambda-url.us-east-1.on.aws';
const AUTHS: readonly OpenApiOptions['auth'][] = ['api-key', 'iam'];
const BASES = ['https://api.example.com', 'https://abc123.execute-api.us-east-1.amazonaws.com/prod', 'http://127.0.0.1:3000'];
const STREAMS = [undefined, STREAM_URL];

/** The document openapi.ts builds for a request that reached `apiBaseUrl`, as the catalogue function served it before it was data. */
function direct(auth: OpenApiOptions['auth'], apiBaseUrl: string, eventsStreamUrl: string | undefined): unknown {
  return openApiDocument({
    tasks: TASKS,
    auth,
    servers: [{ url: apiBaseUrl, description: API_SERVER.description! }],
    eventsStreamServers: eventsStreamUrl ? [{ url: eventsStreamUrl, description: STREAM_SERVER.description! }] : [],
  });
}

const cases = AUTHS.flatMap((auth) => BASES.flatMap((base) => STREAMS.map((stream) => [auth, base, stream] as const)));

describe('the synthesized OpenAPI document, filled in', () => {
  it.each(cases)('equals openApiDocument built directly (auth %s, base %s, stream %s)', (auth, base, stream) => {
    const template = decodeOpenApiTemplate(encodeOpenApiTemplate(TASKS, auth));

    const filled = fillOpenApiTemplate(template, { apiBaseUrl: base, eventsStreamUrl: stream });

    expect(JSON.stringify(filled)).toBe(JSON.stringify(direct(auth, base, stream)));
    expect(JSON.stringify(filled)).not.toContain('openapi-template.invalid');
  });

  it('leaves the template as it was, so every request fills the same one', () => {
    const template = decodeOpenApiTemplate(encodeOpenApiTemplate(TASKS, 'api-key'));
    const before = JSON.stringify(template);

    fillOpenApiTemplate(template, { apiBaseUrl: BASES[1]!, eventsStreamUrl: STREAM_URL });
    fillOpenApiTemplate(template, { apiBaseUrl: BASES[0]! });

    expect(JSON.stringify(template)).toBe(before);
  });

  it('keeps hostile keys and texts of task schemas as data (__proto__, constructor, toString)', () => {
    const template = JSON.parse(
      `{"servers":[{"url":"${API_SERVER.url}"}],"schema":{"__proto__":{"polluted":true},"enum":["constructor","toString","__proto__","${API_SERVER.url}/x"]},"constructor":"${STREAM_SERVER.url}"}`,
    ) as unknown;

    const filled = fillOpenApiTemplate(template, { apiBaseUrl: 'https://api.example.com/v1/' }) as Record<string, unknown>;

    expect(JSON.stringify(filled)).toBe(
      '{"servers":[{"url":"https://api.example.com/v1/"}],"schema":{"__proto__":{"polluted":true},"enum":["constructor","toString","__proto__","https://api.example.com/v1/x"]},"constructor":"https://api.example.com/v1/"}',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf((filled.schema as object))).toBe(Object.prototype);
  });

  it('refuses at synth a task whose schema holds a sentinel URL, which filling in would rewrite', () => {
    const [task] = TASKS;
    const hostile = { ...task!, view: { ...task!.view, input_schema: { type: 'string', examples: [`${STREAM_SERVER.url}/x`] } } };

    expect(() => encodeOpenApiTemplate([hostile], 'api-key')).toThrow(/reserves for the servers/);
  });

  it('is compressed: the data the catalogue function bundles is a fraction of the JSON', () => {
    const encoded = encodeOpenApiTemplate(TASKS, 'api-key');
    const json = JSON.stringify(decodeOpenApiTemplate(encoded));

    expect(encoded.length).toBeLessThan(json.length / 4);
  });
});

describe('GET /openapi.json of the catalogue function', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it.each(AUTHS.flatMap((auth) => STREAMS.map((stream) => [auth, stream] as const)))(
    'answers openApiDocument for its auth (%s), streaming URL (%s) and the stage path the request came through',
    async (auth, stream) => {
      vi.resetModules();
      vi.stubEnv('API_AUTH', auth);
      vi.stubEnv('EVENTS_STREAM_URL', stream ? `${stream}/` : '');
      const { handler } = await import('../../../lambdas/api/catalogue.js');
      const event = apiEvent('GET /openapi.json', { tenant: null });
      const staged = { ...event, requestContext: { ...event.requestContext, stage: 'prod' } };

      const response = parse<unknown>(await handler(staged, lambdaContext()));

      expect(response.status).toBe(200);
      expect(JSON.stringify(response.body)).toBe(JSON.stringify(direct(auth, `https://${event.requestContext.domainName}/prod`, stream)));
    },
  );

  it('answers each caller the document of the base URL it reached, when callers of several reach one container', async () => {
    vi.stubEnv('EVENTS_STREAM_URL', STREAM_URL);
    const { handler } = await import('../../../lambdas/api/catalogue.js');
    const event = apiEvent('GET /openapi.json', { tenant: null });
    const through = (domainName: string, stage: string) => ({ ...event, requestContext: { ...event.requestContext, domainName, stage } });

    for (const [domain, stage, base] of [
      ['a.example.com', 'prod', 'https://a.example.com/prod'],
      ['b.example.com', '$default', 'https://b.example.com'],
      ['a.example.com', 'prod', 'https://a.example.com/prod'],
    ] as const) {
      const response = parse<unknown>(await handler(through(domain, stage), lambdaContext()));
      expect(JSON.stringify(response.body)).toBe(JSON.stringify(direct('api-key', base, STREAM_URL)));
    }
  });
});
