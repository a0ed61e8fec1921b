// Browser tests of the editorial desk in Debian's Chromium (playwright-core):
// an author signs in, writes a post with an uploaded image, watches the live
// preview, publishes, opens the public page and sees "Edit post"; a reader
// in a fresh browser sees the same page without it. Also: the desk works
// with JavaScript off. Real binary, fresh demo site, free loopback port.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { BIN, start, stop } from './harness.mjs';

const PASSWORD = 'a long enough password';
let env, browser, base, jpeg;

before(async () => {
  env = await start('newsroom-desk-');
  ({ browser, base } = env);
  for (const [email, role] of [['author@example.org', 'author'], ['writer@example.org', 'author']])
    execFileSync(BIN, ['user', 'add', env.site, '--email', email, '--name',
      email.startsWith('author') ? 'Ada Author' : 'Wren Writer', '--role', role],
    { input: PASSWORD + '\n' });
  const images = path.join(env.site, 'media', 'images');
  jpeg = path.join(images, readdirSync(images).find((f) => f.endsWith('-960.jpg')));
});

after(async () => stop(env));

async function signIn(context, email) {
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(base + '/desk');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(base + '/desk/');
  return { page, problems };
}

test('an author writes, previews and publishes a post with an image', async () => {
  const context = await browser.newContext();
  const { page, problems } = await signIn(context, 'author@example.org');
  assert.match(await page.textContent('.desk-user'), /Ada Author/);

  await page.getByRole('link', { name: 'New post' }).first().click();
  await page.getByLabel('Headline').fill('Lighthouse keeper retires after forty winters');
  await page.getByLabel('Standfirst').fill('The lamp on the north cape goes automatic.');
  await page.getByLabel('Body (Markdown)').fill(
    'The last keeper climbed the **212 steps** one final time.\n\n## A quiet handover\n\nThe light stays on.');
  await page.getByLabel('Upload an image').setInputFiles(jpeg);
  await page.getByLabel('Alt text').fill('A white lighthouse on a rocky cape');

  // the live preview follows the typing and renders like the public page
  const preview = page.frameLocator('#live-preview');
  await preview.locator('h1.headline', { hasText: 'Lighthouse keeper retires' }).waitFor();
  assert.equal(await preview.locator('.article-body strong').textContent(), '212 steps');
  assert.match(await preview.locator('.article-body h2').textContent(), /A quiet handover/);

  await page.getByRole('button', { name: 'Publish now' }).click();
  await page.waitForURL(/\/desk\/posts\/\d+\/\?done=published/);
  assert.match(await page.textContent('.notice'), /Published/);

  await page.getByRole('link', { name: 'View on the site' }).click();
  await page.waitForURL(base + '/lighthouse-keeper-retires-after-forty-winters/');
  assert.equal(await page.textContent('h1.headline'), 'Lighthouse keeper retires after forty winters');
  const img = page.locator('figure.feature img');
  assert.equal(await img.getAttribute('alt'), 'A white lighthouse on a rocky cape');
  assert.match(await img.getAttribute('src'), /^\/media\/images\/lighthouse-keeper[a-z0-9-]*-\d+\.jpg$/);
  assert.ok(await img.evaluate((el) => el.complete && el.naturalWidth > 0), 'the image loads');
  const edit = page.getByRole('link', { name: 'Edit post' });
  await edit.waitFor();
  assert.match(await edit.getAttribute('href'), /^\/desk\/posts\/\d+\/$/);
  assert.deepEqual(problems, []);

  // a colleague with the same role but not on the byline gets no link
  const other = await browser.newContext();
  const w = await signIn(other, 'writer@example.org');
  await w.page.goto(base + '/lighthouse-keeper-retires-after-forty-winters/');
  await w.page.waitForLoadState('networkidle');
  assert.equal(await w.page.getByRole('link', { name: 'Edit post' }).count(), 0);
  await other.close();

  // a reader in a fresh browser sees the same article without the link
  const reader = await browser.newContext();
  const rp = await reader.newPage();
  await rp.goto(base + '/lighthouse-keeper-retires-after-forty-winters/');
  await rp.waitForLoadState('networkidle');
  assert.equal(await rp.textContent('h1.headline'), 'Lighthouse keeper retires after forty winters');
  assert.equal(await rp.getByRole('link', { name: 'Edit post' }).count(), 0);
  await reader.close();
  await context.close();
});

test('the desk works without JavaScript', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const { page } = await signIn(context, 'writer@example.org');
  await page.goto(base + '/desk/posts/new/');
  await page.getByLabel('Headline').fill('Ferry timetable for the winter');
  await page.getByLabel('Body (Markdown)').fill('Boats leave at *seven*.');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.waitForURL(/\/desk\/posts\/\d+\/\?done=saved/);
  assert.equal(await page.getByLabel('Headline').inputValue(), 'Ferry timetable for the winter');
  await page.getByRole('button', { name: 'Publish now' }).click();
  await page.waitForURL(/done=published/);
  const res = await fetch(base + '/ferry-timetable-for-the-winter/');
  assert.equal(res.status, 200);
  // a bad upload is refused with a message, the text typed is kept
  await page.getByLabel('Upload an image').setInputFiles({
    name: 'photo.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('this is not a picture'),
  });
  // a published article's save button says what it does
  await page.getByRole('button', { name: 'Update the published article' }).click();
  assert.match(await page.textContent('.error'), /not a JPEG, PNG, WebP or GIF/);
  assert.equal(await page.getByLabel('Headline').inputValue(), 'Ferry timetable for the winter');
  await context.close();
});
