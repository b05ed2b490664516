/** Whether this instance can reach the other instances right now (Redis connected). */
export interface ClusterLink {
  readonly connected: boolean;
}
