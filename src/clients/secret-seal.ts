// Client secrets at rest: the clients table holds a confidential client's secret sealed (AES-256-GCM), never
// in clear, so that a copy of the database — a backup, a replica, a dump handed to support — does not let
// anyone act as a department's app. oidc-provider needs the secret itself (it compares client_secret_basic /
// client_secret_post in constant time), so it is opened when a registration is served, in memory only.
//
// The key: derived (HKDF-SHA256, a purpose of its own) from each identity encryption key, so the keys file
// or YIHAO_ENCRYPTION_KEYS that protects ID numbers protects secrets too, with the same key ids and rotation:
// new secrets are sealed under the current key id, older ones open as long as their key id is kept.
// The client_id and key id are authenticated with the ciphertext: a sealed secret copied onto another
// client's row, or relabelled to another key, does not open.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import type { IdentityKeys } from '../identity/protect.ts';
import type { ClientMetadata } from './registration.ts';

const PREFIX = 'sealed:';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const PURPOSE = 'yihao client_secret at rest v1';
const FINGERPRINT_PURPOSE = 'yihao client_secret fingerprint v1';

export class UnsealableSecret extends Error {}

export interface SecretSealer {
  /** The stored form of a secret: sealed; "env:NAME" references and already sealed values stay as they are. */
  seal(clientId: string, secret: string): string;
  /** The secret itself from its stored form (a clear value written before sealing existed is returned as is). */
  open(clientId: string, stored: string): string;
  sealIn(metadata: ClientMetadata): ClientMetadata;
  openIn(metadata: ClientMetadata): ClientMetadata;
  /**
   * A keyed digest of a secret, stable across encryption-key rotation, for noticing that it changed (the hash
   * `clients apply` keeps of a file) without storing anything a guess could be checked against offline.
   */
  fingerprint(clientId: string, secret: string): string;
}

export const isSealed = (value: unknown): value is string => typeof value === 'string' && value.startsWith(PREFIX);

const aad = (clientId: string, kid: string) => Buffer.from(`client_secret\0${clientId}\0${kid}`, 'utf8');

export function createSecretSealer(keys: IdentityKeys): SecretSealer {
  // Derived once per key id (HKDF is not cheap enough to run per request).
  const derived = new Map<string, KeyObject>([...keys.encryptionKeys].map(([kid, key]) =>
    [kid, createSecretKey(Buffer.from(hkdfSync('sha256', key.export(), Buffer.alloc(0), PURPOSE, 32)))]));

  // From the blind-index key, which is not rotated: a fingerprint stays the same when encryption keys change.
  const fingerprintKey = createSecretKey(Buffer.from(hkdfSync('sha256', keys.indexKey.export(), Buffer.alloc(0), FINGERPRINT_PURPOSE, 32)));

  const sealer: SecretSealer = {
    seal(clientId, secret) {
      if (secret.startsWith('env:') || isSealed(secret)) return secret;
      const kid = keys.currentKid;
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', derived.get(kid)!, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(aad(clientId, kid));
      const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
      return `${PREFIX}${[kid, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.')}`;
    },
    open(clientId, stored) {
      if (!isSealed(stored)) return stored;
      const [kid, iv, ciphertext, tag, extra] = stored.slice(PREFIX.length).split('.');
      const key = kid === undefined ? undefined : derived.get(kid);
      if (!key) throw new UnsealableSecret(`the secret of client ${clientId} was sealed with encryption key "${kid}", which the configured keys no longer include`);
      const ivBytes = Buffer.from(iv ?? '', 'base64url');
      const tagBytes = Buffer.from(tag ?? '', 'base64url');
      if (extra !== undefined || ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new UnsealableSecret(`the sealed secret of client ${clientId} is malformed`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(clientId, kid!));
        decipher.setAuthTag(tagBytes);
        return Buffer.concat([decipher.update(Buffer.from(ciphertext ?? '', 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new UnsealableSecret(`the sealed secret of client ${clientId} does not open: altered, or sealed for another client`);
      }
    },
    sealIn(metadata) {
      const secret = metadata.client_secret;
      return typeof secret === 'string' ? { ...metadata, client_secret: sealer.seal(metadata.client_id, secret) } : metadata;
    },
    fingerprint(clientId, secret) {
      return createHmac('sha256', fingerprintKey).update(`${clientId}\0${secret}`).digest('base64url');
    },
    openIn(metadata) {
      const secret = metadata.client_secret;
      return isSealed(secret) ? { ...metadata, client_secret: sealer.open(metadata.client_id, secret) } : metadata;
    },
  };
  return sealer;
}

/**
 * The secret a client authenticates with, from the form it is stored in: an "env:NAME" reference read from
 * `env`, a sealed value opened, a clear one (written before sealing existed) as is. Undefined when a sealed
 * value does not open: such a secret authenticates nobody.
 */
export function secretValue(sealer: SecretSealer, env: Record<string, string | undefined>, clientId: string, stored: string): string | undefined {
  if (stored.startsWith('env:')) return env[stored.slice(4)];
  try {
    return sealer.open(clientId, stored);
  } catch (err) {
    if (err instanceof UnsealableSecret) return undefined;
    throw err;
  }
}
