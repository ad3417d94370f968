// The last lines an operator wrote, kept for error reports, and forwarded line by line to listeners.
import type { Readable } from 'node:stream';

export class LogTail {
  private readonly lines: string[] = [];
  private readonly listeners: ((line: string, stream: 'stdout' | 'stderr') => void)[] = [];

  constructor(private readonly limit = 40) {}

  follow(stream: Readable, name: 'stdout' | 'stderr'): void {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const line of parts) this.push(line, name);
    });
    stream.on('end', () => partial && this.push(partial, name));
  }

  push(line: string, stream: 'stdout' | 'stderr'): void {
    this.lines.push(line);
    if (this.lines.length > this.limit) this.lines.shift();
    for (const listener of this.listeners) listener(line, stream);
  }

  onLine(listener: (line: string, stream: 'stdout' | 'stderr') => void): void {
    this.listeners.push(listener);
  }

  text(): string {
    return this.lines.join('\n');
  }
}
