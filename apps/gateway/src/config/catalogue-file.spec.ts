import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { optional, required } from '#realtime';
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
    );
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
    expect(loadCatalogueFile(path)).toEqual([
      expect.objectContaining({ event: 'mark.price', channel: 'mark' }),
    ]);
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
    expect(refusal(file('empty.json', '{}'))).toMatch(/must hold an object with an "events" list/);
    expect(refusal(join(dir, 'missing.yaml'))).toMatch(/missing\.yaml: cannot be read \(ENOENT\)/);
    expect(refusal(file('huge.json', ' '.repeat(1024 * 1024 + 1)))).toMatch(/is larger than/);
  });
});
