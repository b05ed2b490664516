import {
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import { BearerToken } from '../auth/bearer-token.js';
import { PublishApiOptions } from './publish-api-options.js';

/** Lets a request through only with `Authorization: Bearer <PUBLISH_API_KEY>`. */
@Injectable()
export class PublishApiKeyGuard implements CanActivate {
  private readonly key: BearerToken;

  constructor(@Inject(PublishApiOptions) options: PublishApiOptions) {
    this.key = new BearerToken(options.apiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (!this.key.matches(request.headers.authorization)) {
      throw new UnauthorizedException(
        'missing or wrong publish API key (Authorization: Bearer <key>)',
      );
    }
    return true;
  }
}
