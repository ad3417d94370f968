// The cold-start floor of emflow bench: bare Node processes started in parallel and one after another, with nothing
// left behind.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processStartFloor } from '../src/bench/start-floor.js';

const children = () => execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('-e 0'));

describe('the process start floor of emflow bench', () => {
  it('times 3 bare node processes both ways and leaves none running', async () => {
    const floor = await processStartFloor(3, 2);
    expect(floor.what).toBe('3 bare Node processes (node -e 0)');
    // one start of Node takes tens of milliseconds: three one after another cannot take less than one
    expect(floor.sequentialMs).toBeGreaterThan(10);
    expect(floor.parallelMs).toBeGreaterThan(10);
    expect(floor.ratio).toBeCloseTo(floor.parallelMs / floor.sequentialMs, 10);
    expect(children()).toEqual([]);
  });
});
