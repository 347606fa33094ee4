import page from '#dashboard-page';

/**
 * Lambda entry of `GET /dashboard`: the built dashboard page, carried by the bundle as a string.
 * Public (a browser loads a page without headers); every call it makes needs the API key. No
 * middleware, logger or SDK: it only answers one constant page, and stays small and fast to load.
 */
export const handler = async (): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> => ({
  statusCode: 200,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': page.csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  },
  body: page.html,
});
