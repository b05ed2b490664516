import { describe, expect, it } from '@jest/globals';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { symbolEvent } from './events/custom-events.js';
import { required } from './events/payload-schema.js';
import { RealtimeCatalogue } from './events/realtime-catalogue.js';
import { RealtimeModule } from './realtime.module.js';

const fundingRate = symbolEvent('funding.rate', {
  channel: 'funding',
  schema: { rate: required('decimal') },
});

describe('RealtimeModule events option', () => {
  it('merges host events given through forRootAsync', async () => {
    const module = await Test.createTestingModule({
      imports: [
        EventEmitterModule.forRoot(),
        RealtimeModule.forRootAsync({ useFactory: async () => ({ events: [fundingRate] }) }),
      ],
    }).compile();
    try {
      const catalogue = module.get(RealtimeCatalogue);
      expect(catalogue.definition('funding.rate')).toBe(fundingRate);
      expect(catalogue.channel('funding')?.events).toEqual([fundingRate]);
    } finally {
      await module.close();
    }
  });

  it('stops start-up on a clash with one line naming the definition', async () => {
    const clash = symbolEvent('order.filled', { channel: 'fills' });
    await expect(
      Test.createTestingModule({
        imports: [EventEmitterModule.forRoot(), RealtimeModule.forRoot({ events: [clash] })],
      }).compile(),
    ).rejects.toThrow(
      'RealtimeModule option events[0] defines event "order.filled", which is built in',
    );
  });
});
