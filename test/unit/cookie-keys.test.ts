// The cookie signer must sign exactly as Keygrip (what Koa's cookies library would use with the same keys),
// so that cookies signed before it verify after, and across a key rotation.
import { describe, it, expect } from 'vitest';
import Keygrip from 'keygrip';
import { cookieSigner } from '../../src/http/cookie-keys.ts';

const KEYS = ['a'.repeat(43), 'second key ü with non-ASCII 密钥 and enough length'];
const DATA = ['_session=abc123', '_interaction=Zx-9_q', '', '名=值; spaces and = signs'];

describe('cookieSigner', () => {
  const ours = cookieSigner(KEYS);
  const theirs = new Keygrip(KEYS);

  it('signs what Keygrip signs, and verifies what Keygrip signed', () => {
    for (const d of DATA) {
      expect(ours.sign(d)).toBe(theirs.sign(d));
      expect(ours.index(d, theirs.sign(d))).toBe(0);
      expect(theirs.index(d, ours.sign(d))).toBe(0);
    }
  });

  it('verifies a cookie signed with an older key (rotation) by its index, and nothing else', () => {
    const old = new Keygrip([KEYS[1]!]).sign(DATA[0]!);
    expect(ours.index(DATA[0]!, old)).toBe(1);
    expect(ours.verify(DATA[0]!, old)).toBe(true);
    const good = ours.sign(DATA[0]!);
    for (const forged of [good.slice(0, -1), `${good}A`, `${good}=`, good.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), '', theirs.sign(DATA[1]!)]) {
      expect(ours.index(DATA[0]!, forged), forged).toBe(-1);
    }
    expect(ours.index(DATA[0]!, undefined as unknown as string)).toBe(-1);
    expect(() => cookieSigner([])).toThrow(/at least one/);
  });
});
