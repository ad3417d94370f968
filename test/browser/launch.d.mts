import type { ChildProcess } from 'node:child_process';
import type { Browser } from 'playwright-core';

export declare const root: string;
export declare const cli: string;
export declare const CHROMIUM: string;
export declare const CHROMIUM_ARGS: string[];

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Server {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** the URL the server printed (with ?token=… when it printed one) */
  url: string;
  /** http://127.0.0.1:PORT/ */
  base: string;
  port: number;
  exited: Promise<ExitStatus>;
  exitStatus: ExitStatus | undefined;
}

export declare function launchChromium(): Promise<Browser>;
export declare function privateShm(): string;
export declare function startServer(options: { target?: string; args?: string[]; shm: string; timeoutMs?: number }): Promise<Server>;
export declare function stopServer(server: Server, timeoutMs?: number): Promise<ExitStatus>;
