/** Milliseconds to establish a connection (TLS included) to an AWS endpoint; in-region it takes tens. */
const CONNECTION_TIMEOUT_MS = 1_000;

/**
 * Milliseconds one attempt of an AWS SDK call may take, from sending the request to the response
 * headers (and the longest the socket may then sit idle while the body arrives). DynamoDB and Step
 * Functions answer in tens of milliseconds; DynamoDB Local on a loaded laptop in hundreds.
 */
const REQUEST_TIMEOUT_MS = 2_000;

/** Attempts per call: the first and one retry (the SDK's default is more than the API can wait for). */
const MAX_ATTEMPTS = 2;

/**
 * The longest the SDK waits between two attempts: its throttling backoff base (1 s, jittered; 50 ms
 * after a timeout); only a Retry-After hint from the service itself could stretch it.
 */
const MAX_BACKOFF_MS = 1_000;

/**
 * The longest one SDK call can take before it fails: every attempt timing out, plus the backoff in
 * between (5 s). Every function's timeout is at least twice this (test/infra/functions.test.ts),
 * so a handler whose call stalls still has the time to answer 503 rather than be killed.
 */
export const WORST_CASE_CALL_MS = MAX_ATTEMPTS * REQUEST_TIMEOUT_MS + (MAX_ATTEMPTS - 1) * MAX_BACKOFF_MS;

/**
 * Configuration of every AWS SDK client of the functions. Without it a stalled dependency holds a
 * call until Lambda kills the function: API Gateway then answers 500 while the write may have
 * landed, and a caller that retries starts a duplicate. The request handler is given as options,
 * not as a `NodeHttpHandler`, so the bundle carries no second copy of the handler.
 */
export const CLIENT_CONFIG = {
  maxAttempts: MAX_ATTEMPTS,
  requestHandler: {
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    socketTimeout: REQUEST_TIMEOUT_MS,
    // Without it a request timeout only logs a warning (this SDK version) and the call keeps waiting.
    throwOnRequestTimeout: true,
  },
};
