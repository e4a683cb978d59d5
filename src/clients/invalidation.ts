// Every process keeps its own client cache (src/clients/store.ts); a change made in one process must reach
// the others. With Redis: each committed change publishes the client id on `<REDIS_KEY_PREFIX>clients:changed`,
// and every server process re-reads that one client — in well under a second. Without Redis, the periodic
// full refresh is the bound (docs/scaling.md).
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import type { ClientStore } from './store.ts';

export const clientsChannel = (redisKeyPrefix: string) => `${redisKeyPrefix}clients:changed`;

/** Full refresh of every process's cache: the staleness bound without Redis, a safety net with it. */
export const CLIENT_REFRESH_MS = { withRedis: 60_000, withoutRedis: 10_000 };

/** Publishes each committed change made through this store. Returns the function that stops it. */
export function publishClientChanges(store: ClientStore, redis: Redis, channel: string, log: Logger): () => void {
  return store.onChange((clientId) => {
    // A lost message leaves other processes stale until their next full refresh: say so.
    redis.publish(channel, clientId).catch((err: unknown) => log.warn('client change not published', { clientId, err }));
  });
}

/**
 * Re-reads a client whenever another process announces a change. Subscribing needs a connection of its
 * own (a subscribed Redis connection can do nothing else). Messages sent while the connection was down
 * are lost, so a reconnection reloads every client. Resolves once subscribed; returns the stop function.
 */
export async function followClientChanges(store: ClientStore, redis: Redis, channel: string, log: Logger): Promise<() => void> {
  const sub = redis.duplicate();
  let subscribedOnce = false;
  sub.on('message', (ch: string, clientId: string) => {
    if (ch !== channel) return;
    log.debug('client changed elsewhere: reloading it', { clientId });
    store.reload(clientId).catch((err: unknown) => log.warn('client reload failed', { clientId, err }));
  });
  sub.on('ready', () => {
    if (!subscribedOnce) return;
    store.refresh().catch((err: unknown) => log.warn('client refresh after Redis reconnection failed', { err }));
  });
  sub.on('error', (err: unknown) => log.warn('client change subscription', { err }));
  await sub.subscribe(channel);
  subscribedOnce = true;
  return () => { sub.disconnect(); };
}
