// The @operator decorator: the one place an operator's interface spec is written.
//
//   @operator({ name: 'scale', version: '1.0.0', description: '...', inputs: {...}, outputs: {...}, params: {...} })
//   export class Scale { process(inputs, params, ctx) { return { image: ... }; } }
//
// or, on a static method:  class Ops { @operator({...}) static scale(inputs, params, ctx) { ... } }
import type { DType } from './dtype.js';
import type { FrameMeta, NDArray } from './frames.js';
import type { InputsOf, OperatorSpec, OutputsOf, ParamsOf } from './spec.js';

/** What an operator's code sees besides its inputs and params. */
export interface ProcessContext<S extends OperatorSpec = OperatorSpec> {
  /** The pipeline node this operator process serves. */
  readonly node: string;
  /** Index of the output frame being produced. */
  readonly frame: number;
  /**
   * An output array written straight into shared memory: fill `data` and return it on `port`.
   * Falls back to ordinary memory (and one copy) when no slot of that size is granted yet.
   */
  alloc(port: keyof S['outputs'] & string, dtype: DType, shape: readonly number[], meta?: FrameMeta): NDArray;
}

type Awaitable<T> = T | Promise<T>;
/** A single result, or several frames from a (async) generator: a source, or one input → many outputs. */
export type ProcessReturn<S extends OperatorSpec> =
  | Awaitable<Partial<OutputsOf<S>>>
  | Iterable<Partial<OutputsOf<S>>>
  | AsyncIterable<Partial<OutputsOf<S>>>;

export type ProcessFunction<S extends OperatorSpec> = (inputs: InputsOf<S>, params: ParamsOf<S>, ctx: ProcessContext<S>) => ProcessReturn<S>;

/** A decorated class: constructed once per operator process (warm state lives on the instance). */
export interface OperatorInstance<S extends OperatorSpec> {
  process: ProcessFunction<S>;
  /** Called once after construction, before the first frame. */
  setup?(): Awaitable<void>;
  /** Called once at shutdown. */
  teardown?(): Awaitable<void>;
}

type AnyProcess = (inputs: Record<string, unknown>, params: Record<string, unknown>, ctx: ProcessContext) => unknown;

export interface OperatorDefinition {
  readonly spec: OperatorSpec;
  /** Create the warm instance that serves frames. */
  instantiate(): Promise<{ process: AnyProcess; teardown(): Promise<void> }>;
}

const REGISTRY_KEY = Symbol.for('emflow.operators');
// On globalThis so that two copies of the SDK in one process (e.g. a test runner and a built module) share it.
const registry: Map<string, OperatorDefinition> = ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] ??= new Map()) as Map<
  string,
  OperatorDefinition
>;

function register(definition: OperatorDefinition): void {
  const name = definition.spec.name;
  if (registry.has(name)) throw new Error(`@operator: an operator named "${name}" is already defined in this process`);
  registry.set(name, definition);
}

/** Operators defined (decorated) so far in this process, in definition order. */
export function definedOperators(): OperatorDefinition[] {
  return [...registry.values()];
}

export function operatorDefinition(name: string): OperatorDefinition | undefined {
  return registry.get(name);
}

type Decorator<S extends OperatorSpec> = {
  <C extends new () => OperatorInstance<S>>(target: C, context: ClassDecoratorContext<C>): void;
  (target: ProcessFunction<S>, context: ClassMethodDecoratorContext): void;
};

export function operator<const S extends OperatorSpec>(spec: S): Decorator<S> {
  const frozen = structuredClone(spec) as OperatorSpec;
  return ((target: unknown, context: ClassDecoratorContext | ClassMethodDecoratorContext) => {
    if (context.kind === 'class') {
      const Class = target as new () => OperatorInstance<OperatorSpec>;
      if (typeof Class.prototype.process !== 'function') throw new TypeError(`@operator "${spec.name}": class ${context.name ?? ''} has no process() method`);
      register({
        spec: frozen,
        async instantiate() {
          const instance = new Class();
          await instance.setup?.();
          return {
            process: instance.process.bind(instance) as unknown as AnyProcess,
            teardown: async () => void (await instance.teardown?.()),
          };
        },
      });
    } else if (context.kind === 'method') {
      if (!context.static) throw new TypeError(`@operator "${spec.name}": decorate a class or a static method (${String(context.name)} is an instance method)`);
      const fn = target as AnyProcess;
      register({ spec: frozen, instantiate: async () => ({ process: fn, teardown: async () => {} }) });
    } else {
      throw new TypeError(`@operator "${spec.name}": cannot decorate a ${(context as { kind: string }).kind}`);
    }
  }) as Decorator<S>;
}
