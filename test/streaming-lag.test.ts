// Lag: how far processing is behind acquisition, per node and run-wide, sampled while a run goes, with the
// pipeline's alert thresholds.
import { describe, expect, it } from 'vitest';
import type { LagSnapshot } from '@emflow/engine';
import { pipeline } from './helpers.js';
import { sessionOpener } from './sessions.js';

const open = sessionOpener();
const FRAMES = 40;
const SLOW_MS = 50;

/** synthetic (as fast as it can: acquisition) → test-slow (SLOW_MS per frame) → stats. */
function stream(alerts?: object) {
  const document = pipeline(
    [
      { id: 'src', operator: 'synthetic', params: { pattern: 'noise', width: 32, height: 32, count: FRAMES, seed: 1 } },
      { id: 'slow', operator: 'test-slow', params: { ms: SLOW_MS } },
      { id: 'stats', operator: 'stats' },
    ],
    ['src.image->slow.image', 'slow.image->stats.image'],
  );
  return alerts ? { ...document, alerts } : document;
}

describe('lag of a stream into a slow operator', () => {
  it('is sampled every second: frames waiting, throughput, age of the oldest input, frames and seconds behind', async () => {
    const session = await open(stream(), { ringSize: 3 });
    const samples: LagSnapshot[] = [];
    session.on('lag', (snapshot) => samples.push(snapshot));
    const report = await session.run();
    expect(session.lag()).toBeUndefined(); // between runs

    // a 2 s run: one sample a second and one at the end
    expect(samples.length).toBeGreaterThanOrEqual(2);
    const during = samples.slice(0, -1);
    for (const s of during) {
      // the producer is held at the ring size: at most 3 frames wait at the slow node, none elsewhere
      expect(s.nodes.slow.waiting).toBeGreaterThanOrEqual(1);
      expect(s.nodes.slow.waiting).toBeLessThanOrEqual(3);
      expect(s.nodes.stats.waiting).toBeLessThanOrEqual(1);
      // the slow node finishes one frame per call: at most 1000 / SLOW_MS = 20 frames/s, about one per median call
      expect(s.nodes.slow.fps).toBeGreaterThan(500 / report.nodes.slow.medianMs);
      expect(s.nodes.slow.fps).toBeLessThan(1000 / SLOW_MS + 1);
      // acquired but not finished: those waiting plus the one in process (and one on its way to stats)
      expect(s.behindFrames).toBe(s.acquired - s.finished);
      expect(s.behindFrames).toBeGreaterThanOrEqual(1);
      expect(s.behindFrames).toBeLessThanOrEqual(3 + 2);
      // the oldest frame in the pipeline waits its turn behind up to 3 others: about 4 calls at most
      expect(s.behindSeconds).toBeGreaterThan(0.03);
      expect(s.behindSeconds).toBeLessThan((5 * report.nodes.slow.medianMs) / 1000);
      expect(s.nodes.slow.oldestSeconds).toBeLessThanOrEqual(s.behindSeconds);
    }
    const last = samples.at(-1)!;
    expect([last.acquired, last.finished, last.behindFrames]).toEqual([FRAMES, FRAMES, 0]);
    expect(report.lag!.peakBehindFrames).toBe(Math.max(...samples.map((s) => s.behindFrames)));
    expect(report.lag!.peakBehindSeconds).toBe(Math.max(...samples.map((s) => s.behindSeconds)));
    expect(report.lag!.alerts).toEqual([]);
  });

  it("raises the pipeline's alert once when a threshold is crossed, and reports it", async () => {
    const session = await open(stream({ lagFrames: 1, lagSeconds: 0.02 }), { ringSize: 3 });
    const alerts: string[] = [];
    session.on('alert', ({ message }) => alerts.push(message));
    const report = await session.run();
    expect(alerts.length).toBe(2); // each threshold once, however many samples stay above it
    expect(alerts.find((a) => a.includes('acquired frames'))).toMatch(/^\d+ acquired frames are not finished \(alert above 1\)$/);
    expect(alerts.find((a) => a.includes('behind'))).toMatch(/^processing is \d+\.\d s behind acquisition \(alert above 0\.02 s\)$/);
    expect(report.lag!.alerts).toEqual(alerts);
  });
});
