// The inspector's form, derived from an operator's param specs: one field per param.
import type { OperatorSpec } from '@emflow/engine/protocol';

export type ParamSpec = NonNullable<OperatorSpec['params']>[string];
export type FieldKind = 'slider' | 'number' | 'select' | 'checkbox' | 'text' | 'path';

export interface Field {
  name: string;
  kind: FieldKind;
  description?: string;
  units?: string;
  integer: boolean;
  min?: number;
  max?: number;
  /** for sliders: 1 for integers, continuous for numbers */
  step: number | 'any';
  options?: { value: string | number; label: string }[];
  path?: 'read' | 'write';
  /** may be cleared (left unset) */
  optional: boolean;
  default?: number | string | boolean;
}

export function deriveField(name: string, spec: ParamSpec): Field {
  const numeric = spec.type === 'number' || spec.type === 'integer';
  const integer = spec.type === 'integer';
  const min = spec.minimum ?? spec.exclusiveMinimum;
  const max = spec.maximum ?? spec.exclusiveMaximum;
  let kind: FieldKind;
  if (spec.enum) kind = 'select';
  else if (spec.type === 'boolean') kind = 'checkbox';
  else if (numeric) kind = min !== undefined && max !== undefined ? 'slider' : 'number';
  else kind = spec.path ? 'path' : 'text';
  return {
    name,
    kind,
    description: spec.description,
    units: spec.units,
    integer,
    min,
    max,
    step: integer ? 1 : 'any',
    options: spec.enum?.map((value) => ({ value, label: String(value) })),
    path: spec.path,
    optional: spec.optional === true,
    default: spec.default,
  };
}

export function deriveFields(spec: OperatorSpec): Field[] {
  return Object.entries(spec.params ?? {}).map(([name, p]) => deriveField(name, p));
}

/**
 * Whether a value may be sent to a running session at once. Only a gate against sending nonsense while the
 * user types: the message shown at the field is always the engine's (POST /api/validate).
 */
export function acceptableValue(spec: ParamSpec, value: unknown): boolean {
  if (spec.enum) return spec.enum.includes(value as string | number);
  switch (spec.type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'string':
      return typeof value === 'string';
    default: {
      if (typeof value !== 'number' || !Number.isFinite(value)) return false;
      if (spec.type === 'integer' && !Number.isInteger(value)) return false;
      if (spec.minimum !== undefined && value < spec.minimum) return false;
      if (spec.maximum !== undefined && value > spec.maximum) return false;
      if (spec.exclusiveMinimum !== undefined && value <= spec.exclusiveMinimum) return false;
      if (spec.exclusiveMaximum !== undefined && value >= spec.exclusiveMaximum) return false;
      return true;
    }
  }
}

/** The value typed into a number field: a number, `undefined` for an empty field, or the text itself when it is no number (the engine then says why). */
export function parseNumberInput(text: string): number | string | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}
