import { Module, type DynamicModule } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { EventIngress, ReadinessRegistry, RealtimeMetrics } from '#realtime';
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
          useFactory: (
            ingress: EventIngress,
            readiness: ReadinessRegistry,
            metrics: RealtimeMetrics,
          ) => {
            const lag = new Gauge({
              name: 'realtime_kafka_consumer_lag',
              help: 'Messages behind the end of each partition, after the last batch',
              labelNames: ['topic', 'partition'],
              registers: [metrics.registry],
            });
            const server = new KafkaIngressServer(
              options,
              new KafkaEventBridge(ingress, options.deadLetterTopic).handle,
              (topic, partition, behind) => lag.set({ topic, partition }, behind),
            );
            readiness.add(server);
            return server;
          },
          inject: [EventIngress, ReadinessRegistry, RealtimeMetrics],
        },
      ],
      exports: [KafkaIngressServer],
    };
  }
}
