import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { JsonLogger } from './json-logger.js';

describe('JsonLogger', () => {
  let out: string[];
  let err: string[];

  beforeEach(() => {
    out = [];
    err = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((line) => out.push(String(line)) > 0);
    jest.spyOn(process.stderr, 'write').mockImplementation((line) => err.push(String(line)) > 0);
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('writes one JSON object per line with time, level, context and message', () => {
    new JsonLogger('info').log('listening on http://127.0.0.1:3000', 'Gateway');
    expect(out).toHaveLength(1);
    expect(out[0]!.endsWith('\n')).toBe(true);
    expect(JSON.parse(out[0]!)).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      level: 'info',
      context: 'Gateway',
      msg: 'listening on http://127.0.0.1:3000',
    });
  });

  it('sends errors with their stack to stderr', () => {
    new JsonLogger('info').error('boom', 'Error: boom\n    at x', 'Kafka');
    expect(JSON.parse(err[0]!)).toMatchObject({
      level: 'error',
      context: 'Kafka',
      msg: 'boom',
      stack: 'Error: boom\n    at x',
    });
  });

  it('drops lines below LOG_LEVEL', () => {
    const logger = new JsonLogger('warn');
    logger.log('quiet', 'X');
    logger.debug('quieter', 'X');
    logger.warn('loud', 'X');
    expect(out.map((line) => JSON.parse(line).msg)).toEqual(['loud']);
  });
});
