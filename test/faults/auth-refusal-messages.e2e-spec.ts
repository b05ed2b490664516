import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Logger, type LoggerService } from '@nestjs/common';
import { AuthFailureLog } from '#realtime/internal';
import { GatewayHarness, command } from '../support/gateway-harness.js';
import { TEST_SECRET, hsToken } from '../support/tokens.js';

/** Values a stranger must not learn from a refusal: they say which tokens the gateway takes. */
const ISSUER = 'https://issuer-kept-private.exchange.test';
const AUDIENCES = ['audience-kept-private', 'second-audience-kept-private'];
const SECRETS = [ISSUER, ...AUDIENCES, 'kept-private'];
const claims = { iss: ISSUER, aud: AUDIENCES[0] };

/** Every line the gateway logs, at every level, with its context. */
class CapturedLog implements LoggerService {
  readonly lines: string[] = [];
  private keep =
    (level: string) =>
    (message: unknown, ...rest: unknown[]) =>
      this.lines.push(`${level} ${[message, ...rest].map(String).join(' ')}`);
  log = this.keep('log');
  error = this.keep('error');
  warn = this.keep('warn');
  debug = this.keep('debug');
  verbose = this.keep('verbose');
  fatal = this.keep('fatal');
}

const expectNoSecret = (text: string) => {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
};

/**
 * jsonwebtoken's messages name what it expected ("jwt issuer invalid. expected: ..."), and the
 * gateway passed them on: a refused connection learnt the configured issuer and audiences.
 */
describe('token refusals name the claim, never the configured issuer or audience', () => {
  let gateway: GatewayHarness;
  const log = new CapturedLog();

  beforeAll(async () => {
    gateway = await GatewayHarness.start({
      auth: { secret: TEST_SECRET, issuer: ISSUER, audience: AUDIENCES },
    });
    Logger.overrideLogger(log);
  });
  afterAll(async () => {
    await gateway.stop();
  });

  const refusals: Array<[string, () => string, string]> = [
    [
      'a wrong issuer',
      () => hsToken('alice', { claims: { ...claims, iss: 'https://other.test' } }),
      'token issuer (iss) is not accepted',
    ],
    [
      'no issuer',
      () => hsToken('alice', { claims: { aud: AUDIENCES[0] } }),
      'token issuer (iss) is not accepted',
    ],
    [
      'a wrong audience',
      () => hsToken('alice', { claims: { ...claims, aud: 'billing' } }),
      'token audience (aud) is not accepted',
    ],
    [
      'wrong audiences in an array',
      () => hsToken('alice', { claims: { ...claims, aud: ['billing', 'kept'] } }),
      'token audience (aud) is not accepted',
    ],
    [
      'no audience',
      () => hsToken('alice', { claims: { iss: ISSUER } }),
      'token audience (aud) is not accepted',
    ],
  ];

  it.each(refusals)(
    'refuses a connection with %s, naming only the claim',
    async (_case, token, says) => {
      const failures = gateway.app.get(AuthFailureLog);
      const before = failures.total();
      const lines = log.lines.length;
      const refused = await gateway.connect({ auth: { token: token() } }).then(
        () => undefined,
        (error: { data?: { code: string; message: string } }) => error.data,
      );
      expect(refused).toEqual({ code: 'AUTH_INVALID', message: expect.stringContaining(says) });
      expectNoSecret(refused!.message);
      expect(failures.total()).toBe(before + 1);
      for (const kind of failures.counts().keys()) expectNoSecret(kind);
      for (const line of log.lines.slice(lines)) expectNoSecret(line);
      // Logged once per kind: the first refusal of this kind, now or earlier, names the claim.
      expect(
        log.lines.some((line) => line.includes('Refused a token') && line.includes(says)),
      ).toBe(true);
    },
  );

  it.each(refusals)(
    'refuses auth.refresh with %s, naming only the claim',
    async (_case, token, says) => {
      // Accepted: the issuer, and any one configured audience among others in an array.
      const accepted = { iss: ISSUER, aud: ['billing', AUDIENCES[1]] };
      const socket = await gateway.connect({
        auth: { token: hsToken('alice', { claims: accepted }) },
      });
      const answer = await command(socket, 'auth.refresh', { token: token() });
      expect(answer).toEqual({
        ok: false,
        command: 'auth.refresh',
        error: { code: 'AUTH_INVALID', message: expect.stringContaining(says) },
      });
      expectNoSecret(answer.error.message);
      expect(socket.connected).toBe(true);
      for (const line of log.lines) expectNoSecret(line);
    },
  );

  it('refuses an admin request with a wrong issuer without naming the expected one', async () => {
    const token = hsToken('root', {
      claims: { ...claims, iss: 'https://other.test', roles: ['admin'] },
    });
    const response = await fetch(`${gateway.url}/admin/stats`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { message: string };
    expect(body.message).toContain('token issuer (iss) is not accepted');
    expectNoSecret(body.message);
  });
});
