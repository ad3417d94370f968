// Operators that misbehave on purpose, one way per `mode`, at frame `at`: the engine's fault tests use them.
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { json, NDArray, operator, withMeta, type ProcessContext } from '@emflow/sdk';

type Mode = 'ok' | 'throw' | 'exit' | 'hang' | 'segv' | 'wrong-type' | 'wrong-port' | 'not-a-frame';

@operator({
  name: 'test-faulty',
  version: '1.0.0',
  description: 'Passes images through, and fails in the chosen way at frame `at`.',
  inputs: { image: { type: 'image2d' } },
  outputs: { image: { type: 'image2d' } },
  params: {
    mode: { type: 'string', enum: ['ok', 'throw', 'exit', 'hang', 'segv', 'wrong-type', 'wrong-port', 'not-a-frame'], default: 'ok' },
    at: { type: 'integer', minimum: 0, default: 0 },
  },
})
export class Faulty {
  async process({ image }: { image: NDArray }, { mode, at }: { mode: Mode; at: number }, ctx: ProcessContext) {
    if (ctx.frame === at) {
      switch (mode) {
        case 'throw':
          throw new RangeError(`deliberate failure at frame ${at}`);
        case 'exit':
          process.stderr.write('about to exit with code 3\n');
          process.exit(3);
          break;
        case 'hang':
          await new Promise(() => {});
          break;
        case 'segv':
          image.data[0] = 1; // input frames are mapped read-only
          break;
        case 'wrong-type':
          return { image: json({ not: 'an image' }) } as never;
        case 'wrong-port':
          return { picture: image } as never;
        case 'not-a-frame':
          return { image: new Float32Array(4) } as never;
      }
    }
    return { image };
  }
}

@operator({
  name: 'test-silent',
  version: '1.0.0',
  description: 'Never finishes setting up, so it never says hello.',
  outputs: { image: { type: 'image2d' } },
})
export class Silent {
  setup() {
    setInterval(() => {}, 60_000); // keep the process alive while setup never finishes
    return new Promise<void>(() => {});
  }
  process() {
    return { image: NDArray.zeros('float32', [1, 1]) };
  }
}

@operator({
  name: 'test-counter',
  version: '1.0.0',
  description: 'Counts how many times it ran in this process (to observe caching and warm state).',
  inputs: { image: { type: 'ndarray' } },
  outputs: { calls: { type: 'scalar' } },
})
export class Counter {
  private calls = 0;
  process() {
    return { calls: json(++this.calls) };
  }
}

@operator({
  name: 'test-sum',
  version: '1.0.0',
  description: 'Elementwise sum of two arrays of the same shape (zips two streams).',
  inputs: { a: { type: 'ndarray' }, b: { type: 'ndarray' } },
  outputs: { sum: { type: 'ndarray', sameAs: 'a' } },
})
export class Sum {
  process({ a, b }: { a: NDArray; b: NDArray }, _params: Record<string, never>, ctx: ProcessContext) {
    const out = ctx.alloc('sum', 'float64', a.shape);
    const x = a.values();
    const y = b.values();
    for (let i = 0; i < x.length; i++) out.data[i] = x[i] + y[i];
    return { sum: out };
  }
}

@operator({
  name: 'test-hog',
  version: '1.0.0',
  description: 'Allocates and touches `megabytes` of memory, beyond its 64 MiB limit in containers.',
  inputs: { image: { type: 'image2d' } },
  outputs: { image: { type: 'image2d' } },
  params: { megabytes: { type: 'integer', minimum: 1, default: 512 } },
  resources: { memory: '64m' },
})
export class Hog {
  private kept: Uint8Array[] = [];
  process({ image }: { image: NDArray }, { megabytes }: { megabytes: number }) {
    for (let i = 0; i < megabytes; i++) this.kept.push(new Uint8Array(1 << 20).fill(i & 255));
    return { image };
  }
}

@operator({
  name: 'test-slow',
  version: '1.0.0',
  description: 'Passes images through after waiting `ms` per frame: a consumer slower than its producer.',
  inputs: { image: { type: 'image2d' } },
  outputs: { image: { type: 'image2d' } },
  params: { ms: { type: 'integer', minimum: 0, default: 40, units: 'ms' } },
})
export class Slow {
  async process({ image }: { image: NDArray }, { ms }: { ms: number }) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return { image };
  }
}

@operator({
  name: 'test-big-meta',
  version: '1.0.0',
  description: 'Passes images through with `bytes` characters of metadata added (beyond the 64 KiB of header room).',
  inputs: { image: { type: 'image2d' } },
  outputs: { image: { type: 'image2d' } },
  params: { bytes: { type: 'integer', minimum: 0, default: 100_000 } },
})
export class BigMeta {
  process({ image }: { image: NDArray }, { bytes }: { bytes: number }, ctx: ProcessContext) {
    const out = ctx.alloc('image', image.dtype, image.shape);
    out.data.set(image.data);
    return { image: withMeta(out, { ...image.meta, note: 'm'.repeat(bytes) }) };
  }
}

@operator({
  name: 'test-alloc-probe',
  version: '1.0.0',
  description: 'Copies images into ctx.alloc arrays and says on `probe` whether each was written straight into shared memory.',
  inputs: { image: { type: 'image2d' } },
  outputs: { image: { type: 'image2d' }, probe: { type: 'json' } },
})
export class AllocProbe {
  process({ image }: { image: NDArray }, _params: Record<string, never>, ctx: ProcessContext) {
    const out = ctx.alloc('image', image.dtype, image.shape);
    out.data.set(image.data);
    // a slot mapping is the whole slot file; a heap fallback is exactly the array
    return { image: out, probe: json({ inSlot: out.data.buffer.byteLength > out.data.byteLength }) };
  }
}

@operator({
  name: 'test-sandbox-probe',
  version: '1.0.0',
  description: 'Reports what its process can see and touch: environment names, shared memory, the session folder, the home folder, the host tree.',
  outputs: { report: { type: 'json' } },
  params: { hostPath: { type: 'string', default: '/', description: 'a host path that should not be visible inside a container' } },
})
export class SandboxProbe {
  process(_inputs: Record<string, never>, { hostPath }: { hostPath: string }) {
    const session = process.env.EMFLOW_SESSION_DIR ?? '';
    const node = process.env.EMFLOW_NODE ?? '';
    const attempt = (path: string) => {
      try {
        writeFileSync(path, 'probe');
        rmSync(path);
        return 'written';
      } catch (error) {
        return (error as NodeJS.ErrnoException).code ?? 'failed';
      }
    };
    const listing = (path: string) => {
      try {
        return readdirSync(path).sort();
      } catch (error) {
        return (error as NodeJS.ErrnoException).code ?? 'failed';
      }
    };
    return {
      report: json({
        env: Object.keys(process.env).sort(),
        uid: process.getuid?.(),
        devShm: listing('/dev/shm'),
        sessionWrite: attempt(`${session}/intruder`),
        ownFolderWrite: attempt(`${session}/${node}/probe`),
        rootWrite: attempt('/probe'),
        tmpWrite: attempt('/tmp/probe'),
        home: listing('/root'),
        hostPathVisible: existsSync(hostPath),
        interfaces: Object.keys(networkInterfaces()).sort(),
      }),
    };
  }
}

@operator({
  name: 'test-empty',
  version: '1.0.0',
  description: 'A source with nothing to emit (a watched folder where nothing arrived): a generator that ends at once, or a call returning no frame.',
  outputs: { image: { type: 'image2d' } },
  params: { as: { type: 'string', enum: ['generator', 'call'], default: 'generator' } },
})
export class Empty {
  process(_inputs: Record<string, never>, { as }: { as: 'generator' | 'call' }) {
    if (as === 'call') return {};
    return (function* () {})();
  }
}
