import { describe, expect, it } from '@jest/globals';
import { ConfigError, loadGatewayConfig } from './gateway-config.js';

describe('loadGatewayConfig', () => {
  it('has defaults for everything', () => {
    expect(loadGatewayConfig({})).toEqual({
      port: 3000,
      host: undefined,
      corsOrigins: '*',
      symbols: undefined,
    });
  });

  it('reads every variable', () => {
    expect(
      loadGatewayConfig({
        PORT: '8080',
        HOST: '127.0.0.1',
        CORS_ORIGINS: 'https://a.example, http://localhost:5173',
        SYMBOLS: 'BTCUSDT,ETHUSDT',
      }),
    ).toEqual({
      port: 8080,
      host: '127.0.0.1',
      corsOrigins: ['https://a.example', 'http://localhost:5173'],
      symbols: ['BTCUSDT', 'ETHUSDT'],
    });
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT must be an integer from 0 to 65535, got "abc"'],
    [{ PORT: '70000' }, 'PORT must be an integer from 0 to 65535, got "70000"'],
    [{ PORT: '80.5' }, 'PORT must be an integer'],
    [{ CORS_ORIGINS: 'example.com' }, 'CORS_ORIGINS entries must be origins'],
    [{ CORS_ORIGINS: 'https://a.example/path' }, 'CORS_ORIGINS entries must be origins'],
    [{ SYMBOLS: 'BTCUSDT,eth' }, 'SYMBOLS entries must match'],
  ])('names the variable in its one-line error for %j', (env, message) => {
    expect(() => loadGatewayConfig(env)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(env)).toThrow(message);
  });
});
