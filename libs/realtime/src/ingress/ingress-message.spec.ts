import { describe, expect, it } from '@jest/globals';
import { RealtimeSettings } from '../config/realtime-settings.js';
import { checkIngressMessage, isViolation } from './ingress-message.js';
import { RealtimeCatalogue } from '../events/realtime-catalogue.js';

const settings = new RealtimeSettings();
const catalogue = new RealtimeCatalogue();
const check = (message: unknown) => checkIngressMessage(message, catalogue, settings);

describe('checkIngressMessage', () => {
  it('accepts { event, data } of a catalogue event and ignores other top-level fields', () => {
    const result = check({
      event: 'trade',
      data: { symbol: 'BTCUSDT' },
      producedBy: 'matching-engine',
    });
    expect(isViolation(result)).toBe(false);
    expect(result).toMatchObject({
      definition: { event: 'trade', channel: 'trades' },
      data: { symbol: 'BTCUSDT' },
    });
  });

  it.each([
    [null, 'message', 'message must be an object { event, data }, got null'],
    [[], 'message', 'message must be an object { event, data }, got an array'],
    [{ data: {} }, 'event', 'event must be a string, got undefined'],
    [
      { event: 'order.teleported', data: {} },
      'event',
      'event "order.teleported" is not an event of the catalogue',
    ],
    [{ event: 'trade' }, 'data', 'data must be an object, got undefined'],
  ])('refuses %j at %s', (message, field, text) => {
    expect(check(message)).toMatchObject({ code: 'INVALID_PAYLOAD', field, message: text });
  });

  it('names the event of a payload that fails its schema', () => {
    expect(check({ event: 'kline.update', data: { symbol: 'BTCUSDT', interval: '2h' } })).toEqual({
      event: 'kline.update',
      code: 'INVALID_INTERVAL',
      field: 'data.interval',
      message: expect.stringContaining('data.interval must be a kline interval'),
    });
  });
});
