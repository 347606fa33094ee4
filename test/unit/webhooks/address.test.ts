import { lookup } from 'node:dns/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../lambdas/domain/errors.js';
import {
  AddressRefusedError,
  checkWebhookUrl,
  policyFromEnv,
  resolveEndpoint,
  systemResolver,
  type Resolver,
} from '../../../lambdas/webhooks/address.js';

const AWS = { allowLoopback: false } as const;
const LOCAL = { allowLoopback: true } as const;

/** A resolver that answers from a table and records what it was asked. */
function stubResolver(answers: Readonly<Record<string, readonly string[]>>) {
  return vi.fn<Resolver>(async (hostname) => {
    const addresses = answers[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return [...addresses];
  });
}

/** What a promise was rejected with. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('resolveEndpoint', () => {
  it('refuses a name that resolves to the metadata service, having asked the resolver only', async () => {
    const resolver = stubResolver({ 'hooks.example.com': ['169.254.169.254'] });

    const error = await rejectionOf(resolveEndpoint('https://hooks.example.com/in', AWS, resolver));

    expect(error).toBeInstanceOf(AddressRefusedError);
    expect((error as Error).message).toBe('The host hooks.example.com resolves to an address that is not public.');
    expect(resolver).toHaveBeenCalledExactlyOnceWith('hooks.example.com');
  });

  it('refuses a name with a public and a private address, whichever a client would pick', async () => {
    const resolver = stubResolver({ 'hooks.example.com': ['93.184.216.34', '10.0.0.1'] });

    await expect(resolveEndpoint('https://hooks.example.com/in', AWS, resolver)).rejects.toThrow(
      new AddressRefusedError('The host hooks.example.com resolves to an address that is not public.', ['93.184.216.34', '10.0.0.1']),
    );
  });

  it('refuses a name with an IPv6 address that embeds a private IPv4 one', async () => {
    const resolver = stubResolver({ 'hooks.example.com': ['2606:4700::1', '::ffff:a9fe:a9fe'] });

    await expect(resolveEndpoint('https://hooks.example.com/in', AWS, resolver)).rejects.toBeInstanceOf(AddressRefusedError);
  });

  it('returns the first address of a name whose addresses are all public, and the parsed URL', async () => {
    const resolver = stubResolver({ 'hooks.example.com': ['93.184.216.34', '2606:4700::1'] });

    const endpoint = await resolveEndpoint('https://hooks.example.com:8443/in?x=1', AWS, resolver);

    expect(endpoint.address).toBe('93.184.216.34');
    expect(endpoint.url.href).toBe('https://hooks.example.com:8443/in?x=1');
  });

  it('connects to an IP literal as written, without asking the resolver', async () => {
    const resolver = stubResolver({});

    expect((await resolveEndpoint('https://93.184.216.34/in', AWS, resolver)).address).toBe('93.184.216.34');
    expect((await resolveEndpoint('https://[2606:4700::1]/in', AWS, resolver)).address).toBe('2606:4700::1');
    expect(resolver).not.toHaveBeenCalled();
  });

  it('refuses a URL whose text is not allowed before resolving anything', async () => {
    const resolver = stubResolver({ 'hooks.example.com': ['93.184.216.34'] });

    await expect(resolveEndpoint('http://hooks.example.com/in', AWS, resolver)).rejects.toThrow('The URL must be an https: URL.');
    await expect(resolveEndpoint('https://10.1.2.3/in', AWS, resolver)).rejects.toBeInstanceOf(AddressRefusedError);
    await expect(resolveEndpoint('https://localhost/in', AWS, resolver)).rejects.toThrow('The URL must not point to a local host name.');
    expect(resolver).not.toHaveBeenCalled();
  });

  it('refuses a name that does not resolve, or resolves to nothing', async () => {
    const resolver = stubResolver({ 'empty.example.com': [] });

    await expect(resolveEndpoint('https://gone.example.com/in', AWS, resolver)).rejects.toThrow(
      new AddressRefusedError('The host gone.example.com does not resolve.'),
    );
    await expect(resolveEndpoint('https://empty.example.com/in', AWS, resolver)).rejects.toThrow(
      new AddressRefusedError('The host empty.example.com does not resolve.'),
    );
  });

  it('allows a name that resolves to loopback only with the local policy', async () => {
    const resolver = stubResolver({ 'receiver.test': ['127.0.0.1'] });

    await expect(resolveEndpoint('https://receiver.test/in', AWS, resolver)).rejects.toThrow(/resolves to an address that is not public/);
    expect((await resolveEndpoint('http://receiver.test:8080/in', LOCAL, resolver)).address).toBe('127.0.0.1');
  });

  it('still refuses a private address with the local policy', async () => {
    const resolver = stubResolver({ 'receiver.test': ['127.0.0.1', '192.168.1.10'] });

    await expect(resolveEndpoint('http://receiver.test:8080/in', LOCAL, resolver)).rejects.toThrow(/resolves to an address that is not public/);
  });
});

describe('checkWebhookUrl', () => {
  it('gives up on a name that takes longer than the timeout to resolve, as a refusal of its own attempt', async () => {
    const slow: Resolver = () => new Promise(() => undefined);

    await expect(resolveEndpoint('https://slow.example.com/in', AWS, slow, 50)).rejects.toThrow('The host slow.example.com did not resolve within 50 ms.');
  });

  it('takes http: to loopback only, even with the local policy and a public name', async () => {
    const resolver: Resolver = async () => ['93.184.216.34'];

    await expect(resolveEndpoint('http://public.example.com/in', LOCAL, resolver)).rejects.toThrow('An http: URL must point to this machine (loopback).');
  });

  it('returns a URL whose host resolves to public addresses only', async () => {
    const resolver = stubResolver({ 'hooks.example.com': ['93.184.216.34'] });

    await expect(checkWebhookUrl('https://hooks.example.com/in', '/url', AWS, resolver)).resolves.toBe('https://hooks.example.com/in');
  });

  it('accepts a host that does not resolve yet: its deliveries fail until it does', async () => {
    await expect(checkWebhookUrl('https://not-yet.example.com/in', '/url', AWS, stubResolver({}))).resolves.toBe(
      'https://not-yet.example.com/in',
    );
  });

  it('answers 400 naming the path when the value is not a string', async () => {
    const error = await rejectionOf(checkWebhookUrl(42, '/webhook_url', AWS, stubResolver({})));

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).status).toBe(400);
    expect((error as ValidationError).toProblem()).toMatchObject({
      detail: 'The webhook URL is not valid.',
      errors: [{ path: '/webhook_url', message: 'must be a string' }],
    });
  });

  it.each([
    ['http://hooks.example.com/in', 'must be an https: URL'],
    ['https://169.254.169.254/latest/meta-data/', 'must not point to a private, loopback or link-local address'],
    ['https://user:pw@hooks.example.com/in', 'must not carry credentials'],
    ['https://hooks.example.com/in#x', 'must not have a fragment'],
    ['not a url', 'must be an absolute URL'],
  ])('answers 400 for %s: %s', async (url, message) => {
    const error = await rejectionOf(checkWebhookUrl(url, '/url', AWS, stubResolver({})));

    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).toProblem()).toMatchObject({
      status: 400,
      detail: 'The webhook URL is not allowed.',
      errors: [{ path: '/url', message }],
    });
  });

  it('answers 400 when the host resolves to a private address now', async () => {
    const resolver = stubResolver({ 'internal.example.com': ['10.0.0.7'] });

    const error = await rejectionOf(checkWebhookUrl('https://internal.example.com/in', '/url', AWS, resolver));

    expect((error as ValidationError).toProblem()).toMatchObject({
      status: 400,
      errors: [{ path: '/url', message: 'The host internal.example.com resolves to an address that is not public' }],
    });
  });
});

describe('systemResolver', () => {
  it('returns every address the system lookup gives, in its order', async () => {
    vi.mocked(lookup).mockResolvedValueOnce([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700::1', family: 6 },
    ] as never);

    await expect(systemResolver('hooks.example.com')).resolves.toEqual(['93.184.216.34', '2606:4700::1']);
    expect(lookup).toHaveBeenLastCalledWith('hooks.example.com', { all: true, verbatim: true });
  });

  it('resolves no real name in unit tests (the setup refuses them)', async () => {
    await expect(systemResolver('example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('policyFromEnv', () => {
  it('allows loopback only when WEBHOOK_ALLOW_LOOPBACK is "true"', () => {
    vi.stubEnv('WEBHOOK_ALLOW_LOOPBACK', 'true');
    expect(policyFromEnv()).toEqual({ allowLoopback: true });
    vi.stubEnv('WEBHOOK_ALLOW_LOOPBACK', '1');
    expect(policyFromEnv()).toEqual({ allowLoopback: false });
    vi.stubEnv('WEBHOOK_ALLOW_LOOPBACK', undefined);
    expect(policyFromEnv()).toEqual({ allowLoopback: false });
  });
});
