// The docker tests' operator folders: the shared ones and this suite's Python fixture (test/docker/operators).
import { resolve } from 'node:path';
import { operatorDirs, root } from '../helpers.js';

export const dockerOperatorDirs = [...operatorDirs, resolve(root, 'test/docker/operators')];
