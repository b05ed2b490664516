import {
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { PublishApiOptions } from './publish-api-options.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** Lets a request through only with `Authorization: Bearer <PUBLISH_API_KEY>`. */
@Injectable()
export class PublishApiKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(PublishApiOptions) options: PublishApiOptions) {
    this.expected = digest(options.apiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const presented = /^Bearer\s+(.+)$/i.exec(header)?.[1] ?? '';
    // Digests of equal length, compared in constant time: the key leaks no prefix.
    if (presented === '' || !timingSafeEqual(digest(presented), this.expected)) {
      throw new UnauthorizedException(
        'missing or wrong publish API key (Authorization: Bearer <key>)',
      );
    }
    return true;
  }
}
