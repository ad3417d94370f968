// Sessions for integration tests, closed after each test and checked for leaks. Apart from helpers.ts, which
// must not import vitest: the docker tests' global setup (outside any test) imports helpers.
import { afterEach } from 'vitest';
import { openSession, type Session, type SessionOptions } from '@emflow/engine';
import { expectNoLeaks, operatorDirs } from './helpers.js';

/** `open(document, options)` for a test file: every session it opens is closed after each test and checked for leaks. */
export function sessionOpener(): (document: object, options?: Partial<SessionOptions>) => Promise<Session> {
  const sessions: Session[] = [];
  afterEach(async () => {
    for (const s of sessions.splice(0)) {
      await s.close();
      await expectNoLeaks(s.paths.dir);
    }
  });
  return async (document, options = {}) => {
    const session = await openSession({ pipeline: document, operatorDirs, ...options });
    sessions.push(session);
    return session;
  };
}
