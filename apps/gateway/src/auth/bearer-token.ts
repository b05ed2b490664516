import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** One expected `Authorization: Bearer <token>`, checked in constant time. */
export class BearerToken {
  private readonly expected: Buffer;

  constructor(token: string) {
    this.expected = digest(token);
  }

  /** Whether an `Authorization` header carries the token. */
  matches(authorization: string | undefined): boolean {
    const presented = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1] ?? '';
    // Digests of equal length, compared in constant time: the token leaks no prefix or length.
    return presented !== '' && timingSafeEqual(digest(presented), this.expected);
  }
}
