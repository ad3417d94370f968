// Operator interface specs: JSON Schema check plus the rules a schema cannot state.
import { own, portAccepts, type OperatorSpec } from '@emflow/sdk';
import specSchema from '../schema/operator-spec.schema.json' with { type: 'json' };
import { ajv } from './ajv.js';
import { pointer, problemsFromAjv, type Problem } from './problems.js';

export const SPEC_SCHEMA_ID = specSchema.$id;
const checkSchema = ajv.compile<OperatorSpec>(specSchema);

export function validateSpec(spec: unknown): Problem[] {
  if (!checkSchema(spec)) return problemsFromAjv(checkSchema.errors);
  const problems: Problem[] = [];
  for (const [port, output] of Object.entries(spec.outputs)) {
    const input = output.sameAs !== undefined ? own(spec.inputs, output.sameAs) : undefined;
    if (output.sameAs !== undefined && !input) {
      problems.push({ pointer: pointer('outputs', port, 'sameAs'), message: `"${output.sameAs}" is not an input port` });
    } else if (input && !portAccepts(output.type, input.type)) {
      problems.push({ pointer: pointer('outputs', port, 'type'), message: `${output.type} cannot carry what input "${output.sameAs}" accepts (${input.type})` });
    }
  }
  for (const [name, param] of Object.entries(spec.params ?? {})) {
    if (param.default !== undefined && !paramSchemaAccepts(param, param.default)) {
      problems.push({ pointer: pointer('params', name, 'default'), message: `default ${JSON.stringify(param.default)} does not satisfy the param's own type and bounds` });
    }
  }
  return problems;
}

/** The JSON Schema of one param (annotations such as units left out). */
export function paramSchema(param: NonNullable<OperatorSpec['params']>[string]): Record<string, unknown> {
  const { type, minimum, maximum, exclusiveMinimum, exclusiveMaximum, default: value } = param;
  const schema: Record<string, unknown> = { type };
  if (minimum !== undefined) schema.minimum = minimum;
  if (maximum !== undefined) schema.maximum = maximum;
  if (exclusiveMinimum !== undefined) schema.exclusiveMinimum = exclusiveMinimum;
  if (exclusiveMaximum !== undefined) schema.exclusiveMaximum = exclusiveMaximum;
  if (param.enum !== undefined) schema.enum = [...param.enum];
  if (value !== undefined) schema.default = value;
  return schema;
}

function paramSchemaAccepts(param: NonNullable<OperatorSpec['params']>[string], value: unknown): boolean {
  const { default: _ignored, ...rest } = paramSchema(param);
  return ajv.validate(rest, value) as boolean;
}
