// Keyed protection of ID numbers at rest (PIPL art. 28–29: ID numbers are sensitive personal
// information). A blind index (HMAC) lets us find an account without storing the number;
// AES-256-GCM keeps it recoverable for the few flows that must show or send it.
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';

// KeyObjects made once: given a raw Buffer, Node 24 builds a new key object inside every createHmac and
// createCipheriv call (HMAC ≈ 35 µs with a Buffer, ≈ 5 µs with a KeyObject on this machine).
export interface IdentityKeys {
  indexKey: KeyObject; // 32-byte secret key
  encryptionKeys: Map<string, KeyObject>; // kid → 32-byte secret key
  currentKid: string;
}

/** IdentityKeys from raw 32-byte keys (as parsed, or as sent to an import worker thread). */
function identityKeysFrom(raw: { indexKey: Uint8Array; encryptionKeys: Map<string, Uint8Array>; currentKid: string }): IdentityKeys {
  return {
    indexKey: createSecretKey(raw.indexKey),
    encryptionKeys: new Map([...raw.encryptionKeys].map(([kid, key]) => [kid, createSecretKey(key)])),
    currentKid: raw.currentKid,
  };
}

const KID = /^[A-Za-z0-9_-]{1,32}$/;
const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit random IVs
const TAG_BYTES = 16; // full tag; shorter tags would make forgery easier (SP 800-38D App. C)

// The ID type is part of the MAC input so a resident number and a permit number with the
// same digits never share an index.
export function blindIndex(keys: IdentityKeys, idType: string, number: string): string {
  return createHmac('sha256', keys.indexKey).update(`${idType}:${number}`).digest('base64url');
}

// The kid is bound as additional authenticated data, so a ciphertext cannot be relabelled
// to another key id without failing authentication.
export function encryptIdNumber(keys: IdentityKeys, number: string): string {
  const kid = keys.currentKid;
  const key = keys.encryptionKeys.get(kid);
  if (!key) throw new Error('unknown key id');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(kid, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(number, 'utf8'), cipher.final()]);
  return [kid, iv.toString('base64url'), ciphertext.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function decryptIdNumber(keys: IdentityKeys, token: string): string {
  const parts = token.split('.');
  if (parts.length !== 4) throw new Error('malformed identity ciphertext');
  const [kid, iv, ciphertext, tag] = parts as [string, string, string, string];
  const key = keys.encryptionKeys.get(kid);
  if (!key) throw new Error('unknown key id');
  const ivBytes = Buffer.from(iv, 'base64url');
  const tagBytes = Buffer.from(tag, 'base64url');
  if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES) throw new Error('malformed identity ciphertext');
  // authTagLength pins the tag size: without it Node would accept a truncated tag.
  const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(kid, 'utf8'));
  decipher.setAuthTag(tagBytes);
  const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]);
  return plain.toString('utf8');
}

// Node's base64 decoder skips characters it does not know, so the alphabet is checked first;
// both the standard and the URL-safe alphabets are accepted.
function decodeKey(text: string, variable: string, what: string): Buffer {
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : undefined;
  if (!bytes || bytes.length !== 32) {
    throw new Error(`${variable}: ${what} must be base64 or base64url encoding exactly 32 random bytes`);
  }
  return bytes;
}

// Error messages name the variable and the entry's position, never its contents: a
// malformed entry may be a key pasted in the wrong place.
export function parseIdentityKeys(input: { indexKey: string; encryptionKeys: string }): IdentityKeys {
  const indexKey = decodeKey(input.indexKey.trim(), 'YIHAO_INDEX_KEY', 'the key');
  const encryptionKeys = new Map<string, Buffer>();
  const entries = input.encryptionKeys.split(',').map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error('YIHAO_ENCRYPTION_KEYS: expected "kid:base64key[,kid:base64key…]" (the first is current)');
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1}`;
    const colon = entry.indexOf(':');
    const kid = colon < 0 ? '' : entry.slice(0, colon).trim();
    if (!KID.test(kid)) {
      throw new Error(`YIHAO_ENCRYPTION_KEYS: ${where} must be "kid:base64key" with a key id of 1–32 letters, digits, "_" or "-"`);
    }
    if (encryptionKeys.has(kid)) throw new Error(`YIHAO_ENCRYPTION_KEYS: ${where} repeats a key id`);
    const key = decodeKey(entry.slice(colon + 1).trim(), 'YIHAO_ENCRYPTION_KEYS', `the key of ${where}`);
    // One key, one purpose: the index key must not double as an encryption key.
    if (timingSafeEqual(key, indexKey)) throw new Error(`YIHAO_ENCRYPTION_KEYS: the key of ${where} must differ from YIHAO_INDEX_KEY`);
    encryptionKeys.set(kid, key);
  });
  return identityKeysFrom({ indexKey, encryptionKeys, currentKid: [...encryptionKeys.keys()][0]! });
}

export function generateIdentityKeySpec(): { indexKey: string; encryptionKeys: string } {
  const kid = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
  return {
    indexKey: randomBytes(32).toString('base64url'),
    encryptionKeys: `${kid}:${randomBytes(32).toString('base64url')}`,
  };
}
