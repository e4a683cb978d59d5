import { describe, it, expect } from 'vitest';
import Provider from 'oidc-provider';
import { keepClientInstances } from '../../src/oidc/client-instances.ts';
import type { ClientMetadata } from '../../src/clients/registration.ts';

function setup() {
  const registrations = new Map<string, ClientMetadata>();
  const store = { async find(id: string) { return registrations.get(id); } };
  let adapterFinds = 0;
  const provider = new Provider('http://localhost:3000', {
    adapter: () => ({
      async find(id: string) { adapterFinds++; return store.find(id); },
      async upsert() {}, async destroy() {}, async consume() {}, async revokeByGrantId() {},
      async findByUid() { return undefined; }, async findByUserCode() { return undefined; },
    }) as never,
  });
  keepClientInstances(provider, store);
  const app = (id: string, name: string): ClientMetadata => ({
    client_id: id, client_secret: 'a-secret-long-enough-for-the-library', client_name: name, redirect_uris: ['https://app.example/cb'],
  } as ClientMetadata);
  return { provider, registrations, app, adapterFinds: () => adapterFinds };
}

describe('keepClientInstances', () => {
  it('builds one Client per registration object and reuses it', async () => {
    const { provider, registrations, app, adapterFinds } = setup();
    registrations.set('a', app('a', 'A'));
    const first = await provider.Client.find('a');
    const again = await provider.Client.find('a');
    expect(first?.clientName).toBe('A');
    expect(again).toBe(first);
    expect(adapterFinds()).toBe(1); // the library was asked once
  });

  it('builds a new Client when the registration changes, and forgets a removed one', async () => {
    const { provider, registrations, app } = setup();
    registrations.set('a', app('a', 'A'));
    const before = await provider.Client.find('a');
    registrations.set('a', app('a', 'A renamed'));
    const after = await provider.Client.find('a');
    expect(after).not.toBe(before);
    expect(after?.clientName).toBe('A renamed');
    registrations.delete('a');
    expect(await provider.Client.find('a')).toBeUndefined();
    expect(await provider.Client.find('')).toBeUndefined();
  });

  it('refuses invalid metadata on every find, as the library does', async () => {
    const { provider, registrations } = setup();
    registrations.set('bad', { client_id: 'bad', redirect_uris: ['not a url'] } as unknown as ClientMetadata);
    await expect(provider.Client.find('bad')).rejects.toThrow();
    await expect(provider.Client.find('bad')).rejects.toThrow();
  });
});
