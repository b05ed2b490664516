/** HTTP publish API settings (`PUBLISH_*` variables). */
export interface PublishApiOptions {
  /** `PUBLISH_API_KEY`: the bearer key publishers send; the API is off without one. */
  apiKey: string;
  /** `PUBLISH_MAX_BODY_BYTES`: largest request body accepted. Default 1 MiB. */
  maxBodyBytes: number;
  /** `PUBLISH_MAX_BATCH`: most events in one request. Default 1000. */
  maxBatch: number;
}

/** Injection token of the PublishApiOptions. */
export const PublishApiOptions = Symbol('PublishApiOptions');
