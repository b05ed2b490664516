import { randomBytes } from 'node:crypto';

/** The simulated users anyone can sign in as on the demo page. */
export const DEMO_USERS = ['alice', 'bob', 'carol'] as const;
export type DemoUser = (typeof DEMO_USERS)[number];

/** Demo tokens are short-lived, so the page shows refresh at work. */
export const DEMO_TOKEN_TTL_SECONDS = 300;

/** A new secret per process: demo tokens never work anywhere else. */
export const DEMO_JWT_SECRET = randomBytes(32).toString('hex');
