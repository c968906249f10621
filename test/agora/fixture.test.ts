/**
 * Issue 14.2: "ports from Agora by changing the import" holds for test/agora/fixture/app.ts, an
 * app written as Agora RTM 1.x apps are. It is typechecked with its own (app-like) tsconfig
 * against the package's built .d.ts (`npm test` builds first), and run against a real server.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createRtmServer, type RtmServer } from '../../src/server/index.js';
import { waitFor } from '../e2e/harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = join(root, 'test/agora/fixture');

interface FixtureApp {
  runChat(
    config: { appId: string; serverUrl: string; tokenFor(uid: string, expiresInSeconds?: number): string | undefined },
    wait: (what: string, condition: () => boolean) => Promise<void>,
  ): Promise<{ alice: string[]; bob: string[] }>;
}

let server: RtmServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('14.2 an Agora RTM 1.x app against this package', () => {
  it('14.2 typechecks against the built .d.ts with only the import changed (tsc --noEmit)', async () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const { stdout } = await promisify(execFile)(process.execPath, [tsc, '-p', join(fixture, 'tsconfig.json'), '--listFiles'], {
      cwd: fixture,
    }).catch((error: { stdout?: string }) => {
      throw new Error(`the fixture app does not typecheck:\n${error.stdout ?? String(error)}`);
    });
    const files = stdout.split('\n').map((line) => line.trim());
    // The package's declarations were read, not this repository's sources.
    expect(files).toContain(join(root, 'dist/src/index.d.ts'));
    expect(files.filter((file) => file.startsWith(join(root, 'src')))).toEqual([]);
  }, 120_000);

  it('14.2 runs against a real server: chat, raw messages, presence, attributes, counts, token renewal', async () => {
    server = await createRtmServer({
      port: 0,
      inspector: false,
      limits: { tokenWillExpireNoticeMs: 2500, memberCountIntervalMs: 50 },
    });
    const running = server;
    // A variable specifier keeps the repository's typecheck out of the fixture (it has its own).
    const specifier = './fixture/app.ts';
    const app = (await import(specifier)) as FixtureApp;
    const { alice, bob } = await app.runChat(
      {
        appId: 'an-agora-app-id',
        serverUrl: running.url,
        tokenFor: (uid, expiresInSeconds) => running.createToken(uid, expiresInSeconds === undefined ? {} : { expiresInSeconds }),
      },
      (what, condition) => waitFor(condition, what, 5000),
    );
    expect(alice).toEqual(
      expect.arrayContaining([
        'state CONNECTING LOGIN',
        'state CONNECTED LOGIN_SUCCESS',
        'presence bob ONLINE',
        'presence carol OFFLINE',
        'watching bob,carol',
        'joined bob',
        'members alice,bob',
        'channel bob raw 3',
        'delivered true',
        'bob attributes {"mood":"great","city":"Oslo"} city Oslo',
        'bob online true',
        'token will expire',
        'token renewed',
        'left bob',
        'presence bob OFFLINE',
        'state DISCONNECTED LOGOUT',
      ]),
    );
    expect(alice.filter((line) => line.startsWith('count '))).toEqual(['count 1', 'count 2', 'count 1']);
    expect(bob).toEqual(
      expect.arrayContaining([
        'counts lobby=2 empty-room=0',
        'channel alice hello lobby',
        'peer alice text hi bob true',
        'peer alice raw 16 a file',
        'attributes topic=weekend/alice',
        'attributes host=bob/bob,topic=weekend/alice',
        'attributes host=bob/bob',
        'lobby attributes host host by bob',
        'state DISCONNECTED LOGOUT',
      ]),
    );
    expect(alice.filter((line) => line.startsWith('attributes')).length).toBe(3);
  }, 30_000);
});
