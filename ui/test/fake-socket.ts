// A WebSocket stand-in: the test plays the server, answering requests and sending notifications and frames.
export class FakeSocket {
  static all: FakeSocket[] = [];
  binaryType = 'blob';
  readyState = 0;
  sent: { id?: number; method: string; params: Record<string, unknown> }[] = [];
  onopen: ((ev: Event) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  static get last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }

  send(data: string) {
    this.sent.push(JSON.parse(data));
  }

  close() {
    this.drop();
  }

  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  drop() {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.(new Event('close') as CloseEvent);
  }

  receive(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) } as MessageEvent);
  }

  receiveBinary(data: ArrayBuffer) {
    this.onmessage?.({ data } as MessageEvent);
  }

  notify(method: string, params: unknown) {
    this.receive({ jsonrpc: '2.0', method, params });
  }

  /** answer the first unanswered request of `method` */
  answer(method: string, result: unknown) {
    const request = this.take(method);
    this.receive({ jsonrpc: '2.0', id: request.id, result });
  }

  fail(method: string, code: number, message: string, data?: unknown) {
    const request = this.take(method);
    this.receive({ jsonrpc: '2.0', id: request.id, error: { code, message, data } });
  }

  private answered = new Set<number>();
  private take(method: string) {
    const request = this.sent.find((m) => m.method === method && m.id !== undefined && !this.answered.has(m.id));
    if (!request) throw new Error(`no pending ${method} request (sent: ${this.sent.map((m) => m.method).join(', ')})`);
    this.answered.add(request.id!);
    return request;
  }

  methods(): string[] {
    return this.sent.map((m) => m.method);
  }
}
