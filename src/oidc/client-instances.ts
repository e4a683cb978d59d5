// oidc-provider builds a Client from what the Client adapter returns and, on every Client.find — several
// per protocol request — hashes JSON.stringify(metadata) with SHA-256 to find the instance again in a
// 100-entry LRU, which thrashes with more active clients than that (oidc-provider #645). Our client store
// hands out the same metadata object until the registration changes (src/clients/store.ts, and the CAS and
// console wrappers derive one object per stored one), so the instance is kept with that object instead:
// no hashing, no LRU, and a changed registration is a new object, hence a new Client.
import type Provider from 'oidc-provider';
import type { ClientMetadata } from '../clients/registration.ts';

type ClientInstance = Awaited<ReturnType<Provider['Client']['find']>>;

export function keepClientInstances(provider: Provider, store: { find(clientId: string): Promise<ClientMetadata | undefined> }) {
  const { Client } = provider;
  const find = Client.find.bind(Client);
  const instances = new WeakMap<ClientMetadata, Promise<ClientInstance>>();
  Client.find = async (id: string) => {
    if (typeof id !== 'string' || !id) return find(id); // malformed: the library's own answer
    const metadata = await store.find(id);
    // Unknown: the library would ask the Client adapter, i.e. the same store, again (no static clients here).
    if (!metadata) return undefined;
    let client = instances.get(metadata);
    if (!client) {
      client = find(id);
      instances.set(metadata, client);
      // Invalid metadata: the library refuses it again on the next find, as it would without us.
      client.catch(() => { if (instances.get(metadata) === client) instances.delete(metadata); });
    }
    return client;
  };
}
