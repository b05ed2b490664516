import {
  ForbiddenException,
  Inject,
  Injectable,
  UnauthorizedException,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import type { Request } from 'express';
import { RealtimeException, TokenVerifier } from '#realtime/internal';
import { AdminOptions } from './admin-options.js';

/** Lets a request through with `Authorization: Bearer <JWT>` whose roles include the admin role. */
@Injectable()
export class AdminRoleGuard implements CanActivate {
  constructor(
    @Inject(TokenVerifier) private readonly verifier: TokenVerifier,
    @Inject(AdminOptions) private readonly options: AdminOptions,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!token)
      throw new UnauthorizedException('an admin token is required (Authorization: Bearer <JWT>)');
    let roles: string[];
    try {
      roles = this.verifier.verify(token).roles;
    } catch (error) {
      if (error instanceof RealtimeException)
        throw new UnauthorizedException(`${error.code}: ${error.message}`);
      throw error;
    }
    if (!roles.includes(this.options.role))
      throw new ForbiddenException(`the token lacks the "${this.options.role}" role`);
    return true;
  }
}
