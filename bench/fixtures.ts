// What the bench registers and signs in with, shared by the runner, the load generator and both
// servers (yihao reads the registrations as files; the ceiling gets the same ones as static clients):
// first-party confidential department apps, a machine client, and numbered citizens with valid
// (fictitious) ID numbers.
import { checkCharacter } from '../src/identity/id-number.ts';

/** Starts the one stdout line by which a server child says it is listening (JSON follows). */
export const READY_PREFIX = 'BENCH-READY ';

export interface BenchClient { id: string; secret: string; redirectUri: string; scope: string }

// Nothing listens at the redirect URIs: the load generator stops at the redirect and reads the code from it.
const app = (id: string, secret: string): BenchClient => ({ id, secret, redirectUri: 'http://localhost:3999/callback', scope: 'openid profile' });

/** The app of every row: connect, refresh (with offline_access), userinfo, introspection. */
export const BENCH_CLIENT = app('bench-app', 'bench-only-client-secret-0123456789abcdef');
/** Two more apps, so that one SSO session can be connected at three (Redis bytes per session). */
export const OTHER_APPS = [
  app('bench-app-2', 'bench-only-client-secret-2-0123456789abcdef'),
  app('bench-app-3', 'bench-only-client-secret-3-0123456789abcdef'),
] as const;
/** Machine to machine (client_credentials): yihao allows that grant only with the admin scope. */
export const MACHINE_CLIENT = { id: 'bench-machine', secret: 'bench-only-machine-secret-0123456789abcdef', scope: 'admin:clients' } as const;

function appRegistration(c: BenchClient, name: string, refresh: boolean): Record<string, unknown> {
  return {
    client_id: c.id,
    client_secret: c.secret,
    client_name: name,
    department: '性能测试',
    description: 'Load-generator client (bench/), never deployed.',
    first_party: true,
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [c.redirectUri],
    grant_types: refresh ? ['authorization_code', 'refresh_token'] : ['authorization_code'],
    allowed_scopes: refresh ? ['openid', 'profile', 'offline_access'] : ['openid', 'profile'],
  };
}

/** The registration files the server child writes into CLIENTS_DIR before it starts. */
export function benchClientRegistrations(): Array<Record<string, unknown>> {
  return [
    appRegistration(BENCH_CLIENT, '性能测试应用', true),
    ...OTHER_APPS.map((c, i) => appRegistration(c, `性能测试应用${i + 2}`, false)),
    {
      client_id: MACHINE_CLIENT.id,
      client_secret: MACHINE_CLIENT.secret,
      client_name: '性能测试机器客户端',
      department: '性能测试',
      description: 'Load-generator machine client (bench/), never deployed.',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      allowed_scopes: [MACHINE_CLIENT.scope],
    },
  ];
}

/** The first one (bench-app), for callers that register only it. */
export function benchClientRegistration(): Record<string, unknown> {
  return benchClientRegistrations()[0]!;
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
