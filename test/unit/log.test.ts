import { describe, it, expect } from 'vitest';
import { createLogger, redactText } from '../../src/log.ts';

describe('logs', () => {
  it('masks identity numbers anywhere in text, 18 and 15 digits', () => {
    expect(redactText('user 11010519491231002X failed')).toBe('user 1101**********002X failed');
    expect(redactText('old 110105491231002')).toBe('old 1101*******1002');
    expect(redactText('order 12345')).toBe('order 12345');
  });

  it('drops secret-bearing fields and masks nested numbers', () => {
    const lines: string[] = [];
    const log = createLogger('info', (l) => { lines.push(l); });
    log.info('login', { password: 'hunter2', client_secret: 'abc', nested: { note: 'id 11010519491231002x' }, err: new Error('bad 11010519491231002X') });
    const out = lines.join('');
    expect(out).not.toContain('hunter2');
    expect(out).not.toContain('"abc"');
    expect(out).not.toMatch(/11010519491231002[Xx]/);
    expect(out).toContain('1101**********002x');
  });

  it('says which levels it writes', () => {
    const log = createLogger('warn', () => {});
    expect([log.enabled?.('debug'), log.enabled?.('info'), log.enabled?.('warn'), log.enabled?.('error')]).toEqual([false, false, true, true]);
    expect(createLogger('debug', () => {}).enabled?.('debug')).toBe(true);
  });
});
