// Operators used only by `emflow bench`: they do as little as possible, so the data plane is what is measured.
import { json, operator, type NDArray, type ProcessContext } from '@emflow/sdk';

const now = () => process.hrtime.bigint().toString(); // CLOCK_MONOTONIC: comparable across processes

@operator({
  name: 'bench-writer',
  version: '1.0.0',
  description: 'Writes `count` float32 frames of `size` elements straight into its slot (every value, or only the last) and stamps when it was done.',
  outputs: { data: { type: 'spectrum' } },
  params: {
    size: { type: 'integer', minimum: 1, default: 16777216 },
    count: { type: 'integer', minimum: 1, default: 10 },
    writes: { type: 'string', enum: ['all', 'last'], default: 'all', description: '"last": no time spent filling the frame, so the other processes never idle long before a hand-off' },
  },
})
export class BenchWriter {
  *process(_inputs: Record<string, never>, { size, count, writes }: { size: number; count: number; writes: 'all' | 'last' }, ctx: ProcessContext) {
    for (let i = 0; i < count; i++) {
      const frame = ctx.alloc('data', 'float32', [size]);
      if (writes === 'last') frame.data[size - 1] = i;
      else frame.data.fill(i);
      frame.meta.doneAt = now();
      yield { data: frame };
    }
  }
}

@operator({
  name: 'bench-reader',
  version: '1.0.0',
  description: 'Reports how long after the writer was done it held a view of the frame (ns).',
  inputs: { data: { type: 'spectrum' } },
  outputs: { latency: { type: 'scalar' } },
})
export class BenchReader {
  process({ data }: { data: NDArray }) {
    const held = process.hrtime.bigint();
    if (data.data[data.size - 1] !== data.meta.frame) throw new Error(`frame ${data.meta.frame} holds ${data.data[data.size - 1]}`);
    return { latency: json(Number(held - BigInt(data.meta.doneAt as string))) };
  }
}

@operator({
  name: 'bench-tiny',
  version: '1.0.0',
  description: 'Emits `count` tiny frames (16 float32).',
  outputs: { data: { type: 'spectrum' } },
  params: { count: { type: 'integer', minimum: 1, default: 1000 } },
})
export class BenchTiny {
  *process(_inputs: Record<string, never>, { count }: { count: number }, ctx: ProcessContext) {
    for (let i = 0; i < count; i++) {
      const frame = ctx.alloc('data', 'float32', [16]);
      frame.data.fill(i);
      yield { data: frame };
    }
  }
}

@operator({
  name: 'bench-echo',
  version: '1.0.0',
  description: 'Returns a copy of its input frame.',
  inputs: { data: { type: 'ndarray' } },
  outputs: { data: { type: 'ndarray', sameAs: 'data' } },
})
export class BenchEcho {
  process({ data }: { data: NDArray }, _params: Record<string, never>, ctx: ProcessContext) {
    const out = ctx.alloc('data', data.dtype, data.shape);
    out.data.set(data.data);
    return { data: out };
  }
}

@operator({
  name: 'bench-sink',
  version: '1.0.0',
  description: 'Consumes frames: reads one element of each.',
  inputs: { data: { type: 'ndarray' } },
  outputs: {},
})
export class BenchSink {
  process({ data }: { data: NDArray }) {
    if (Number.isNaN(data.data[0])) throw new Error('NaN frame');
    return {};
  }
}

@operator({
  name: 'bench-slow',
  version: '1.0.0',
  description: 'Passes frames through after `ms` of waiting: a consumer slower than its producer.',
  inputs: { data: { type: 'ndarray' } },
  outputs: { data: { type: 'ndarray', sameAs: 'data' } },
  params: { ms: { type: 'integer', minimum: 0, default: 20, units: 'ms' } },
})
export class BenchSlow {
  async process({ data }: { data: NDArray }, { ms }: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { data };
  }
}

@operator({
  name: 'bench-paced',
  version: '1.0.0',
  description: 'Emits `count` float32 frames of `size` elements at `rate` frames per second, as a detector would; late when the pipeline holds it back.',
  outputs: { data: { type: 'spectrum' } },
  params: {
    size: { type: 'integer', minimum: 1, default: 1024 },
    count: { type: 'integer', minimum: 1, default: 100 },
    rate: { type: 'number', exclusiveMinimum: 0, default: 50, units: 'frames/s' },
  },
})
export class BenchPaced {
  async *process(_inputs: Record<string, never>, { size, count, rate }: { size: number; count: number; rate: number }, ctx: ProcessContext) {
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const frame = ctx.alloc('data', 'float32', [size]);
      frame.data.fill(i);
      yield { data: frame };
    }
  }
}

@operator({
  name: 'bench-work',
  version: '1.0.0',
  description: 'A stage of fixed work: copies its float32 frame and sweeps it `passes` times (x ← 0.999·x + 0.001). Equal params, equal work.',
  inputs: { data: { type: 'ndarray' } },
  outputs: { data: { type: 'ndarray', sameAs: 'data' } },
  params: { passes: { type: 'integer', minimum: 0, default: 16 } },
})
export class BenchWork {
  process({ data }: { data: NDArray }, { passes }: { passes: number }, ctx: ProcessContext) {
    if (data.dtype !== 'float32') throw new TypeError(`bench-work: expected float32, got ${data.dtype}`);
    const out = ctx.alloc('data', 'float32', data.shape);
    const x = out.data as Float32Array;
    x.set(data.data);
    for (let pass = 0; pass < passes; pass++) for (let i = 0; i < x.length; i++) x[i] = 0.999 * x[i] + 0.001;
    return { data: out };
  }
}
