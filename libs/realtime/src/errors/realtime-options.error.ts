/** A module option that cannot work; `option` names it (e.g. `auth.publicKey`). */
export class RealtimeOptionsError extends Error {
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super(`RealtimeModule option ${option} ${problem}`);
    this.name = 'RealtimeOptionsError';
  }
}
