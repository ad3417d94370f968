// Where the command host is, for the process runtime's launcher (apart from host.ts, which runs when imported).
import { fileURLToPath } from 'node:url';

/** The command host: `node host.js MANIFEST --describe | --operator NAME`. */
export const COMMAND_HOST = fileURLToPath(new URL('./host.js', import.meta.url));
