// What the canvas hands its custom node and edge components as `data`.
import type { NodeStateNotification, OperatorSpec, PortType } from '@emflow/engine/protocol';
import type { PipelineNode } from '../model/document';
import type { LocatedProblem } from '../model/problems';

export interface OperatorNodeData {
  node: PipelineNode;
  spec?: OperatorSpec;
  /** resolved output types (sameAs followed) */
  outputTypes?: ReadonlyMap<string, PortType>;
  state?: NodeStateNotification;
  problems: readonly LocatedProblem[];
}

export interface TypedEdgeData {
  type?: PortType;
  problems: readonly LocatedProblem[];
}
