// Signing keys as JWK files in KEYS_DIR: `<kid>.private.json` (git-ignored, mode 0600).
// ES256 signs by default; RS256 exists for legacy relying parties that cannot verify ECDSA.
// Rotation is two-phase so that every process knows a key before any process signs with it:
//   `yihao keys rotate` stages new keys (published in JWKS, not yet used) → roll all processes →
//   `yihao keys rotate` again promotes them (old keys retire but stay published to verify tokens) → roll.
import { mkdir, readdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export type KeyStatus = 'active' | 'staged' | 'retired';
export interface StoredKey { jwk: JWK & { kid: string; alg: string }; status: KeyStatus; created: string; file: string }

const ALGS = ['ES256', 'RS256'] as const;

async function generate(alg: (typeof ALGS)[number], status: KeyStatus, dir: string): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
  const created = new Date().toISOString();
  const kid = `${alg.toLowerCase()}-${created.slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const key: StoredKey = { jwk, status, created, file: `${dir}/${kid}.private.json` };
  await save(key);
  return key;
}

async function save(key: StoredKey): Promise<void> {
  await writeFile(key.file, `${JSON.stringify({ ...key.jwk, yihao: { status: key.status, created: key.created } }, null, 2)}\n`, { mode: 0o600 });
  await chmod(key.file, 0o600);
}

export async function readKeys(dir: string): Promise<StoredKey[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.private.json'));
  } catch {
    return [];
  }
  const keys: StoredKey[] = [];
  for (const f of files) {
    const file = `${dir}/${f}`;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new Error(`${file}: not a valid JWK file (${(err as Error).message})`);
    }
    const { yihao, ...jwk } = raw as { yihao?: { status?: KeyStatus; created?: string } } & JWK;
    if (typeof jwk.kid !== 'string' || typeof jwk.alg !== 'string' || !jwk.d) throw new Error(`${file}: a private JWK with kid and alg is required`);
    keys.push({ jwk: jwk as StoredKey['jwk'], status: yihao?.status ?? 'active', created: yihao?.created ?? '', file });
  }
  // Active first (newest first), so the provider signs with the newest active key of each algorithm.
  const rank: Record<KeyStatus, number> = { active: 0, staged: 1, retired: 2 };
  return keys.sort((a, b) => rank[a.status] - rank[b.status] || b.created.localeCompare(a.created));
}

/** Keys for the provider; generates the first set when none exist (refused in production). */
export async function loadSigningKeys(dir: string, options: { production: boolean }): Promise<{ jwks: { keys: JWK[] }; generated: boolean }> {
  let keys = await readKeys(dir);
  let generated = false;
  if (!keys.some((k) => k.status === 'active')) {
    if (options.production) throw new Error(`no signing keys in ${dir}: run \`yihao keys rotate\` twice before starting in production`);
    await mkdir(dir, { recursive: true });
    for (const alg of ALGS) await generate(alg, 'active', dir);
    keys = await readKeys(dir);
    generated = true;
  }
  return { jwks: { keys: keys.map((k) => k.jwk) }, generated };
}

/** One phase of rotation: stage new keys, or promote staged keys and retire the active ones. */
export async function rotateSigningKeys(dir: string): Promise<{ phase: 'staged' | 'promoted'; kids: string[] }> {
  await mkdir(dir, { recursive: true });
  const keys = await readKeys(dir);
  const staged = keys.filter((k) => k.status === 'staged');
  if (staged.length === 0) {
    const created = [];
    for (const alg of ALGS) created.push(await generate(alg, keys.length ? 'staged' : 'active', dir));
    return { phase: keys.length ? 'staged' : 'promoted', kids: created.map((k) => k.jwk.kid) };
  }
  for (const k of keys.filter((k) => k.status === 'active')) await save({ ...k, status: 'retired' });
  for (const k of staged) await save({ ...k, status: 'active' });
  return { phase: 'promoted', kids: staged.map((k) => k.jwk.kid) };
}
