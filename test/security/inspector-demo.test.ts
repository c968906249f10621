/**
 * Issue 12.4: the demo endpoints are no remote control. They are off unless asked for; they
 * refuse non-JSON and foreign requests, requests relayed by a proxy and foreign Host names; and
 * without the inspector's access token they act only for `demo-` uids, so nobody can mint a
 * token for `admin` or ban a real user. A ban can be lifted (`server.unban`). The cross-origin
 * `no-cors` ban from a page on another origin runs in Chromium in inspector-origin.test.ts.
 */
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RtmClient, RtmError } from '../../src/index.js';
import type { RtmServer } from '../../src/server/index.js';
import { httpBase, rawRequest, startBystander, startServer, waitFor } from './inspector-rig.js';

const json = { 'content-type': 'application/json' };

describe('12.4 the demo endpoints', () => {
  let server: RtmServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('12.4 are off by default (404) and on with inspectorDemo', async () => {
    server = await startServer();
    const off = await fetch(`${httpBase(server)}/inspector/demo/token`, { method: 'POST', headers: json, body: '{"uid":"demo-a"}' });
    expect(off.status).toBe(404);
    expect((await off.json()).message).toMatch(/not enabled/);
    await server.close();
    server = await startServer({ inspectorDemo: true });
    const on = await fetch(`${httpBase(server)}/inspector/demo/token`, { method: 'POST', headers: json, body: '{"uid":"demo-a"}' });
    expect(on.status).toBe(200);
  });

  it('12.4 refuse non-JSON, foreign Host, proxied callers and non-demo uids; the bystander loses nothing', async () => {
    server = await startServer({ inspectorDemo: true });
    const bystander = await startBystander(server);
    const base = httpBase(server);
    const post = (path: string, body: string, headers: Record<string, string> = json) => fetch(`${base}/inspector/demo/${path}`, { method: 'POST', headers, body });

    const textPlain = await post('ban', '{"uid":"demo-a"}', { 'content-type': 'text/plain' });
    expect(textPlain.status).toBe(415);
    expect((await textPlain.json()).code).toBe('INVALID_ARGUMENT');

    const rebound = await rawRequest(`${base}/inspector/demo/token`, { method: 'POST', headers: { ...json, host: 'attacker.example' }, body: '{"uid":"demo-a"}' });
    expect(rebound.status).toBe(403);
    expect(rebound.body).toMatch(/Host 'attacker\.example'/);

    // Behind a reverse proxy on this machine every caller would be loopback: its headers say otherwise.
    for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
      const proxied = await post('token', '{"uid":"demo-a"}', { ...json, [header]: header === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9' });
      expect(proxied.status).toBe(403);
    }

    const admin = await post('token', '{"uid":"admin"}');
    expect(admin.status).toBe(403);
    expect(await admin.json()).toMatchObject({ code: 'FORBIDDEN' });
    const banReal = await post('ban', JSON.stringify({ uid: 'bystander-a' }));
    expect(banReal.status).toBe(403);

    const demo = await post('token', '{"uid":"demo-a"}');
    expect(demo.status).toBe(200);
    const { token } = (await demo.json()) as { token: string };
    const client = new RtmClient({ url: server.url });
    await client.login({ uid: 'demo-a', token });
    await client.logout();

    const outcome = await bystander.finish();
    expect(outcome.missing).toEqual([]);
    expect(outcome.stateChanges).toEqual([]);
  });

  it('12.4 with the inspector access token, the demo may act for any uid (the caller is authenticated)', async () => {
    server = await startServer({ inspectorDemo: true, inspectorAccessToken: 'ops-token' });
    const base = httpBase(server);
    const withToken = await fetch(`${base}/inspector/demo/token`, { method: 'POST', headers: { ...json, authorization: 'Bearer ops-token' }, body: '{"uid":"admin"}' });
    expect(withToken.status).toBe(200);
    const without = await fetch(`${base}/inspector/demo/token`, { method: 'POST', headers: json, body: '{"uid":"admin"}' });
    expect(without.status).toBe(401);
    expect(await without.text()).toMatch(/access token required/);
  });

  it('12.4 server.unban lifts a ban: the uid may log in again', async () => {
    server = await startServer();
    const client = new RtmClient({ url: server.url });
    await client.login({ uid: 'demo-z', token: server.createToken('demo-z') });
    server.ban('demo-z');
    await waitFor(() => client.connectionState === 'ABORTED', 'the ban');
    await client.logout();
    await expect(client.login({ uid: 'demo-z', token: server.createToken('demo-z') })).rejects.toMatchObject({ code: 'REJECTED' });
    await server.unban('demo-z');
    await client.login({ uid: 'demo-z', token: server.createToken('demo-z') });
    expect(client.connectionState).toBe('CONNECTED');
    await client.logout();
    await expect(server.unban('bad uid')).rejects.toBeInstanceOf(RtmError);
  });

  it('12.4 serve has the demo off unless --demo, and npm start turns it on', async () => {
    const { readFile } = await import('node:fs/promises');
    const pkg = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe('node dist/src/cli.js serve --demo');
    for (const [flags, status] of [[[], 404], [['--demo'], 200]] as const) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', '--port', '0', '--secret', 'demo-flag', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        const pageUrl = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
            const match = /Inspector page: (\S+)/.exec(out);
            if (match) resolve(match[1]!);
          });
          child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${out}`)));
        });
        expect((await fetch(`${pageUrl}/demo/config`)).status).toBe(status);
      } finally {
        child.kill('SIGTERM');
        await new Promise((resolve) => child.once('exit', resolve));
      }
    }
  });
});
