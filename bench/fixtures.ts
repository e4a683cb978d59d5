// What the bench registers and signs in with, shared by the runner and the server child: one
// first-party confidential department app, and numbered citizens with valid (fictitious) ID numbers.
import { checkCharacter } from '../src/identity/id-number.ts';

/** Starts the one stdout line by which the server child says it is listening (JSON follows). */
export const READY_PREFIX = 'BENCH-READY ';

export const BENCH_CLIENT = {
  id: 'bench-app',
  secret: 'bench-only-client-secret-0123456789abcdef',
  // Nothing listens here: the load generator stops at the redirect and reads the code from it.
  redirectUri: 'http://localhost:3999/callback',
  scope: 'openid profile',
} as const;

/** The registration file the server child writes into CLIENTS_DIR before it starts. */
export function benchClientRegistration(): Record<string, unknown> {
  return {
    client_id: BENCH_CLIENT.id,
    client_secret: BENCH_CLIENT.secret,
    client_name: '性能测试应用',
    department: '性能测试',
    description: 'Load-generator client (bench/), never deployed.',
    first_party: true,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [BENCH_CLIENT.redirectUri],
    grant_types: ['authorization_code'],
    allowed_scopes: ['openid', 'profile'],
  };
}

export interface Citizen { idNumber: string; password: string; name: string }

/** Citizen i: Beijing Chaoyang (110105), born i days after 1 January 1980 (so numbers never collide). */
export function citizen(i: number): Citizen {
  const birth = new Date(Date.UTC(1980, 0, 1 + i)).toISOString().slice(0, 10).replaceAll('-', '');
  const first17 = `110105${birth}${String(1 + (i % 998)).padStart(3, '0')}`;
  return { idNumber: first17 + checkCharacter(first17), password: `bench password ${i} correct horse`, name: `压测用户${i}` };
}

export function citizens(count: number): Citizen[] {
  return Array.from({ length: count }, (_, i) => citizen(i));
}
