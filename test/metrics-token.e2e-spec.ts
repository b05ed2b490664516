import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GatewayHarness } from './support/gateway-harness.js';
import { startGatewayProcess } from './support/gateway-process.js';

const TOKEN = 'metrics-token-for-tests-0123456789';

/** `/metrics` was open whatever METRICS_TOKEN said. */
describe('GET /metrics with METRICS_TOKEN', () => {
  let guarded: GatewayHarness;
  let open: GatewayHarness;

  beforeAll(async () => {
    guarded = await GatewayHarness.start({}, { metrics: { token: TOKEN } });
    open = await GatewayHarness.start({}, { metrics: {} });
  });
  afterAll(async () => {
    await guarded.stop();
    await open.stop();
  });

  const scrape = (gateway: GatewayHarness, authorization?: string) =>
    fetch(
      `${gateway.url}/metrics`,
      authorization === undefined ? {} : { headers: { authorization } },
    );

  it.each([
    ['no Authorization header', undefined],
    ['an empty Authorization header', ''],
    ['a wrong token', `Bearer ${TOKEN.slice(0, -1)}x`],
    ['a token one character short', `Bearer ${TOKEN.slice(0, -1)}`],
    ['the token with more after it', `Bearer ${TOKEN}0`],
    ['the token without Bearer', TOKEN],
    ['the token as Basic', `Basic ${TOKEN}`],
    ['Bearer and nothing', 'Bearer '],
  ])('answers 401 to %s, with the reason and a Bearer challenge', async (_case, authorization) => {
    const response = await scrape(guarded, authorization);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    const body = (await response.json()) as { message: string };
    expect(body.message).toBe(
      'missing or wrong metrics token (Authorization: Bearer <METRICS_TOKEN>)',
    );
    expect(JSON.stringify(body)).not.toContain(TOKEN);
  });

  it.each([`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Bearer   ${TOKEN}`])(
    'serves the metrics to %j, and only with it',
    async (authorization) => {
      expect((await scrape(guarded)).status).toBe(401);
      const response = await scrape(guarded, authorization);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toMatch(/^realtime_connections /m);
    },
  );

  it('guards only the instance that has a token: without one /metrics stays open', async () => {
    const [guardedAnswer, openAnswer] = await Promise.all([scrape(guarded), scrape(open)]);
    expect([guardedAnswer.status, openAnswer.status]).toEqual([401, 200]);
    expect(await openAnswer.text()).toMatch(/^realtime_connections /m);
  });

  it('leaves /health open on the guarded instance', async () => {
    const [health, metrics] = await Promise.all([fetch(`${guarded.url}/health`), scrape(guarded)]);
    expect([health.status, metrics.status]).toEqual([200, 401]);
  });
});

describe('METRICS_TOKEN in the built gateway (npm run start:gateway)', () => {
  it('takes the token from the environment and guards /metrics with it', async () => {
    const gateway = await startGatewayProcess({ METRICS_TOKEN: TOKEN });
    try {
      const url = `${gateway.url}/metrics`;
      const [without, wrong, right] = await Promise.all([
        fetch(url),
        fetch(url, { headers: { authorization: `Bearer ${TOKEN}x` } }),
        fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } }),
      ]);
      expect([without.status, wrong.status, right.status]).toEqual([401, 401, 200]);
      expect(await right.text()).toMatch(/^realtime_connections /m);
      expect(gateway.process.output()).not.toContain(TOKEN);
    } finally {
      await gateway.process.stop();
    }
  });
});
