// How far a run is behind its acquisition: per node, the frames waiting at its inputs, its throughput over the
// last minute and the age of its oldest unprocessed input; run-wide, the frames acquired (emitted by sources)
// but not yet finished (taken through every terminal node), and the seconds since the oldest frame still in
// the pipeline was acquired. The run tells the tracker what happens; `snapshot` computes the figures (pure).

/** Figures of one node at one moment. */
export interface NodeLag {
  /** frames waiting at its inputs (the most over its input ports) */
  waiting: number;
  /** frames it finished per second over the last minute (or since it started, if less) */
  fps: number;
  /** seconds since the oldest frame waiting for it (or being processed by it) was acquired; 0 when idle */
  oldestSeconds: number;
}

export interface LagSnapshot {
  /** frames the sources emitted in this run (the longest of their streams: zipped streams are not added up) */
  acquired: number;
  /** frames every terminal node has finished */
  finished: number;
  /** acquired − finished */
  behindFrames: number;
  /** seconds since the oldest frame still in the pipeline was acquired; 0 when nothing is in flight */
  behindSeconds: number;
  nodes: Record<string, NodeLag>;
}

/** Alert thresholds a pipeline may set (`"alerts": { "lagSeconds": 30, "lagFrames": 100 }`). */
export interface LagAlerts {
  lagSeconds?: number;
  lagFrames?: number;
}

const WINDOW_MS = 60_000;

interface NodeTrack {
  source: boolean;
  terminal: boolean;
  /** acquisition times of frames waiting at each input port, oldest first */
  waiting: Map<string, number[]>;
  /** acquisition times of the inputs of the calls in progress (several with replicas) */
  processing: number[];
  /** when it finished frames within the window (performance.now()), oldest first */
  finishedAt: number[];
  finished: number;
  startedAt?: number;
}

export class LagTracker {
  private readonly nodes = new Map<string, NodeTrack>();

  /** `inputs`: node → its wired input ports; terminal nodes feed no executing node. */
  constructor(inputs: ReadonlyMap<string, readonly string[]>, terminal: ReadonlySet<string>) {
    for (const [node, ports] of inputs) {
      this.nodes.set(node, { source: ports.length === 0, terminal: terminal.has(node), waiting: new Map(ports.map((p) => [p, []])), processing: [], finishedAt: [], finished: 0 });
    }
  }

  private track(node: string): NodeTrack {
    return this.nodes.get(node)!;
  }

  /** A frame acquired at `acquiredAt` arrived at an input port of `node`. */
  arrived(node: string, port: string, acquiredAt: number): void {
    this.track(node).waiting.get(port)?.push(acquiredAt);
  }

  /** A waiting frame left the queue without being processed (dropped by a sampling edge). */
  dropped(node: string, port: string): void {
    this.track(node).waiting.get(port)?.shift();
  }

  /**
   * `node` took its next input frames from these ports and started processing them, the earliest acquired at
   * `acquiredAt` (frames reused from an earlier call count with their own acquisition time).
   */
  started(node: string, ports: readonly string[], acquiredAt: number, now: number): void {
    const track = this.track(node);
    track.startedAt ??= now;
    for (const port of ports) track.waiting.get(port)?.shift();
    track.processing.push(acquiredAt);
  }

  /** A source emitted a frame acquired now. */
  emitted(node: string, now: number): void {
    const track = this.track(node);
    track.startedAt ??= now;
    this.finish(track, now);
  }

  /** `node` finished the call that processed the input frames acquired at `acquiredAt`. */
  processed(node: string, acquiredAt: number, now: number): void {
    const track = this.track(node);
    const at = track.processing.indexOf(acquiredAt);
    if (at >= 0) track.processing.splice(at, 1);
    this.finish(track, now);
  }

  private finish(track: NodeTrack, now: number): void {
    track.finished++;
    track.finishedAt.push(now);
    while (track.finishedAt.length && track.finishedAt[0] < now - WINDOW_MS) track.finishedAt.shift();
  }

  snapshot(now: number): LagSnapshot {
    const nodes = Object.create(null) as Record<string, NodeLag>;
    let acquired = 0;
    let finished = Infinity;
    let oldest = Infinity;
    for (const [id, track] of this.nodes) {
      const queues = [...track.waiting.values()];
      const earliest = Math.min(...track.processing, ...queues.map((q) => q[0] ?? Infinity));
      const span = Math.min(WINDOW_MS, now - (track.startedAt ?? now));
      nodes[id] = {
        waiting: Math.max(0, ...queues.map((q) => q.length)),
        fps: span > 0 ? (track.finishedAt.filter((t) => t >= now - WINDOW_MS).length / span) * 1000 : 0,
        oldestSeconds: Number.isFinite(earliest) ? (now - earliest) / 1000 : 0,
      };
      if (track.source) acquired = Math.max(acquired, track.finished);
      if (track.terminal && !track.source) finished = Math.min(finished, track.finished);
      oldest = Math.min(oldest, earliest);
    }
    if (!Number.isFinite(finished)) finished = acquired; // only sources: what they emit is finished
    return { acquired, finished, behindFrames: Math.max(0, acquired - finished), behindSeconds: Number.isFinite(oldest) ? (now - oldest) / 1000 : 0, nodes };
  }
}

/** The alerts a snapshot calls for (empty when within the thresholds); `kind` stays the same while one lasts. */
export function lagAlerts(snapshot: LagSnapshot, alerts: LagAlerts | undefined): { kind: keyof LagAlerts; message: string }[] {
  const raised: { kind: keyof LagAlerts; message: string }[] = [];
  if (alerts?.lagSeconds !== undefined && snapshot.behindSeconds > alerts.lagSeconds) {
    raised.push({ kind: 'lagSeconds', message: `processing is ${snapshot.behindSeconds.toFixed(1)} s behind acquisition (alert above ${alerts.lagSeconds} s)` });
  }
  if (alerts?.lagFrames !== undefined && snapshot.behindFrames > alerts.lagFrames) {
    raised.push({ kind: 'lagFrames', message: `${snapshot.behindFrames} acquired frames are not finished (alert above ${alerts.lagFrames})` });
  }
  return raised;
}
