import { describe, expect, it } from 'vitest';
import { LagTracker, lagAlerts } from '../src/session/lag.js';

describe('lag tracker', () => {
  it('counts throughput over the last minute only, so a stall shows as a falling rate', () => {
    const lag = new LagTracker(new Map([['src', []], ['slow', ['image']]]), new Set(['slow']));
    for (let k = 0; k < 60; k++) {
      lag.emitted('src', k * 1000);
      lag.arrived('slow', 'image', k * 1000);
      lag.started('slow', ['image'], k * 1000, k * 1000);
      lag.processed('slow', k * 1000, k * 1000 + 500);
    }
    expect(lag.snapshot(60_000).nodes.slow.fps).toBeCloseTo(1, 1);
    // five minutes without a frame: nothing in the last minute
    expect(lag.snapshot(360_000).nodes.slow.fps).toBe(0);
  });

  it('acquired is the longest source stream: a reused reference frame and zipped streams are not added up', () => {
    const lag = new LagTracker(new Map([['gain', []], ['movie', []], ['correct', ['frame', 'gain']]]), new Set(['correct']));
    lag.emitted('gain', 0);
    for (let k = 0; k < 5; k++) lag.emitted('movie', k);
    for (let k = 0; k < 5; k++) lag.processed('correct', k, k + 1);
    expect(lag.snapshot(10)).toMatchObject({ acquired: 5, finished: 5, behindFrames: 0 });
  });

  it('raises each kind of alert with a kind that stays the same while the figure changes', () => {
    const snapshot = (frames: number, seconds: number) => ({ acquired: frames, finished: 0, behindFrames: frames, behindSeconds: seconds, nodes: {} });
    const alerts = { lagFrames: 5, lagSeconds: 1 };
    expect(lagAlerts(snapshot(10, 2), alerts).map((a) => a.kind)).toEqual(['lagSeconds', 'lagFrames']);
    expect(lagAlerts(snapshot(11, 0.5), alerts)).toEqual([{ kind: 'lagFrames', message: '11 acquired frames are not finished (alert above 5)' }]);
    expect(lagAlerts(snapshot(3, 0.2), alerts)).toEqual([]);
  });
});
