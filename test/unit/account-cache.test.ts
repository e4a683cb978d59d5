import { describe, it, expect, vi, afterEach } from 'vitest';
import { cachedAccountLookup } from '../../src/accounts/account-cache.ts';
import type { Account } from '../../src/accounts/accounts.ts';

const account = (id: string) => ({ id, name: `name ${id}`, status: 'active' }) as Account;

function counting(fail = false) {
  const calls: string[] = [];
  return {
    calls,
    accounts: { async findById(id: string) { calls.push(id); if (fail) throw new Error('database down'); return account(id); } },
  };
}

afterEach(() => { vi.useRealTimers(); });

describe('cachedAccountLookup', () => {
  it('answers a hit from memory and shares one query between concurrent misses', async () => {
    const { calls, accounts } = counting();
    const lookup = cachedAccountLookup(accounts, { ttlMs: 5000, maxEntries: 10 });
    const all = await Promise.all([lookup('a'), lookup('a'), lookup('a')]);
    expect(all.map((a) => a?.id)).toEqual(['a', 'a', 'a']);
    await lookup('a');
    expect(calls).toEqual(['a']);
  });

  it('asks again once the entry expired', async () => {
    vi.useFakeTimers();
    const { calls, accounts } = counting();
    const lookup = cachedAccountLookup(accounts, { ttlMs: 5000, maxEntries: 10 });
    await lookup('a');
    vi.advanceTimersByTime(5001);
    await lookup('a');
    expect(calls).toEqual(['a', 'a']);
  });

  it('does not remember a failed lookup', async () => {
    const failing = counting(true);
    const lookup = cachedAccountLookup(failing.accounts, { ttlMs: 5000, maxEntries: 10 });
    await expect(lookup('a')).rejects.toThrow('database down');
    await expect(lookup('a')).rejects.toThrow('database down');
    expect(failing.calls).toEqual(['a', 'a']);
  });

  it('drops the oldest entry when full', async () => {
    const { calls, accounts } = counting();
    const lookup = cachedAccountLookup(accounts, { ttlMs: 5000, maxEntries: 2 });
    for (const id of ['a', 'b', 'c', 'b', 'a']) await lookup(id);
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });
});
