/** Operator API settings. */
export interface AdminOptions {
  /** `ADMIN_ROLE`: the token role (`role` / `roles` claim) that may use /admin. Default `admin`. */
  role: string;
}

/** Injection token of the AdminOptions. */
export const AdminOptions = Symbol('AdminOptions');
