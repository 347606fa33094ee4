import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { writeContentAddressed } from './content-addressed.js';

/** The built dashboard: one HTML document with its script and styles inline, and the CSP that admits exactly those. */
export interface DashboardPage {
  readonly html: string;
  /** `Content-Security-Policy`: the inline script and style by hash, calls to this origin only. */
  readonly csp: string;
}

const APP = fileURLToPath(new URL('../lambdas/dashboard/app.ts', import.meta.url));

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{display:flex;gap:1.2em;align-items:center;padding:.6em 1.2em;background:#24292f;color:#fff}
header a,header button{color:#fff;font:inherit}header button{margin-left:auto;background:none;border:1px solid #fff;border-radius:4px;padding:.2em .6em;cursor:pointer}
main{padding:1em 1.2em;max-width:70em}
a{color:#0550ae}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #d0d7de}
.filters{display:flex;gap:.6em;align-items:center;margin-bottom:.8em}
form{display:grid;gap:.35em;max-width:32em;margin:.6em 0}.field{display:grid;gap:.15em}
input,select,textarea,button{font:inherit;padding:.3em}input[type=checkbox]{justify-self:start;width:1.2em;height:1.2em}button[type=submit]{justify-self:start;cursor:pointer}
small{color:#57606a}pre{background:#fff;border:1px solid #d0d7de;padding:.6em;overflow:auto;max-height:20em}
progress{width:100%;max-width:32em;height:1.1em}
.task{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.4em 1em;margin-bottom:1em}
.status.succeeded{color:#1a7f37}.status.failed{color:#cf222e}.status.cancelled{color:#6e7781}.status.awaiting_input{color:#9a6700}
#alert:not(:empty){background:#fff8c5;border:1px solid #d4a72c;padding:.5em 1.2em;margin:0}
:focus-visible{outline:3px solid #0969da;outline-offset:2px}
`.trim();

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Builds the dashboard with esbuild (the browser app of `lambdas/dashboard/`, minified, nothing
 * fetched from elsewhere) into one HTML document. Inline, so the page is one response of one route.
 */
export function buildDashboardPage(): DashboardPage {
  const built = buildSync({ entryPoints: [APP], bundle: true, minify: true, format: 'iife', target: 'es2022', platform: 'browser', write: false, legalComments: 'none' });
  // A `</script>` inside the code would end the element early.
  const script = built.outputFiles[0]!.text.replaceAll('</script', '<\\/script');
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    `<title>Async executions</title><style>${STYLE}</style></head><body>` +
    '<header><strong>Async executions</strong><nav aria-label="Pages"><a href="#/executions">Executions</a> · <a href="#/tasks">Tasks</a></nav>' +
    '<button type="button" id="forget">Forget key</button></header>' +
    '<p id="alert" role="alert" aria-live="polite"></p><main id="main"></main>' +
    `<script>${script}</script></body></html>`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "img-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

/**
 * Writes the built dashboard into `dir` as JSON named by its content (`dashboard-page.<hash>.json`)
 * and returns its absolute path: the dashboard function bundles it as `#dashboard-page`.
 */
export function writeDashboardPage(dir: string): string {
  return writeContentAddressed(dir, 'dashboard-page.', '.json', `${JSON.stringify(buildDashboardPage())}\n`);
}
