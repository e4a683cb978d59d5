// Where the identity keys come from: the environment in production (fail closed), or a
// development file generated on first start so `npm start` works with no setup.
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { generateIdentityKeySpec, parseIdentityKeys, type IdentityKeys } from './protect.ts';

const KeyFileSchema = z.object({ indexKey: z.string(), encryptionKeys: z.string() });

export interface LoadedIdentityKeys {
  keys: IdentityKeys;
  generated: boolean;
  source: 'environment' | 'file';
}

export async function loadIdentityKeys(opts: {
  indexKey?: string;
  encryptionKeys?: string;
  dataDir: string;
  production: boolean;
}): Promise<LoadedIdentityKeys> {
  const { indexKey, encryptionKeys } = opts;
  if (indexKey && encryptionKeys) {
    return { keys: parseIdentityKeys({ indexKey, encryptionKeys }), generated: false, source: 'environment' };
  }
  if (opts.production) throw new Error('YIHAO_INDEX_KEY and YIHAO_ENCRYPTION_KEYS are required when NODE_ENV=production');
  // Half a configuration is a mistake, not a request for the development file.
  if (indexKey || encryptionKeys) throw new Error('YIHAO_INDEX_KEY and YIHAO_ENCRYPTION_KEYS must be set together');

  const path = join(opts.dataDir, 'identity-keys.json');
  let generated = false;
  let text = await readIfExists(path);
  if (text === undefined) {
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    generated = await createExclusive(path, `${JSON.stringify(generateIdentityKeySpec(), null, 2)}\n`);
    text = await readFile(path, 'utf8'); // another process may have won the race
  }
  let spec: z.infer<typeof KeyFileSchema>;
  try {
    spec = KeyFileSchema.parse(JSON.parse(text));
  } catch {
    throw new Error(`${path}: not a valid identity key file (expected JSON with "indexKey" and "encryptionKeys")`);
  }
  try {
    return { keys: parseIdentityKeys(spec), generated, source: 'file' };
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

// The key is written whole to a private temporary file, then link()ed into place: link fails if the
// target exists, so two processes starting together never overwrite each other's key, and the loser
// never reads a half-written file (as it could with open(O_EXCL) followed by a write).
async function createExclusive(path: string, content: string): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => {});
  }
}
