import { describe, it, expect } from 'vitest';
import { loadConfig, ConfigError } from '../../src/config.ts';

describe('configuration', () => {
  it('runs in development with nothing set', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ production: false, port: 3000, issuer: 'http://localhost:3000', demoAccount: true });
    expect(c.databaseUrl).toBeUndefined();
  });

  it('lists every missing production setting at once', () => {
    try {
      loadConfig({ NODE_ENV: 'production', ISSUER: 'http://id.example', DEMO_ACCOUNT: 'true' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      for (const name of ['ISSUER', 'YIHAO_INDEX_KEY', 'YIHAO_ENCRYPTION_KEYS', 'YIHAO_COOKIE_KEYS', 'YIHAO_PAIRWISE_KEY', 'DATABASE_URL', 'DEMO_ACCOUNT']) {
        expect(problems).toContain(name);
      }
    }
  });

  it('rejects malformed numbers with the variable named', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
  });

  it('gives temporary passwords 72 hours unless told otherwise, within 1 to 720', () => {
    expect(loadConfig({}).temporaryPasswordHours).toBe(72);
    expect(loadConfig({ TEMPORARY_PASSWORD_HOURS: '24' }).temporaryPasswordHours).toBe(24);
    expect(() => loadConfig({ TEMPORARY_PASSWORD_HOURS: '0' })).toThrow(/TEMPORARY_PASSWORD_HOURS/);
    expect(() => loadConfig({ TEMPORARY_PASSWORD_HOURS: '721' })).toThrow(/TEMPORARY_PASSWORD_HOURS/);
  });
});
