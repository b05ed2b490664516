/** What apps/gateway loads besides the library's required peers. */
export declare const GATEWAY_PACKAGES: string[];

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

/** The gateway's manifest from the repository's: production dependencies only, no peers. */
export declare function gatewayManifest(manifest: Manifest): Manifest & {
  dependencies: Record<string, string>;
};
