import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optional, required, requestMethod } from '#realtime';
import { CatalogueFileError, loadCatalogueFile } from './catalogue-file.js';

const dir = mkdtempSync(join(tmpdir(), 'catalogue-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(name: string, text: string): string {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, text);
  return path;
}

const refusal = (path: string): string => {
  try {
    loadCatalogueFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(CatalogueFileError);
    return (error as Error).message;
  }
  throw new Error('expected a CatalogueFileError');
};

describe('loadCatalogueFile', () => {
  it('reads YAML into the same definitions the helpers make in code', () => {
    const [funding, prices, portfolio, news] = loadCatalogueFile(
      file(
        'events.yaml',
        `events:
  - event: funding.rate
    routing: symbol
    channel: funding
    replayLast: true
    description: Funding rate of a perpetual
    fields:
      rate: { type: decimal, required: true }
      nextFundingTime: integer
  - event: price.update
    routing: symbolKey
    channel: prices
    key: chain
    values: ["1", "137"]
    conflatable: true
  - event: portfolio.update
    routing: user
    channel: user.portfolio
    fields: { equity: decimal }
  - event: news
    routing: everyone
    fields: { headline: { type: string, required: true } }
`,
      ),
    ).events;
    expect(funding).toMatchObject({
      event: 'funding.rate',
      channel: 'funding',
      routing: 'symbol',
      replayLast: true,
      description: 'Funding rate of a perpetual',
      schema: {
        symbol: required('symbol'),
        rate: required('decimal'),
        nextFundingTime: optional('integer'),
      },
    });
    expect(prices).toMatchObject({
      routing: 'symbolKey',
      key: { field: 'chain', values: ['1', '137'] },
      conflatable: true,
      schema: { chain: required('id') },
    });
    expect(portfolio).toMatchObject({ routing: 'user', schema: { userId: required('id') } });
    expect(news).toMatchObject({ routing: 'everyone', channel: 'system' });
  });

  it('reads JSON the same way', () => {
    const path = file(
      'events.json',
      JSON.stringify({ events: [{ event: 'mark.price', routing: 'symbol', channel: 'mark' }] }),
    );
    expect(loadCatalogueFile(path)).toEqual({
      events: [expect.objectContaining({ event: 'mark.price', channel: 'mark' })],
      methods: [],
    });
  });

  it('names the file, the entry and the field of every mistake', () => {
    const yaml = (entry: string) =>
      file('bad.yaml', `events:\n  - ${entry.replace(/\n/g, '\n    ')}\n`);
    expect(
      refusal(yaml('event: a.b\nrouting: symbol\nchannel: c\nfields: { rate: money }')),
    ).toMatch(
      /bad\.yaml: events\[0\] \(a\.b\)\.fields\.rate\.type must be one of symbol, interval, id, decimal, string, integer, number, boolean, side, levels, got "money"$/,
    );
    expect(refusal(yaml('event: a.b\nrouting: sideways\nchannel: c'))).toMatch(
      /events\[0\] \(a\.b\)\.routing must be one of symbol, symbolKey, user, everyone, got "sideways"$/,
    );
    expect(refusal(yaml('event: trade\nrouting: symbol\nchannel: c'))).toMatch(
      /bad\.yaml: events\[0\] defines event "trade", which is built in$/,
    );
    expect(refusal(yaml('event: a.b\nrouting: symbol\nchannel: trades'))).toMatch(
      /events\[0\] uses channel "trades", which is built in; choose another name$/,
    );
    expect(refusal(yaml('event: a.b\nrouting: user\nchannel: portfolio'))).toMatch(
      /events\[0\]\.channel of a private event must start with "user\."/,
    );
    expect(refusal(yaml('event: a.b\nrouting: symbol\nchannel: c\ncolour: red'))).toMatch(
      /events\[0\] has unknown field "colour"/,
    );
    expect(refusal(file('broken.yaml', 'events: [\n'))).toMatch(/broken\.yaml: is not valid YAML/);
    expect(refusal(file('broken.json', '{"events": '))).toMatch(/broken\.json: is not valid JSON/);
    expect(refusal(file('empty.json', '{}'))).toMatch(
      /empty\.json: must hold an object with an "events" list, a "methods" list or both$/,
    );
    expect(refusal(file('list.json', '[]'))).toMatch(/must hold an object with an "events" list/);
    expect(refusal(file('events.json', '{"events": {}}'))).toMatch(
      /events\.json: "events" must be a list, got an object$/,
    );
    expect(refusal(join(dir, 'missing.yaml'))).toMatch(/missing\.yaml: cannot be read \(ENOENT\)/);
    expect(refusal(file('huge.json', ' '.repeat(1024 * 1024 + 1)))).toMatch(/is larger than/);
  });

  it('reads the methods section into the definitions requestMethod makes in code', () => {
    const { events, methods } = loadCatalogueFile(
      file(
        'methods.yaml',
        `methods:
  - method: order.place
    description: Place an order
    params:
      symbol: { type: symbol, required: true }
      quantity: { type: decimal, required: true }
      note: string
    rate: { perSecond: 2, burst: 4 }
    timeoutMs: 3000
    http: { url: "https://orders.internal/rpc" }
  - method: market.ask
    user: optional
    kafka: { topic: assistant.requests }
`,
      ),
    );
    expect(events).toEqual([]);
    expect(methods).toEqual([
      requestMethod({
        method: 'order.place',
        description: 'Place an order',
        params: {
          symbol: required('symbol'),
          quantity: required('decimal'),
          note: optional('string'),
        },
        user: undefined,
        rate: { perSecond: 2, burst: 4 },
        timeoutMs: 3000,
        backend: { http: { url: 'https://orders.internal/rpc' } },
      }),
      requestMethod({
        method: 'market.ask',
        params: {},
        user: 'optional',
        rate: undefined,
        timeoutMs: undefined,
        description: undefined,
        backend: { kafka: { topic: 'assistant.requests' } },
      }),
    ]);
    // JSON, beside events.
    const both = loadCatalogueFile(
      file(
        'both.json',
        JSON.stringify({
          events: [{ event: 'mark.price', routing: 'symbol', channel: 'mark' }],
          methods: [{ method: 'ping.me', http: { url: 'http://127.0.0.1:1/rpc' } }],
        }),
      ),
    );
    expect(both.events).toHaveLength(1);
    expect(both.methods.map((m) => m.method)).toEqual(['ping.me']);
  });

  it('names the file, the method entry and the field of every mistake in methods', () => {
    const yaml = (entry: string) =>
      file('methods.yaml', `methods:\n  - ${entry.replace(/\n/g, '\n    ')}\n`);
    const http = 'http: { url: "http://backend/rpc" }';
    const cases: Array<[string, RegExp]> = [
      [
        `method: Order.Place\n${http}`,
        /methods\.yaml: methods\[0\] \(Order\.Place\)\.method must be lowercase words joined by dots/,
      ],
      [`${http}`, /methods\[0\]\.method must be a string, got undefined$/],
      [
        'method: order.place',
        /methods\[0\] \(order\.place\) must have exactly one of http: \{ url \} or kafka: \{ topic \} \(a provider backend needs a host app; the standalone gateway has none\)$/,
      ],
      [
        `method: order.place\n${http}\nkafka: { topic: t }`,
        /methods\[0\] \(order\.place\) must have exactly one of http/,
      ],
      [
        'method: order.place\nprovider: OrdersHandler',
        /methods\[0\]\.provider: a provider backend is a class of a host app, and the standalone gateway has none; use http: \{ url \} or kafka: \{ topic \}$/,
      ],
      [
        'method: order.place\nhttp: { url: "ftp://backend/rpc" }',
        /methods\[0\] \(order\.place\)\.http\.url must be an http\(s\) URL, got "ftp:\/\/backend\/rpc"$/,
      ],
      ['method: order.place\nhttp: "http://backend"', /\(order\.place\)\.http must be \{ url \}/],
      [
        'method: order.place\nkafka: { topic: "bad topic" }',
        /\(order\.place\)\.kafka\.topic must be a Kafka topic name/,
      ],
      [
        `method: order.place\n${http}\nparams: { qty: money }`,
        /\(order\.place\)\.params\.qty\.type must be one of symbol, interval/,
      ],
      [
        `method: order.place\n${http}\nparams: { userId: string }`,
        /\(order\.place\)\.params\.userId cannot be declared: the backend gets the verified user/,
      ],
      [
        `method: order.place\n${http}\nuser: anyone`,
        /\(order\.place\)\.user must be required or optional, got "anyone"$/,
      ],
      [
        `method: order.place\n${http}\nrate: { perSecond: 0 }`,
        /\(order\.place\)\.rate\.perSecond must be a number above 0/,
      ],
      [
        `method: order.place\n${http}\nrate: { perSecond: 1, burst: 1.5 }`,
        /\(order\.place\)\.rate\.burst must be an integer from 1 to 100000, got 1\.5$/,
      ],
      [
        `method: order.place\n${http}\nrate: 5`,
        /\(order\.place\)\.rate must be \{ perSecond, burst \}/,
      ],
      [
        `method: order.place\n${http}\ntimeoutMs: 120000`,
        /\(order\.place\)\.timeoutMs must be an integer from 1 to 60000, got 120000$/,
      ],
      [
        `method: order.place\n${http}\ntimeoutMs: soon`,
        /\(order\.place\)\.timeoutMs must be a number/,
      ],
      [`method: order.place\n${http}\ncolour: red`, /methods\[0\] has unknown field "colour"/],
      [
        `method: order.place\n${http}\ndescription: ${'x'.repeat(1001)}`,
        /\(order\.place\)\.description is longer than 1000 characters$/,
      ],
    ];
    for (const [entry, message] of cases)
      expect([entry, refusal(yaml(entry))]).toEqual([entry, expect.stringMatching(message)]);
    expect(
      refusal(
        file(
          'twice.yaml',
          `methods:\n  - { method: a.b, ${http} }\n  - { method: a.b, kafka: { topic: t } }\n`,
        ),
      ),
    ).toMatch(/twice\.yaml: methods\[1\] \(a\.b\)\.method "a\.b" is declared twice$/);
    expect(refusal(file('notlist.yaml', 'methods: { method: a.b }\n'))).toMatch(
      /"methods" must be a list, got an object$/,
    );
    const many = Array.from({ length: 501 }, (_, i) => ({
      method: `m.n${i}`,
      http: { url: 'http://b/rpc' },
    }));
    expect(refusal(file('many.json', JSON.stringify({ methods: many })))).toMatch(
      /many\.json: holds more than 500 methods$/,
    );
    const fields = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`f${i}`, 'string']));
    expect(
      refusal(
        file(
          'fields.json',
          JSON.stringify({
            methods: [{ method: 'a.b', params: fields, http: { url: 'http://b' } }],
          }),
        ),
      ),
    ).toMatch(/methods\[0\] \(a\.b\)\.params names more than 100 fields$/);
  });
});
