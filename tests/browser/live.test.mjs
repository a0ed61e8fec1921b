// The live News Feed in a real browser: a reader's open page shows a new
// update, an edit and a deletion without a reload, inside the aria-live
// list. Starts its own server on a free loopback port with a fresh demo
// site; stops it by PID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BIN, start, stop } from './harness.mjs';

let env, site, browser, base;

before(async () => {
  env = await start('newsroom-live-');
  ({ site, browser, base } = env);
});

after(async () => stop(env));

const live = (...args) => execFileSync(BIN, ['live', ...args], { encoding: 'utf8' }).trim();

test('an open page shows new, edited and deleted updates without reload', async () => {
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(base + '/', { waitUntil: 'load' });
  const feed = page.locator('#newsfeed');
  assert.equal(await feed.getAttribute('aria-live'), 'polite');
  await page.waitForTimeout(500); // the stream connects
  await page.evaluate(() => { window.notReloaded = true; });

  const t0 = Date.now();
  const id = live('post', site, '--headline', 'Trains run again on the western line', '--key');
  const item = feed.locator(`li[data-id="${id}"]`);
  await item.waitFor({ timeout: 3000 });
  const shownAfter = Date.now() - t0;
  assert.ok(shownAfter < 2000, `shown after ${shownAfter} ms`);
  assert.equal(await feed.locator('li').first().getAttribute('data-id'), id, 'newest first');
  assert.match(await item.textContent(), /Key update/);

  live('edit', site, id, '--headline', 'Trains run again on the western and northern lines');
  await page.waitForFunction((i) => document.querySelector(`#newsfeed li[data-id="${i}"]`)
    ?.textContent.includes('northern'), id, { timeout: 3000 });
  assert.match(await item.textContent(), /Updated/);

  live('delete', site, id);
  await item.waitFor({ state: 'detached', timeout: 3000 });
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'no reload happened');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a page that lost its connection catches up after reconnecting', async () => {
  const page = await browser.newPage();
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForTimeout(500);
  // the server goes away; an update is posted meanwhile; the server returns
  const exited = new Promise((r) => env.server.once('exit', r));
  env.server.kill('SIGTERM');
  await exited;
  const id = live('post', site, '--headline', 'Posted while the reader was cut off');
  env.server = env.serve();
  // EventSource retries (retry: 3000) and resumes with Last-Event-ID
  await page.locator(`#newsfeed li[data-id="${id}"]`).waitFor({ timeout: 15000 });
  assert.equal(await page.locator(`#newsfeed li[data-id="${id}"]`).count(), 1, 'shown once');
  await page.close();
});

test('the News Feed page itself updates live', async () => {
  const page = await browser.newPage();
  await page.goto(base + '/news-feed/', { waitUntil: 'load' });
  await page.waitForTimeout(500);
  const id = live('post', site, '--headline', 'Water supply restored in the old town');
  await page.locator(`#newsfeed li[data-id="${id}"]`).waitFor({ timeout: 3000 });
  assert.equal(await page.locator('h1').count(), 1);
  await page.close();
});
