import {
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { BearerToken } from '../auth/bearer-token.js';
import { MetricsOptions } from './metrics-options.js';

/** With `METRICS_TOKEN` set, lets a scrape through only with `Authorization: Bearer <token>`. */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly token: BearerToken | undefined;

  constructor(@Inject(MetricsOptions) options: MetricsOptions) {
    this.token = options.token === undefined ? undefined : new BearerToken(options.token);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.token === undefined) return true;
    const http = context.switchToHttp();
    if (this.token.matches(http.getRequest<Request>().headers.authorization)) return true;
    http.getResponse<Response>().setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
    throw new UnauthorizedException(
      'missing or wrong metrics token (Authorization: Bearer <METRICS_TOKEN>)',
    );
  }
}
