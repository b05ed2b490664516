import { describe, expect, it } from '@jest/globals';
import { RealtimeOptionsError } from '../errors/realtime-options.error.js';
import { resolveDeadManSwitch } from './dead-man-switch-options.js';

const SECRET = 'a-secret-of-16-chars';

describe('resolveDeadManSwitch', () => {
  it('is off without options and applies every default with {}', () => {
    expect(resolveDeadManSwitch(undefined)).toBeUndefined();
    expect(resolveDeadManSwitch({})).toEqual({
      url: undefined,
      secret: undefined,
      graceMs: 0,
      retries: 3,
      retryDelayMs: 500,
      timeoutMs: 5000,
      heartbeatMs: 2000,
      instanceTimeoutMs: 10_000,
    });
  });

  it('needs an http(s) url and, with it, a secret of 16 characters or more', () => {
    expect(() => resolveDeadManSwitch({ url: 'ftp://backend', secret: SECRET })).toThrow(
      RealtimeOptionsError,
    );
    expect(() => resolveDeadManSwitch({ url: 'not a url', secret: SECRET })).toThrow(
      'deadManSwitch.url',
    );
    expect(() => resolveDeadManSwitch({ url: 'https://backend/cod' })).toThrow(
      'deadManSwitch.secret',
    );
    expect(() => resolveDeadManSwitch({ url: 'https://backend/cod', secret: 'short' })).toThrow(
      'deadManSwitch.secret',
    );
    expect(resolveDeadManSwitch({ url: 'https://backend/cod', secret: SECRET })).toMatchObject({
      url: 'https://backend/cod',
      secret: SECRET,
    });
  });

  it('refuses numbers out of range, and an instance timeout under two heartbeats', () => {
    expect(() => resolveDeadManSwitch({ graceMs: -1 })).toThrow('deadManSwitch.graceMs');
    expect(() => resolveDeadManSwitch({ retries: 1.5 })).toThrow('deadManSwitch.retries');
    expect(() => resolveDeadManSwitch({ heartbeatMs: 1000, instanceTimeoutMs: 1500 })).toThrow(
      'deadManSwitch.instanceTimeoutMs',
    );
    // A long heartbeat raises the default timeout with it.
    expect(resolveDeadManSwitch({ heartbeatMs: 8000 })!.instanceTimeoutMs).toBe(16_000);
  });
});
