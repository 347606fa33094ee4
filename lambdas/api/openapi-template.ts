import { brotliDecompressSync } from 'node:zlib';
import type { Server } from './openapi.js';

// The OpenAPI document is computed at synth (infra/openapi-document.ts), for the stack's tasks and
// auth, and bundled as data (`#openapi-document`): the catalogue function carries none of the
// words and schemas that build it. What only a request knows (the base URL it reached) and what
// only the deployed stack knows (the streaming Function URL, a CloudFormation token at synth)
// stand in it as these sentinel servers, filled in per request by `fillOpenApiTemplate`. This
// module must stay small and import nothing of openapi.ts but types: it is in the catalogue bundle.

/** The URL standing for the API's base URL (the first server) in the synthesized document. */
export const API_SERVER_SENTINEL = 'https://api-base-url.openapi-template.invalid';
/** The URL standing for the streaming Function URL (the events' extra server) in the synthesized document. */
export const STREAM_SERVER_SENTINEL = 'https://events-stream-url.openapi-template.invalid';

/** The server the document names for the API: the base URL each caller reached. */
export const API_SERVER: Server = { url: API_SERVER_SENTINEL, description: 'This API, as you reached it' };
/** The server the document names for the events' streaming Function URL. */
export const STREAM_SERVER: Server = { url: STREAM_SERVER_SENTINEL, description: 'The streaming Function URL: the events as one long response' };

/** Where a served document points: the caller's base URL, and the streaming URL when the stack has one. */
export interface DocumentPlaces {
  /** The base URL the request reached (`linksOf(event, '').apiBaseUrl`). */
  readonly apiBaseUrl: string;
  /** The streaming Function URL of the events, without a trailing slash; absent without one. */
  readonly eventsStreamUrl?: string | undefined;
}

/** The document synthesized with the sentinels, decoded from `#openapi-document` (base64 of brotli-compressed JSON). */
export function decodeOpenApiTemplate(encoded: string): unknown {
  return JSON.parse(brotliDecompressSync(Buffer.from(encoded, 'base64')).toString('utf8')) as unknown;
}

/**
 * The served document: `template` (built by `openApiDocument` with {@link API_SERVER} as its server
 * and {@link STREAM_SERVER} as the events' streaming server) with the sentinels replaced, exactly as
 * `openApiDocument` builds it for the real servers. A server's `url` takes the URL as given; inside
 * other text (the examples' links) a URL appears as openapi.ts's `urlOf` writes it (variables at
 * their name, no trailing slash). Without a streaming URL, a `servers` list naming the stream (the
 * events operation's) goes, as openapi.ts adds it only for one, and the examples' stream links
 * point at the API instead, as openapi.ts's do. Returns a new value; `template` is not changed.
 */
export function fillOpenApiTemplate(template: unknown, places: DocumentPlaces): unknown {
  const inText = (url: string) => url.replace(/\{(\w+)\}/g, '$1').replace(/\/+$/, '');
  const stream = places.eventsStreamUrl;
  // Maps, not objects: a schema's text such as `constructor` must not find an inherited member.
  const exact = new Map([
    [API_SERVER_SENTINEL, places.apiBaseUrl],
    [STREAM_SERVER_SENTINEL, stream ?? places.apiBaseUrl],
  ]);
  const written = new Map([...exact].map(([sentinel, url]) => [sentinel, inText(url)]));
  const sentinels = new RegExp(`${API_SERVER_SENTINEL}|${STREAM_SERVER_SENTINEL}`.replaceAll('.', '\\.'), 'g');
  const namesStream = (value: unknown) => Array.isArray(value) && value.some((server) => (server as { url?: unknown } | null)?.url === STREAM_SERVER_SENTINEL);
  const fill = (value: unknown): unknown => {
    if (typeof value === 'string') return exact.get(value) ?? value.replace(sentinels, (sentinel) => written.get(sentinel)!);
    if (Array.isArray(value)) return value.map(fill);
    if (value === null || typeof value !== 'object') return value;
    const filled: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if (key === 'servers' && stream === undefined && namesStream(item)) continue;
      // JSON.parse makes own `__proto__` keys; defining (not assigning) keeps them data.
      if (key === '__proto__') Object.defineProperty(filled, key, { value: fill(item), enumerable: true, writable: true, configurable: true });
      else filled[key] = fill(item);
    }
    return filled;
  };
  return fill(template);
}
