import { describe, it, expect, afterEach } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  blindIndex, decryptIdNumber, encryptIdNumber, generateIdentityKeySpec, parseIdentityKeys,
} from '../../src/identity/protect.ts';
import { loadIdentityKeys } from '../../src/identity/keys-file.ts';
import { pairwiseSubject } from '../../src/oidc/provider.ts';
import { createSecretKey } from 'node:crypto';

const NUMBER = '11010519491231002X';
const b64 = () => randomBytes(32).toString('base64');
const keysFrom = (spec = generateIdentityKeySpec()) => parseIdentityKeys(spec);

describe('blindIndex', () => {
  const keys = keysFrom();

  it('is deterministic base64url of an HMAC-SHA256', () => {
    const index = blindIndex(keys, 'resident', NUMBER);
    expect(index).toBe(blindIndex(keys, 'resident', NUMBER));
    expect(index).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(index).not.toContain(NUMBER);
  });

  it('depends on the key, the ID type and the number', () => {
    const index = blindIndex(keys, 'resident', NUMBER);
    expect(blindIndex(keysFrom(), 'resident', NUMBER)).not.toBe(index);
    expect(blindIndex(keys, 'hk_mo_tw_permit', NUMBER)).not.toBe(index);
    expect(blindIndex(keys, 'resident', '110105194912310029')).not.toBe(index);
  });
});

describe('encryptIdNumber / decryptIdNumber', () => {
  const keys = keysFrom();

  it('round-trips', () => {
    expect(decryptIdNumber(keys, encryptIdNumber(keys, NUMBER))).toBe(NUMBER);
  });

  it('uses a fresh IV each time and never contains the number', () => {
    const a = encryptIdNumber(keys, NUMBER);
    const b = encryptIdNumber(keys, NUMBER);
    expect(a).not.toBe(b);
    for (const token of [a, b]) {
      expect(token).not.toContain(NUMBER);
      expect(token).not.toContain(Buffer.from(NUMBER).toString('base64url'));
      expect(token.split('.')).toHaveLength(4);
      expect(token.split('.')[0]).toBe(keys.currentKid);
    }
  });

  it('throws when any part is tampered with', () => {
    const token = encryptIdNumber(keys, NUMBER);
    const parts = token.split('.');
    for (let i = 1; i < 4; i++) {
      const bytes = Buffer.from(parts[i]!, 'base64url');
      bytes[0]! ^= 1;
      const tampered = parts.with(i, bytes.toString('base64url')).join('.');
      expect(() => decryptIdNumber(keys, tampered), `part ${i}`).toThrow();
    }
    expect(() => decryptIdNumber(keys, parts.with(0, 'other').join('.'))).toThrow('unknown key id');
    expect(() => decryptIdNumber(keys, parts.slice(0, 3).join('.'))).toThrow();
    expect(() => decryptIdNumber(keys, parts.with(3, parts[3]!.slice(0, 10)).join('.')), 'truncated tag').toThrow();
  });

  it('rejects a ciphertext relabelled with another kid holding the same key', () => {
    const key = b64();
    const twin = parseIdentityKeys({ indexKey: b64(), encryptionKeys: `a:${key},b:${key}` });
    const token = encryptIdNumber(twin, NUMBER);
    expect(() => decryptIdNumber(twin, token.replace(/^a\./, 'b.'))).toThrow();
  });

  it('still decrypts under an old kid after rotation; new ciphertexts use the first key', () => {
    const oldSpec = { indexKey: b64(), encryptionKeys: `k2024:${b64()}` };
    const old = parseIdentityKeys(oldSpec);
    const oldToken = encryptIdNumber(old, NUMBER);
    const rotated = parseIdentityKeys({ indexKey: oldSpec.indexKey, encryptionKeys: `k2025:${b64()},${oldSpec.encryptionKeys}` });
    expect(rotated.currentKid).toBe('k2025');
    expect(decryptIdNumber(rotated, oldToken)).toBe(NUMBER);
    expect(encryptIdNumber(rotated, NUMBER)).toMatch(/^k2025\./);
    expect(blindIndex(rotated, 'resident', NUMBER)).toBe(blindIndex(old, 'resident', NUMBER));
  });
});

describe('parseIdentityKeys', () => {
  it('accepts base64 and base64url, padded or not, with spaces around entries', () => {
    const raw = randomBytes(32);
    for (const indexKey of [raw.toString('base64'), raw.toString('base64url'), raw.toString('base64').replace(/=+$/, '')]) {
      const keys = parseIdentityKeys({ indexKey, encryptionKeys: ` k1:${b64()} , k_2-x:${randomBytes(32).toString('base64url')} ` });
      expect(keys.indexKey.export().equals(raw)).toBe(true);
      expect([...keys.encryptionKeys.keys()]).toEqual(['k1', 'k_2-x']);
      expect(keys.currentKid).toBe('k1');
    }
  });

  const secret = randomBytes(32).toString('base64url');
  const short = randomBytes(16).toString('base64');
  const long = randomBytes(33).toString('base64');
  const bad: Array<[string, { indexKey: string; encryptionKeys: string }, string]> = [
    ['short index key', { indexKey: short, encryptionKeys: `k1:${secret}` }, 'YIHAO_INDEX_KEY'],
    ['long index key', { indexKey: long, encryptionKeys: `k1:${secret}` }, 'YIHAO_INDEX_KEY'],
    ['index key not base64', { indexKey: `${secret.slice(0, 40)}!!!`, encryptionKeys: `k1:${b64()}` }, 'YIHAO_INDEX_KEY'],
    ['empty index key', { indexKey: '', encryptionKeys: `k1:${secret}` }, 'YIHAO_INDEX_KEY'],
    ['short encryption key', { indexKey: secret, encryptionKeys: `k1:${short}` }, 'YIHAO_ENCRYPTION_KEYS'],
    ['long encryption key', { indexKey: b64(), encryptionKeys: `k1:${secret},k2:${long}` }, 'YIHAO_ENCRYPTION_KEYS'],
    ['missing kid', { indexKey: b64(), encryptionKeys: secret }, 'YIHAO_ENCRYPTION_KEYS'],
    ['empty kid', { indexKey: b64(), encryptionKeys: `:${secret}` }, 'YIHAO_ENCRYPTION_KEYS'],
    ['kid with a dot', { indexKey: b64(), encryptionKeys: `k.1:${secret}` }, 'YIHAO_ENCRYPTION_KEYS'],
    ['kid too long', { indexKey: b64(), encryptionKeys: `${'k'.repeat(33)}:${secret}` }, 'YIHAO_ENCRYPTION_KEYS'],
    ['kid is a key', { indexKey: b64(), encryptionKeys: `${secret}:${secret}` }, 'YIHAO_ENCRYPTION_KEYS'],
    ['duplicate kid', { indexKey: b64(), encryptionKeys: `k1:${secret},k1:${b64()}` }, 'YIHAO_ENCRYPTION_KEYS'],
    ['no entries', { indexKey: b64(), encryptionKeys: ' , ' }, 'YIHAO_ENCRYPTION_KEYS'],
    ['index key reused', { indexKey: secret, encryptionKeys: `k1:${secret}` }, 'YIHAO_ENCRYPTION_KEYS'],
  ];
  for (const [name, input, variable] of bad) {
    it(`rejects ${name}, naming ${variable} and revealing no key material`, () => {
      let message = '';
      try {
        parseIdentityKeys(input);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toContain(variable);
      for (const material of [secret, secret.slice(0, 12), short.slice(0, 12), long.slice(0, 12), input.indexKey.slice(0, 12)]) {
        if (material) expect(message).not.toContain(material);
      }
    });
  }
});

describe('generateIdentityKeySpec', () => {
  it('produces fresh keys that parse, with a dated kid', () => {
    const a = generateIdentityKeySpec();
    const b = generateIdentityKeySpec();
    expect(a.indexKey).not.toBe(b.indexKey);
    expect(a.encryptionKeys).toMatch(/^k\d{8}:[A-Za-z0-9_-]{43}$/);
    expect(parseIdentityKeys(a).indexKey.symmetricKeySize).toBe(32);
  });
});

describe('loadIdentityKeys', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'yihao-keys-'));
    dirs.push(dir);
    return dir;
  };
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });

  it('generates a 0600 file in a new data directory, then reuses it', async () => {
    const dataDir = join(await tempDir(), 'nested', 'data');
    const first = await loadIdentityKeys({ dataDir, production: false });
    expect(first).toMatchObject({ generated: true, source: 'file' });
    const file = join(dataDir, 'identity-keys.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveProperty('indexKey');

    const second = await loadIdentityKeys({ dataDir, production: false });
    expect(second).toMatchObject({ generated: false, source: 'file' });
    expect(second.keys.indexKey.equals(first.keys.indexKey)).toBe(true);
    expect(decryptIdNumber(second.keys, encryptIdNumber(first.keys, NUMBER))).toBe(NUMBER);
  });

  it('generates one file when started concurrently', async () => {
    const dataDir = await tempDir();
    const results = await Promise.all([1, 2, 3].map(() => loadIdentityKeys({ dataDir, production: false })));
    expect(results.filter((r) => r.generated)).toHaveLength(1);
    for (const r of results) expect(r.keys.indexKey.equals(results[0]!.keys.indexKey)).toBe(true);
  });

  it('prefers keys from the environment and writes no file', async () => {
    const dataDir = await tempDir();
    const spec = generateIdentityKeySpec();
    for (const production of [false, true]) {
      const r = await loadIdentityKeys({ ...spec, dataDir, production });
      expect(r).toMatchObject({ generated: false, source: 'environment' });
      expect(r.keys.currentKid).toBe(spec.encryptionKeys.split(':')[0]);
    }
    await expect(stat(join(dataDir, 'identity-keys.json'))).rejects.toThrow();
  });

  it('throws in production without keys, and never falls back to the file', async () => {
    const dataDir = await tempDir();
    await loadIdentityKeys({ dataDir, production: false });
    const expected = 'YIHAO_INDEX_KEY and YIHAO_ENCRYPTION_KEYS are required when NODE_ENV=production';
    await expect(loadIdentityKeys({ dataDir, production: true })).rejects.toThrow(expected);
    await expect(loadIdentityKeys({ indexKey: b64(), dataDir, production: true })).rejects.toThrow(expected);
  });

  it('refuses half a configuration in development', async () => {
    const dataDir = await tempDir();
    await expect(loadIdentityKeys({ encryptionKeys: `k1:${b64()}`, dataDir, production: false })).rejects.toThrow('set together');
  });

  it('reports a corrupt key file by path, without its contents', async () => {
    const dataDir = await tempDir();
    const file = join(dataDir, 'identity-keys.json');
    const secret = randomBytes(32).toString('base64url');
    await writeFile(file, JSON.stringify({ indexKey: secret, encryptionKeys: `bad kid:${secret}` }));
    const error = await loadIdentityKeys({ dataDir, production: false }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).not.toContain(secret);
    await writeFile(file, 'not json');
    await expect(loadIdentityKeys({ dataDir, production: false })).rejects.toThrow(file);
  });
});

describe('pairwiseSubject', () => {
  it('gives the same subject with the key as a string or as the KeyObject the provider makes once', () => {
    const key = randomBytes(32).toString('base64url');
    const client = { department: 'dept', sectorIdentifier: 'app.example.gov.cn' };
    expect(pairwiseSubject(createSecretKey(key, 'utf8'), client, 'acc-1')).toBe(pairwiseSubject(key, client, 'acc-1'));
    expect(pairwiseSubject(key, client, 'acc-1')).not.toBe(pairwiseSubject(key, client, 'acc-2'));
  });
});
