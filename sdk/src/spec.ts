// The operator interface spec: written once, in the @operator decorator, and carried everywhere else
// (image label, `emflow operators`, the editor's palette) as the same JSON document.
import type { NDArray, TableFrame, JsonFrame } from './frames.js';

/** Semantic port types. Each maps to an Arrow schema (see PROTOCOL.md). */
export const PORT_TYPES = ['ndarray', 'image2d', 'volume3d', 'stack', 'spectrum', 'table', 'scalar', 'json'] as const;
export type PortType = (typeof PORT_TYPES)[number];

/** Required rank of the N-D array carried by an array port type; undefined: any rank. */
export const ARRAY_RANK: Partial<Record<PortType, number>> = { image2d: 2, volume3d: 3, stack: 3, spectrum: 1 };

/** The rank an array port type requires (undefined: any rank, or not an array type). */
const rankOf = (type: PortType): number | undefined => own(ARRAY_RANK, type);

export function isArrayPortType(type: PortType): boolean {
  return type === 'ndarray' || rankOf(type) !== undefined;
}

/**
 * The value of an own property. Names come from documents and the wire: "constructor", "toString" or
 * "__proto__" must never find what every object inherits. Use this for every lookup of a port or param by name.
 */
export function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

export interface PortSpec {
  type: PortType;
  description?: string;
  /** Inputs only: an optional input may stay unconnected. Inputs are required by default. */
  required?: boolean;
  /** Outputs only: the output's type is the type of this input port as resolved in the pipeline. */
  sameAs?: string;
  /** Tables only: the column names the port carries. */
  columns?: readonly string[];
}

export type ParamType = 'number' | 'integer' | 'string' | 'boolean';

export interface ParamSpec {
  type: ParamType;
  description?: string;
  default?: number | string | boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  enum?: readonly (string | number)[];
  /** Physical units shown next to the value, e.g. "px", "Å". */
  units?: string;
  /** A param with no default must be set in the pipeline unless it is optional. */
  optional?: boolean;
  /**
   * A string naming a file or folder (or a name pattern) that the operator reads or writes. Relative values
   * are resolved against the pipeline file's folder, and container runtimes mount exactly these paths.
   */
  path?: 'read' | 'write';
}

export interface ResourceSpec {
  cpus?: number;
  /** Bytes, or a string such as "512m" / "4g". */
  memory?: number | string;
  gpu?: number;
}

export interface OperatorSpec {
  name: string;
  version: string;
  description: string;
  inputs?: Readonly<Record<string, PortSpec>>;
  outputs: Readonly<Record<string, PortSpec>>;
  params?: Readonly<Record<string, ParamSpec>>;
  resources?: ResourceSpec;
  /** Free-form hints for the editor (icon, category, preferred display). */
  display?: Readonly<Record<string, string | number | boolean>>;
}

/** The SDK frame object a port of this type carries. */
export type FrameOf<T extends PortType> = T extends 'table' ? TableFrame : T extends 'json' | 'scalar' ? JsonFrame : NDArray;

type Ports = Readonly<Record<string, PortSpec>>;
type InputPorts<S extends OperatorSpec> = S['inputs'] extends Ports ? S['inputs'] : Record<never, PortSpec>;
type RequiredKeys<P extends Ports> = { [K in keyof P]: P[K] extends { required: false } ? never : K }[keyof P];
type OptionalKeys<P extends Ports> = Exclude<keyof P, RequiredKeys<P>>;

type FrameOfPort<P> = P extends { type: infer T extends PortType } ? FrameOf<T> : never;

/** What `process` receives: one frame per input port (absent for an unconnected optional input). */
export type InputsOf<S extends OperatorSpec> = { [K in RequiredKeys<InputPorts<S>>]: FrameOfPort<InputPorts<S>[K]> } & {
  [K in OptionalKeys<InputPorts<S>>]?: FrameOfPort<InputPorts<S>[K]>;
};

/** What `process` returns: one frame per output port. */
export type OutputsOf<S extends OperatorSpec> = { [K in keyof S['outputs']]: FrameOfPort<S['outputs'][K]> };

type ParamValue<P> = P extends { enum: readonly (infer E)[] }
  ? E
  : P extends { type: 'number' | 'integer' }
    ? number
    : P extends { type: 'boolean' }
      ? boolean
      : string;
type ParamPorts<S extends OperatorSpec> = S['params'] extends Readonly<Record<string, ParamSpec>> ? S['params'] : Record<never, ParamSpec>;

/** The params `process` receives: validated by the engine, defaults filled in. */
export type ParamsOf<S extends OperatorSpec> = {
  [K in keyof ParamPorts<S> as ParamPorts<S>[K] extends { optional: true } ? never : K]: ParamValue<ParamPorts<S>[K]>;
} & {
  [K in keyof ParamPorts<S> as ParamPorts<S>[K] extends { optional: true } ? K : never]?: ParamValue<ParamPorts<S>[K]>;
};

/** The kind of frame a port type carries. */
export function frameKindOf(type: PortType): 'ndarray' | 'table' | 'json' {
  return type === 'table' ? 'table' : type === 'json' || type === 'scalar' ? 'json' : 'ndarray';
}

/** Why a frame does not fit a port type, or undefined when it does. */
export function frameMismatch(frame: { kind: string; shape?: readonly number[]; value?: unknown }, type: PortType): string | undefined {
  const kind = frameKindOf(type);
  const describe = () => (frame.kind === 'ndarray' ? `a ${frame.shape?.length}-D array` : `a ${frame.kind} frame`);
  if (frame.kind !== kind) return `expected ${type}, got ${describe()}`;
  const rank = rankOf(type);
  if (rank !== undefined && frame.shape?.length !== rank) return `expected ${type} (a ${rank}-D array), got ${describe()}`;
  if (type === 'scalar' && typeof frame.value !== 'number') return `expected scalar (a number), got ${typeof frame.value}`;
  return undefined;
}

/** Can an output of type `from` feed an input of type `to`? `ndarray` accepts every array type, `json` accepts `scalar`. */
export function portAccepts(to: PortType, from: PortType): boolean {
  return from === to || (to === 'ndarray' && isArrayPortType(from)) || (to === 'json' && from === 'scalar');
}
