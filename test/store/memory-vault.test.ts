import { describe, expect, it } from 'vitest';
import { createMemoryVault } from '../../src/store/memory-vault.js';
import { vaultBehaviour } from './vault-suite.js';

vaultBehaviour('memory vault', async (options) => createMemoryVault(options));

describe('memory vault', () => {
  it('keeps separate vaults separate', async () => {
    const a = createMemoryVault();
    const b = createMemoryVault();
    await a.put('k', Uint8Array.of(1));
    await a.appendLog('audit', Uint8Array.of(2));
    expect(await b.get('k')).toBeNull();
    expect(await b.readLog('audit')).toEqual([]);
  });
});
