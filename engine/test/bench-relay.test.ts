// The bench's raw relay (writer → relay → reader, three bare Node processes): it measures and cleans up, and an end
// that dies makes it fail at once rather than wait forever. The compiled module is used: it forks its compiled ends.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { relayHandoff as RelayHandoff } from '../src/bench/relay.js';

const { relayHandoff } = (await import(new URL('../dist/bench/relay.js', import.meta.url).href)) as { relayHandoff: typeof RelayHandoff };

const leftovers = () => ({
  sockets: readdirSync(tmpdir()).filter((name) => name.startsWith(`emflow-relay-${process.pid}`)),
  ends: execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('relay-ends')),
});

describe('the raw relay of emflow bench', () => {
  it('gives a median hand-off time of a 1 MiB fill, and leaves no socket file and no process', async () => {
    const ms = await relayHandoff(2 ** 20, 8, 4);
    expect(ms).toBeGreaterThan(0);
    expect(ms).toBeLessThan(1000);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the killed ends are reaped
    expect(leftovers()).toEqual({ sockets: [], ends: [] });
  });

  it('fails at once, naming the end, when one ends early (a writer that cannot allocate its frame)', async () => {
    const started = performance.now();
    await expect(relayHandoff(-1, 8, 4)).rejects.toThrow(/the raw relay's writer ended \(exit code 1\) before its measurement did/);
    expect(performance.now() - started).toBeLessThan(10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(leftovers()).toEqual({ sockets: [], ends: [] });
  });
});
