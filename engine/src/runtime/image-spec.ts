// The operator spec an image carries in its `emflow.operator` label (docker images and SIF files alike).
import type { OperatorSpec } from '@emflow/sdk';
import { formatProblems } from '../validate/problems.js';
import { validateSpec } from '../validate/spec.js';

/** The spec of an image's label, or why it has none that can be used. */
export function specFromLabel(label: string | undefined): OperatorSpec | { problem: string } {
  if (label === undefined) return { problem: 'the image has no emflow.operator label: not an emflow operator' };
  let spec: OperatorSpec;
  try {
    spec = JSON.parse(label) as OperatorSpec;
  } catch {
    return { problem: 'label emflow.operator is not JSON' };
  }
  const problems = validateSpec(spec);
  return problems.length ? { problem: `invalid spec in label emflow.operator:\n${formatProblems(problems)}` } : spec;
}
