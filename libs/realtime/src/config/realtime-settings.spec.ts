import { describe, expect, it } from '@jest/globals';
import { RealtimeSettings } from './realtime-settings.js';

describe('RealtimeSettings', () => {
  it('defaults to the /ws namespace and any origin', () => {
    const settings = new RealtimeSettings();
    expect(settings.namespace).toBe('/ws');
    expect(settings.corsOrigins).toBe('*');
  });

  it('refuses a namespace without a leading slash and origins with a path', () => {
    expect(() => new RealtimeSettings({ namespace: 'ws' })).toThrow(
      'namespace must start with "/"',
    );
    expect(() => new RealtimeSettings({ corsOrigins: ['https://a.example/app'] })).toThrow(
      'scheme://host',
    );
  });
});
