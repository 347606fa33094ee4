/**
 * The record of how the metric writer was chosen (docs/performance.md, "Metrics writer"): measured
 * once, with `@aws-lambda-powertools/metrics` installed outside the project for the comparison, so
 * the benchmark writes it as recorded rather than measuring it again.
 */
export const METRICS_WRITER_SECTION = {
  title: 'Metrics writer',
  body: `Recorded when the execution metrics were added (2026-11-30; minified bundles built as for the size budget; not measured again by this benchmark). The functions that load the metric writer, before, with the service's own embedded-metric-format writer (\`putMetrics\`, \`lambdas/shared/metrics.ts\`), and with \`@aws-lambda-powertools/metrics\` 2.36.0 in its place (\`new Metrics(…)\`, \`addDimensions\`, \`addMetric\`, \`addMetadata\`, \`publishStoredMetrics\`). The own writer costs 387 bytes over a no-op; Powertools Metrics costs 16,058 bytes more than the own writer in every function that carries it.

| function | before (bytes) | with the own writer | size / floor | with Powertools Metrics | size / floor |
|---|---|---|---|---|---|
| create | 443,495 | 444,751 (+1,256) | 1.147× | 460,809 | 1.189× |
| control | 439,291 | 440,636 (+1,345) | 1.137× | 456,694 | 1.178× |
| wait-for-input | 396,660 | 397,707 (+1,047) | 1.093× | 413,765 | 1.137× |
| recorder | 399,606 | 400,607 (+1,001) | 1.101× | 416,665 | 1.145× |
| child-start | 434,294 | 434,550 (+256) | 1.121× | 450,681 | 1.163× |
| status-change | 419,591 | 420,678 (+1,087) | 1.085× | 436,736 | 1.127× |
| reconciler | 429,023 | 429,922 (+899) | 1.109× | 445,980 | 1.151× |
| step:document-pipeline/* | 414,572 | 415,573 (+1,001) | 1.142× | 431,631 | 1.186× |
| step:approval-flow/* | 411,538 | 412,539 (+1,001) | 1.134× | 428,597 | 1.178× |
| step:batch-summarize/* | 417,465 | 418,466 (+1,001) | 1.1499× | 434,524 | 1.194× |
| step:research-agent/*, research-question/* | 414,547 | 415,548 (+1,001) | 1.142× | 431,606 | 1.186× |

The own writer is the one deployed: with Powertools Metrics, create, control, child-start (which loads the module, and Powertools makes its metrics object as the module loads), the reconciler and every step function would miss the 1.15× size budget. The growth with the own writer is the whole change: the writer, the transition metrics and the log keys every line now carries (an \`AsyncLocalStorage\` scope and each handler's wrapper). The functions that write no metrics grew by the log keys alone: authorizer 167 bytes, webhook-redrive 173, webhook-dispatch 189, events-stream 324, webhook-deliver 373, read, events, catalogue and webhooks 456. The step functions of batch-summarize are left 25 bytes under their budget.`,
} as const;
