// One configured Ajv instance for every schema the engine checks.
import { Ajv } from 'ajv';

export const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: true, allowUnionTypes: true });
