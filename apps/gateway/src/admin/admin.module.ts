import { Module, type DynamicModule } from '@nestjs/common';
import { AdminOptions } from './admin-options.js';
import { AdminRoleGuard } from './admin-role.guard.js';
import { AdminController } from './admin.controller.js';

/** Operator endpoints under /admin, behind an admin-role JWT. */
@Module({})
export class AdminModule {
  static forRoot(options: AdminOptions): DynamicModule {
    return {
      module: AdminModule,
      controllers: [AdminController],
      providers: [{ provide: AdminOptions, useValue: options }, AdminRoleGuard],
    };
  }
}
