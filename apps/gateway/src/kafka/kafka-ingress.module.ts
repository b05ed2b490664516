import { Module, type DynamicModule } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import {
  EventIngress,
  ReadinessRegistry,
  RealtimeMetrics,
  RejectedEventLog,
} from '#realtime/internal';
import { KafkaDeadLetters } from './kafka-dead-letters.js';
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
            rejected: RejectedEventLog,
          ) => {
            const lag = new Gauge({
              name: 'realtime_kafka_consumer_lag',
              help: 'Messages behind the end of each partition, after the last batch',
              labelNames: ['topic', 'partition'],
              registers: [metrics.registry],
            });
            const server = new KafkaIngressServer(
              options,
              new KafkaEventBridge(ingress, rejected, deadLetters(options, metrics)).handle,
              (topic, partition, behind) => lag.set({ topic, partition }, behind),
            );
            readiness.add(server);
            return server;
          },
          inject: [EventIngress, ReadinessRegistry, RealtimeMetrics, RejectedEventLog],
        },
      ],
      exports: [KafkaIngressServer],
    };
  }
}

function deadLetters(
  options: KafkaIngressOptions,
  metrics: RealtimeMetrics,
): KafkaDeadLetters | undefined {
  if (!options.deadLetterTopic) return undefined;
  const lost = new Counter({
    name: 'realtime_kafka_dead_letters_lost_total',
    help: 'Refused messages not copied to KAFKA_DLQ_TOPIC after retries, by source topic; each stays at its offset there',
    labelNames: ['topic'],
    registers: [metrics.registry],
  });
  return new KafkaDeadLetters(options.deadLetterTopic, (topic) => lost.inc({ topic }));
}
