// Errors a run reports: each names the node, its operator and what went wrong, in one paragraph.

export interface RunFailure {
  node: string;
  operator: string;
  /** frame being processed, when known */
  frame?: number;
  /** what went wrong, one sentence */
  detail: string;
  /** the operator's stack trace, when its code threw */
  stack?: string;
  /** the last lines the operator printed */
  log?: string;
}

export class RunError extends Error {
  override name = 'RunError';
  readonly failure: RunFailure;

  constructor(failure: RunFailure) {
    const where = `node "${failure.node}" (${failure.operator})${failure.frame !== undefined ? ` on frame ${failure.frame}` : ''}`;
    const log = failure.log?.trim() ? `\n--- last output of ${failure.node} ---\n${failure.log.trim()}` : '';
    super(`${where}: ${failure.detail}${log}`);
    this.failure = failure;
  }
}
