import 'aws-sdk-client-mock-vitest/extend';
import { vi } from 'vitest';
import { dropMetricLines } from '../support/metric-lines.js';

// Webhook URLs are resolved before any connection; unit tests never ask a real resolver (no traffic
// beyond loopback). A test that needs addresses gives its own resolver.
vi.mock('node:dns/promises', () => ({
  lookup: vi.fn(async (hostname: string) => {
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (unit tests resolve no names)`), { code: 'ENOTFOUND' });
  }),
}));

dropMetricLines();
