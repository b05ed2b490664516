import { Module, type DynamicModule } from '@nestjs/common';
import { EventIngress } from '#realtime';
import { KafkaEventBridge } from './kafka-event-bridge.js';
import type { KafkaIngressOptions } from './kafka-ingress-options.js';
import { KafkaIngressServer } from './kafka-ingress.server.js';

/** Provides the Kafka transport; the app connects it with `connectMicroservice`. */
@Module({})
export class KafkaIngressModule {
  static forRoot(options: KafkaIngressOptions): DynamicModule {
    return {
      module: KafkaIngressModule,
      providers: [
        {
          provide: KafkaIngressServer,
          useFactory: (ingress: EventIngress) =>
            new KafkaIngressServer(
              options,
              new KafkaEventBridge(ingress, options.deadLetterTopic).handle,
            ),
          inject: [EventIngress],
        },
      ],
      exports: [KafkaIngressServer],
    };
  }
}
