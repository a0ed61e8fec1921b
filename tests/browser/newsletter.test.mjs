// Browser tests of the newsletter sign-up form in Debian's Chromium
// (playwright-core), with and without JavaScript: the messages a reader
// sees, the honeypot staying out of reach, and focus on a mistake. The
// real binary serves a fresh demo site; mail goes to DIR/mail/*.eml (no
// SMTP configured), where the confirmation email is checked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { start, stop } from './harness.mjs';

let env, browser, base;

before(async () => {
  env = await start('newsroom-nl-');
  ({ browser, base } = env);
});

after(async () => stop(env));

function mails() {
  const dir = path.join(env.site, 'mail');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.eml'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8')) : [];
}

async function waitForMail(addr) {
  for (let i = 0; i < 200; i++) {
    const m = mails().find((t) => t.includes(`To: ${addr}`));
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${addr}`);
}

test('with JavaScript the answer appears in the form', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  // the server's 400 for the bad address is expected; Chromium logs it
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 400/.test(m.text())) problems.push(m.text());
  });
  await page.goto(base + '/');
  const form = page.locator('form.newsletter-form').first();
  assert.match(await form.textContent(), /\* indicates required/);
  const email = form.getByLabel(/Email address/);
  // the browser's own check stops an obviously bad address; bypass it to
  // reach the server's answer
  await form.evaluate((f) => { f.noValidate = true; });
  await email.fill('not an address');
  await form.getByRole('button', { name: 'Subscribe' }).click();
  const msg = form.locator('.form-message');
  await msg.filter({ hasText: 'Please enter a correct email address' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.type), 'email');
  assert.equal(page.url(), base + '/', 'the page stayed');
  await email.fill('js-reader@example.org');
  await form.getByRole('button', { name: 'Subscribe' }).click();
  await msg.filter({ hasText: 'Successfully subscribed' }).waitFor();
  assert.match(await msg.textContent(),
    /Thank you for signing up for this newsletter\. We've sent you a confirmation email\./);
  assert.equal(await msg.getAttribute('role'), 'status');
  // the honeypot is not reachable by keyboard or visible
  const honey = form.locator('input[name="website"]');
  assert.equal(await honey.getAttribute('tabindex'), '-1');
  const box = await form.locator('.field-website').boundingBox();
  assert.ok(!box || (box.width <= 1 && box.height <= 1), 'the honeypot is not shown');
  const mail = await waitForMail('js-reader@example.org');
  assert.match(mail, /Subject: Please confirm your subscription/);
  assert.deepEqual(problems, []);
  await context.close();
});

test('without JavaScript the form posts and the answer is a page', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(base + '/');
  const form = page.locator('form.newsletter-form').nth(1);
  await form.getByLabel(/Email address/).fill('plain-reader@example.org');
  await form.getByRole('button', { name: 'Subscribe' }).click();
  await page.waitForURL(/\/newsletters\/[a-z0-9-]+\/subscribe$/);
  assert.equal(await page.textContent('h1'), 'Successfully subscribed');
  assert.match(await page.textContent('main'), /We've sent you a confirmation email\./);
  const mail = await waitForMail('plain-reader@example.org');
  const link = mail.replace(/=\r?\n/g, '').match(/(http:\/\/\S+\/newsletters\/confirm\/\?token=[^\s"<]+)/)[1]
    .replace(/=3D/g, '=');
  const confirm = await context.newPage();
  await confirm.goto(link.replace(/^http:\/\/[^/]+/, base));
  assert.equal(await confirm.textContent('h1'), 'Subscription confirmed');
  await context.close();
});
