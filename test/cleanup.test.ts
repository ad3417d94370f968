// Leftovers: a process that exits without closing its session, and directories of engines that died.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { sweepStaleSessionDirs } from '@emflow/engine';
import { expectNoLeaks, root } from './helpers.js';

describe('cleanup', () => {
  it('a program that exits without closing its session leaves no operator and no shared memory', async () => {
    const script = `
      import { openSession } from '@emflow/engine';
      const session = await openSession({ pipeline: 'pipelines/blur-stats.json' });
      await session.run();
      console.log(session.paths.dir);
      process.exit(0);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(0);
    const dir = result.stdout.trim();
    expect(dir).toMatch(/^\/dev\/shm\/emflow-/);
    await expectNoLeaks(dir);
  });

  it('sweeps session directories whose engine is gone, and never those of a live engine', () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const stale = `/dev/shm/emflow-test-stale-${process.pid}`;
    const live = `/dev/shm/emflow-test-live-${process.pid}`;
    for (const [dir, pid] of [
      [stale, Number(dead.stdout)],
      [live, process.pid],
    ] as const) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/owner.json`, JSON.stringify({ pid, host: hostname(), started: new Date().toISOString() }));
      writeFileSync(`${dir}/src.image.0`, Buffer.alloc(4096));
    }
    const removed = sweepStaleSessionDirs();
    expect(removed).toContain(stale);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(`${live}/src.image.0`)).toBe(true);
    spawnSync('rm', ['-rf', live]);
  });
});
