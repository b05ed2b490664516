import { describe, expect, it } from '@jest/globals';
import { absorbRejections } from './rejection-absorbing-client.js';

class ClientWithPrivateState {
  #offline = true;
  publishes = 0;

  publish(channel: string): Promise<number> {
    this.publishes++;
    return this.#offline ? Promise.reject(new Error(`offline: ${channel}`)) : Promise.resolve(1);
  }

  goOnline(): this {
    this.#offline = false;
    return this;
  }
}

describe('absorbRejections', () => {
  it('reports a rejection nobody handles instead of letting it end the process', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failures: string[] = [];
      const client = absorbRejections(new ClientWithPrivateState(), (command, error) =>
        failures.push(`${command}: ${(error as Error).message}`),
      );
      void client.publish('bus');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(failures).toEqual(['publish: offline: bus']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('still hands the caller the same outcome, with the real client as `this`', async () => {
    const real = new ClientWithPrivateState();
    const client = absorbRejections(real, () => undefined);
    await expect(client.publish('bus')).rejects.toThrow('offline: bus');
    client.goOnline();
    await expect(client.publish('bus')).resolves.toBe(1);
    expect(real.publishes).toBe(2);
    expect(client.publish).toBe(client.publish);
  });
});
