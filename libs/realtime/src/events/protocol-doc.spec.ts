import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { RealtimeErrorCode } from '../errors/realtime-error-code.js';
import { KLINE_INTERVALS, MARKET_CHANNELS, USER_CHANNELS } from './channels.js';
import { EVENT_CATALOGUE } from './event-catalogue.js';
import { ClientEvent, ServerEvent } from './protocol-events.js';

const protocol = readFileSync(new URL('../../../../docs/PROTOCOL.md', import.meta.url), 'utf8');

describe('docs/PROTOCOL.md', () => {
  it.each([
    ...[...EVENT_CATALOGUE.keys()].map((name) => ['event', name]),
    ...Object.values(RealtimeErrorCode).map((code) => ['error code', code]),
    ...Object.values(ServerEvent).map((name) => ['server event', name]),
    ...Object.values(ClientEvent).map((name) => ['command', name]),
    ...[...MARKET_CHANNELS, ...USER_CHANNELS].map((channel) => ['channel', channel]),
  ])('documents the %s `%s`', (_kind, name) => {
    expect(protocol).toContain('`' + name + '`');
  });

  it('lists every kline interval', () => {
    expect(protocol).toContain(KLINE_INTERVALS.join(' '));
  });
});
