/** Kafka ingress settings (`KAFKA_*` variables). */
export interface KafkaIngressOptions {
  /** `KAFKA_BROKERS`: bootstrap brokers, `host:port`. */
  brokers: string[];
  /** `KAFKA_GROUP_ID`: consumer group every gateway instance shares. */
  groupId: string;
  /** `KAFKA_TOPICS`: topics consumed; the event name inside each message decides routing. */
  topics: string[];
  /** `KAFKA_CLIENT_ID`: client id shown in broker logs and metrics. */
  clientId: string;
  /** `KAFKA_DLQ_TOPIC`: where refused messages go, with the reason in headers; unset: nowhere. */
  deadLetterTopic?: string;
}

export const DEFAULT_KAFKA_TOPICS = [
  'exchange.market-data',
  'exchange.user-events',
  'exchange.system-events',
];
export const DEFAULT_KAFKA_GROUP_ID = 'realtime-gateway';
