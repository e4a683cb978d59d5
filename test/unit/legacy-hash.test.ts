// Legacy hash schemes against vectors from their standards and from independent implementations,
// so our constructions are the ones the legacy systems used, not merely self-consistent.
import { describe, it, expect } from 'vitest';
import { checkLegacyHash, isLegacyHash, verifyLegacyHash, MAX_BCRYPT_COST } from '../../src/accounts/legacy-hash.ts';

const hex = (s: string) => s.replace(/\s/g, '');

describe('legacy password hashes', () => {
  // John the Ripper / OpenBSD test vectors: "U*U" and the empty password at cost 5.
  it('verifies bcrypt in its $2a$, $2b$ and $2y$ spellings', async () => {
    const tail = '$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
    for (const v of ['2a', '2b', '2y']) {
      expect(await verifyLegacyHash(`$${v}${tail}`, 'U*U')).toBe(true);
      expect(await verifyLegacyHash(`$${v}${tail}`, 'U*V')).toBe(false);
    }
    expect(await verifyLegacyHash('$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy', '')).toBe(true);
  });

  it('answers concurrent bcrypt verifications each with its own result (one worker thread, in turn)', async () => {
    const hash = '$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW';
    const guesses = ['U*U', 'U*V', 'U*U', '', 'U*U'];
    expect(await Promise.all(guesses.map((g) => verifyLegacyHash(hash, g)))).toEqual([true, false, true, false, true]);
  });

  // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", c = 1), first 32 bytes; and one from Python's hashlib.
  it('verifies Django-style PBKDF2-SHA256', async () => {
    expect(await verifyLegacyHash('pbkdf2_sha256$1$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=', 'passwd')).toBe(true);
    expect(await verifyLegacyHash('pbkdf2_sha256$1$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=', 'passwe')).toBe(false);
    const django = 'pbkdf2_sha256$260000$seasalt42$sunLLjQUOeE37K8ea/7l3L5tJTnXOMmyzv8SW/PXxLs=';
    expect(await verifyLegacyHash(django, '密码 correct horse')).toBe(true);
  });

  // GB/T 32905-2016 Appendix A: SM3("abc") and SM3("abcd" × 16); FIPS 180-2: SHA-256("abc").
  // The salt is the prefix: salt "a" + password "bc" hashes "abc".
  it('verifies salted SM3 and SHA-256 as H(salt ‖ password)', async () => {
    expect(await verifyLegacyHash('sm3$a$66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0', 'bc')).toBe(true);
    const sm3Long = hex('debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732');
    expect(await verifyLegacyHash(`sm3$abcd$${sm3Long}`, 'abcd'.repeat(15))).toBe(true);
    expect(await verifyLegacyHash(`sm3$abcd$${sm3Long.toUpperCase()}`, 'abcd'.repeat(15))).toBe(true);
    expect(await verifyLegacyHash(`sm3$abcd$${sm3Long}`, 'abcd'.repeat(14))).toBe(false);
    const sha = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(await verifyLegacyHash(`sha256$a$${sha}`, 'bc')).toBe(true);
    expect(await verifyLegacyHash(`sha256$ab$${sha}`, 'c')).toBe(true);
    expect(await verifyLegacyHash(`sha256$a$${sha}`, 'bd')).toBe(false);
    expect(await verifyLegacyHash(`sm3$a$${sha}`, 'bc')).toBe(false); // right digest, wrong scheme
  });

  it('names the scheme of a usable hash and says why others are refused', () => {
    expect(checkLegacyHash('$2b$10$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW')).toEqual({ ok: true, scheme: 'bcrypt' });
    expect(checkLegacyHash(`sm3$x$${'0'.repeat(64)}`)).toEqual({ ok: true, scheme: 'sm3' });
    const refused = (h: string) => { const r = checkLegacyHash(h); return r.ok ? 'accepted' : r.reason; };
    expect(refused(`$2b$${MAX_BCRYPT_COST + 1}$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW`)).toMatch(/cost/);
    expect(refused('pbkdf2_sha256$99999999$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=')).toMatch(/iterations/);
    expect(refused('pbkdf2_sha256$0$salt$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw=')).toMatch(/iterations/);
    expect(refused('sha256$salt$abc')).toMatch(/malformed/);
    expect(refused('sha256$$' + '0'.repeat(64))).toMatch(/malformed/); // empty salt
    expect(refused('md5$salt$0123')).toMatch(/unknown hash scheme/);
    expect(refused('$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')).toMatch(/unknown hash scheme/);
  });

  it('fails closed on hashes it cannot use, even at login', async () => {
    expect(await verifyLegacyHash(`$2b$31$${'C'.repeat(53)}`, 'x')).toBe(false); // cost beyond the bound: never computed
    expect(await verifyLegacyHash('sha256$salt$zz', 'x')).toBe(false);
    expect(isLegacyHash('sha256$broken')).toBe(true);
    expect(isLegacyHash('$argon2id$v=19$m=1,t=1,p=1$x$y')).toBe(false);
  });
});
