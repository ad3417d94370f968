// A command operator as the SDK's host serves it: each frame writes the inputs to files in a scratch folder,
// runs the manifest's command there, and reads the outputs the program wrote.
import { lstatSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWholeFile } from '@emflow/formats';
import { own, type Frame, type OperatorDefinition } from '@emflow/sdk';
import { decodeFile, encodeFile } from './file-codecs.js';
import { EXTENSIONS, type FileFormat } from './file-formats.js';
import { expandTemplate, type CommandManifest, type TemplateValues } from './manifest.js';
import { inScratchFolder, runCommand, type CommandOutcome } from './run-command.js';

type Outputs = Record<string, Frame>;

/** The engine's environment for the program, without what lets a process speak for this operator. */
function programEnvironment(): NodeJS.ProcessEnv {
  const { EMFLOW_TOKEN: _token, EMFLOW_SOCKET: _socket, ...env } = process.env;
  return env;
}

/** The files of a frame's ports: chosen here, in the scratch folder, never by params. */
function portFiles(formats: Record<string, FileFormat>, prefix: string, folder: string): Record<string, string> {
  return Object.fromEntries(Object.entries(formats).map(([port, format]) => [port, join(folder, `${prefix}-${port}${EXTENSIONS[format]}`)]));
}

/** Why the program failed, in one line and its stderr tail; undefined when it succeeded. */
function failureOf(manifest: CommandManifest, { ending, stderrTail }: CommandOutcome): string | undefined {
  const program = manifest.command[0];
  let what: string;
  switch (ending.kind) {
    case 'exit': {
      if (manifest.successCodes.includes(ending.code)) return undefined;
      const meaning = own(manifest.exitMessages, String(ending.code));
      what = `${program} exited with code ${ending.code}${meaning ? ` (${meaning})` : ''}`;
      break;
    }
    case 'signal':
      what = `${program} was killed by ${ending.signal}`;
      break;
    case 'timeout':
      what = `${program} did not finish within ${manifest.timeoutMs} ms (timeoutMs) and was killed`;
      break;
    case 'unstartable':
      what = `cannot run ${program}: ${ending.reason}`;
      break;
    case 'aborted':
      return undefined;
  }
  return withStderr(`${manifest.spec.name}: ${what}`, program, stderrTail);
}

const withStderr = (message: string, program: string, stderrTail: string) => (stderrTail.trim() ? `${message}\n--- last stderr of ${program} ---\n${stderrTail.trim()}` : message);

async function readOutputs(manifest: CommandManifest, files: Record<string, string>, outcome: CommandOutcome): Promise<Outputs> {
  const outputs: Outputs = Object.create(null); // port names are the manifest's: "__proto__" is a name like any other
  for (const [port, file] of Object.entries(files)) {
    if (!lstatSync(file, { throwIfNoEntry: false })) {
      throw new Error(withStderr(`${manifest.spec.name}: ${manifest.command[0]} did not write {output.${port}} (expected ${file})`, manifest.command[0], outcome.stderrTail));
    }
    const format = own(manifest.formats.output, port)!;
    const bytes = readWholeFile(file, `${manifest.spec.name}: {output.${port}}`, `a ${format} file`);
    outputs[port] = await decodeFile(format, bytes, own(manifest.spec.outputs, port)!.type, `${manifest.spec.name}: {output.${port}} ${file}`);
  }
  return outputs;
}

/** One frame: inputs to files, the program run, outputs from files. Undefined when `signal` aborted it. */
async function runFrame(manifest: CommandManifest, inputs: Record<string, Frame>, params: Record<string, unknown>, frame: number, signal: AbortSignal): Promise<Outputs | undefined> {
  const env = programEnvironment();
  return inScratchFolder(manifest.scratch ?? tmpdir(), `emflow-${manifest.spec.name}-`, env, async (workdir, guard) => {
    const input = portFiles(manifest.formats.input, 'in', workdir);
    const output = portFiles(manifest.formats.output, 'out', workdir);
    for (const [port, file] of Object.entries(input)) {
      try {
        writeFileSync(file, encodeFile(own(manifest.formats.input, port)!, inputs[port]), { flag: 'wx', mode: 0o600 });
      } catch (error) {
        throw new Error(`${manifest.spec.name}: {input.${port}}: ${(error as Error).message}`, { cause: error });
      }
    }
    const values: TemplateValues = { input, output, params, frame, workdir };
    const expand = (text: string) => expandTemplate(text, values);
    const stdin = manifest.stdin && manifest.stdin.map((line) => `${expandTemplate(line, values, true)}\n`).join('');
    const outcome = await runCommand({ argv: manifest.command.map(expand), cwd: workdir, env, stdin, timeoutMs: manifest.timeoutMs, signal, guard });
    if (outcome.ending.kind === 'aborted') return undefined;
    const failure = failureOf(manifest, outcome);
    if (failure) throw new Error(failure);
    const outputs = await readOutputs(manifest, output, outcome);
    // on failure the error quotes it; else the log gets it (and never both: the engine's error adds the log)
    if (outcome.stderrTail) process.stderr.write(`${outcome.stderrTail}\n`);
    return outputs;
  });
}

/** A frame whose program is running: how to abort it, and when it is over. */
interface RunningFrame {
  controller: AbortController;
  done: Promise<unknown>;
}

/**
 * One frame as an async iterable of one element, not a plain promise: the SDK's host calls return() on an
 * iterator it lets go of (the engine cancelled the call, a new call came, or the operator shuts down), which
 * is how the frame learns that its program must be killed.
 */
function abortableFrame(produce: (signal: AbortSignal) => Promise<Outputs | undefined>, running: Set<RunningFrame>): AsyncIterable<Outputs> {
  const controller = new AbortController();
  let started = false;
  const iterator: AsyncIterator<Outputs> = {
    async next() {
      if (started || controller.signal.aborted) return { done: true, value: undefined };
      started = true;
      const frame = { controller, done: produce(controller.signal) };
      running.add(frame);
      try {
        const outputs = await frame.done;
        return outputs ? { done: false, value: outputs } : { done: true, value: undefined };
      } finally {
        running.delete(frame);
      }
    },
    async return() {
      controller.abort();
      return { done: true, value: undefined };
    },
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

/** The SDK operator of a manifest. */
export function commandOperator(manifest: CommandManifest): OperatorDefinition {
  return {
    spec: manifest.spec,
    async instantiate() {
      const running = new Set<RunningFrame>();
      return {
        process: (inputs, params, ctx) => abortableFrame((signal) => runFrame(manifest, inputs as Record<string, Frame>, params, ctx.frame, signal), running),
        // at shutdown: no program outlives the operator, nor its scratch folder
        teardown: async () => {
          const frames = [...running];
          for (const frame of frames) frame.controller.abort();
          await Promise.allSettled(frames.map((frame) => frame.done));
        },
      };
    },
  };
}
