// Shared set-up of the browser tests: a fresh demo site served by the real
// binary on a free loopback port, and Debian's Chromium through
// playwright-core. stop() ends what start() began, by PID.
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const BIN = path.resolve(ROOT, process.env.NEWSROOM_BIN ?? path.join('build', 'newsroom'));

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function waitFor(url) {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
}

/* Starts a demo site; returns {dir, site, base, port, server, browser}. */
export async function start(prefix) {
  const env = {};
  env.dir = mkdtempSync(path.join(tmpdir(), prefix));
  env.site = path.join(env.dir, 'site');
  execFileSync(BIN, ['init', env.site, '--demo'], { stdio: 'ignore' });
  // no narration of the demo's articles under the browser tests' timing
  appendFileSync(path.join(env.site, 'site.conf'), '\nnarration_engine = off\n');
  env.port = await freePort();
  env.base = `http://127.0.0.1:${env.port}`;
  env.serve = () => spawn(BIN, ['serve', env.site, '--listen', `127.0.0.1:${env.port}`],
    { stdio: 'ignore' });
  env.server = env.serve();
  await waitFor(env.base + '/');
  env.browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu',
      '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync'],
  });
  return env;
}

export async function stop(env) {
  await env?.browser?.close();
  env?.server?.kill('SIGTERM');
  if (env?.dir) rmSync(env.dir, { recursive: true, force: true });
}
