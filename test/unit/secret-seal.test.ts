import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { parseIdentityKeys } from '../../src/identity/protect.ts';
import { createSecretSealer, isSealed, secretValue, UnsealableSecret } from '../../src/clients/secret-seal.ts';

const key = () => randomBytes(32).toString('base64url');
const INDEX = key();
const K1 = key();
const K2 = key();
const sealerWith = (encryptionKeys: string) => createSecretSealer(parseIdentityKeys({ indexKey: INDEX, encryptionKeys }));
const SECRET = 'a-department-app-secret-0123456789abcdef';

describe('client secrets sealed at rest', () => {
  it('seals a secret so that it opens for its own client only, and never shows it', () => {
    const sealer = sealerWith(`k1:${K1}`);
    const stored = sealer.seal('tax', SECRET);
    expect(isSealed(stored)).toBe(true);
    expect(stored).toMatch(/^sealed:k1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(stored).not.toContain(SECRET);
    expect(sealer.seal('tax', SECRET)).not.toBe(stored); // a fresh IV each time
    expect(sealer.open('tax', stored)).toBe(SECRET);
    // Copied onto another client's row it does not open.
    expect(() => sealer.open('housing', stored)).toThrow(UnsealableSecret);
    expect(() => sealer.open('housing', stored)).toThrow(/client housing does not open: altered, or sealed for another client/);
  });

  it('refuses a sealed secret that was altered, relabelled or cut short', () => {
    const sealer = sealerWith(`k1:${K1},k2:${K2}`);
    const stored = sealer.seal('tax', SECRET);
    const [kid, iv, ct, tag] = stored.slice('sealed:'.length).split('.') as [string, string, string, string];
    // The first character: all six of its bits are data (the last one's may be padding that decodes alike).
    const flipped = `${ct.startsWith('A') ? 'B' : 'A'}${ct.slice(1)}`;
    expect(() => sealer.open('tax', `sealed:${kid}.${iv}.${flipped}.${tag}`)).toThrow(/does not open/);
    expect(() => sealer.open('tax', `sealed:k2.${iv}.${ct}.${tag}`)).toThrow(/does not open/); // the key id is authenticated
    expect(() => sealer.open('tax', `sealed:${kid}.${iv}.${ct}.${tag.slice(0, 10)}`)).toThrow(/malformed/);
    expect(() => sealer.open('tax', `sealed:${kid}.${iv}.${ct}`)).toThrow(/malformed/);
  });

  it('keeps environment references and values already sealed as they are, and opens clear legacy values as they are', () => {
    const sealer = sealerWith(`k1:${K1}`);
    expect(sealer.seal('tax', 'env:TAX_CLIENT_SECRET')).toBe('env:TAX_CLIENT_SECRET');
    const stored = sealer.seal('tax', SECRET);
    expect(sealer.seal('tax', stored)).toBe(stored);
    expect(sealer.open('tax', SECRET)).toBe(SECRET);
    expect(sealer.sealIn({ client_id: 'pub', token_endpoint_auth_method: 'none' })).toEqual({ client_id: 'pub', token_endpoint_auth_method: 'none' });
    const metadata = sealer.sealIn({ client_id: 'tax', client_secret: SECRET, client_name: '电子税务局' });
    expect(metadata).toMatchObject({ client_id: 'tax', client_name: '电子税务局', client_secret: expect.stringMatching(/^sealed:k1\./) });
    expect(sealer.openIn(metadata)).toEqual({ client_id: 'tax', client_secret: SECRET, client_name: '电子税务局' });
  });

  it('fingerprints a secret with a key of its own: stable across encryption-key rotation, different for another client or secret', () => {
    const before = sealerWith(`k1:${K1}`);
    const after = sealerWith(`k2:${K2},k1:${K1}`);
    const print = before.fingerprint('tax', SECRET);
    expect(after.fingerprint('tax', SECRET)).toBe(print);
    expect(print).toMatch(/^[\w-]{43}$/);
    expect(print).not.toContain(SECRET);
    expect(before.fingerprint('housing', SECRET)).not.toBe(print);
    expect(before.fingerprint('tax', `${SECRET}x`)).not.toBe(print);
    // Without the keys it cannot be recomputed: another deployment's index key gives another fingerprint.
    expect(createSecretSealer(parseIdentityKeys({ indexKey: key(), encryptionKeys: `k1:${K1}` })).fingerprint('tax', SECRET)).not.toBe(print);
  });

  it('reads the secret a client authenticates with from any stored form, and none from one that does not open', () => {
    const sealer = sealerWith(`k1:${K1}`);
    const env = { TAX_CLIENT_SECRET: SECRET };
    expect(secretValue(sealer, env, 'tax', 'env:TAX_CLIENT_SECRET')).toBe(SECRET);
    expect(secretValue(sealer, env, 'tax', 'env:UNSET')).toBeUndefined();
    expect(secretValue(sealer, env, 'tax', sealer.seal('tax', SECRET))).toBe(SECRET);
    expect(secretValue(sealer, env, 'tax', SECRET)).toBe(SECRET); // clear, from before sealing
    expect(secretValue(sealer, env, 'housing', sealer.seal('tax', SECRET))).toBeUndefined();
  });

  it('follows the identity keys: new secrets under the current key id, older ones open while their key is kept', () => {
    const before = sealerWith(`k1:${K1}`).seal('tax', SECRET);
    const rotated = sealerWith(`k2:${K2},k1:${K1}`);
    expect(rotated.open('tax', before)).toBe(SECRET);
    expect(rotated.seal('tax', SECRET)).toMatch(/^sealed:k2\./);
    expect(() => sealerWith(`k2:${K2}`).open('tax', before)).toThrow(/sealed with encryption key "k1", which the configured keys no longer include/);
  });
});
