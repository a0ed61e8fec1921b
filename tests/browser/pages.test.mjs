// Browser tests of the reader's pages in Debian's Chromium (playwright-core):
// what a person sees at 320 px, with the keyboard, in dark mode, in print,
// and without JavaScript. Starts the real binary on a free loopback port
// with a fresh demo site, and stops it by PID afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, stop } from './harness.mjs';

let env, browser, base, article;

before(async () => {
  env = await start('newsroom-browser-');
  ({ browser, base } = env);
  const html = await (await fetch(base + '/')).text();
  article = html.match(/class="lead[^]*?href="(\/[a-z0-9-]+\/)"/)?.[1]
    ?? html.match(/href="(\/[a-z0-9-]+-[a-z0-9-]+\/)"/)[1];
});

after(async () => stop(env));

async function open(url, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
  await page.goto(base + url, { waitUntil: 'load' });
  return { page, context, problems };
}

test('pages load with no errors, CSP violations or failed requests', async () => {
  for (const url of ['/', article, '/archive/']) {
    const { page, context, problems } = await open(url);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.waitForLoadState('networkidle');
    assert.deepEqual(problems, [], url);
    await context.close();
  }
});

test('no horizontal scrolling at 320 px wide', async () => {
  for (const url of ['/', article, '/archive/']) {
    const { page, context } = await open(url, { viewport: { width: 320, height: 640 } });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 320, `${url} is ${width}px wide`);
    await context.close();
  }
});

test('the first Tab reaches "Skip to content", which moves focus to the content', async () => {
  const { page, context } = await open(article);
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => document.activeElement.textContent.trim());
  assert.equal(first, 'Skip to content');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none', 'focus is visible');
  await page.keyboard.press('Enter');
  const focused = await page.evaluate(() => document.activeElement.id);
  assert.equal(focused, 'main');
  await context.close();
});

test('images keep their space before they load (no layout shift)', async () => {
  const { page, context } = await open(article);
  const unsized = await page.evaluate(() => [...document.images]
    .filter((i) => !i.getAttribute('width') || !i.getAttribute('height'))
    .map((i) => i.src));
  assert.deepEqual(unsized, []);
  const shift = await page.evaluate(() => new Promise((resolve) => {
    let total = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) total += e.value;
    }).observe({ type: 'layout-shift', buffered: true });
    window.scrollTo(0, document.body.scrollHeight);
    setTimeout(() => resolve(total), 800);
  }));
  assert.ok(shift < 0.05, `cumulative layout shift ${shift}`);
  await context.close();
});

function luminance(rgb) {
  const [r, g, b] = rgb.match(/\d+/g).map(Number);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

test('dark mode follows prefers-color-scheme and keeps text readable', async () => {
  const light = await open(article, { colorScheme: 'light' });
  const dark = await open(article, { colorScheme: 'dark' });
  const colors = async (page) => page.evaluate(() => {
    const body = getComputedStyle(document.body);
    const p = getComputedStyle(document.querySelector('.article-body p'));
    return { bg: body.backgroundColor, text: p.color };
  });
  const l = await colors(light.page);
  const d = await colors(dark.page);
  assert.ok(luminance(l.bg) > 200 && luminance(l.text) < 90, JSON.stringify(l));
  assert.ok(luminance(d.bg) < 60 && luminance(d.text) > 170, JSON.stringify(d));
  await light.context.close();
  await dark.context.close();
});

test('print hides navigation, forms and the News Feed', async () => {
  const { page, context } = await open(article);
  await page.emulateMedia({ media: 'print' });
  const shown = await page.evaluate(() => ({
    nav: getComputedStyle(document.querySelector('nav')).display,
    form: getComputedStyle(document.querySelector('form')).display,
    feed: document.querySelector('#newsfeed').offsetParent !== null,
    body: document.querySelector('.article-body').offsetParent !== null,
  }));
  assert.equal(shown.nav, 'none');
  assert.equal(shown.feed, false);
  assert.equal(shown.body, true);
  await context.close();
});

test('without JavaScript the News Feed and sign-up forms are all there', async () => {
  const { page, context } = await open(article, { javaScriptEnabled: false });
  const items = await page.locator('#newsfeed li').count();
  assert.ok(items >= 5, `${items} feed items`);
  const forms = await page.locator('form:has(input[type=email])').count();
  assert.ok(forms >= 2);
  const email = page.locator('form input[type=email]').first();
  assert.equal(await email.getAttribute('required'), '');
  const label = await page.evaluate(() => {
    const i = document.querySelector('form input[type=email]');
    return document.querySelector(`label[for="${i.id}"]`).textContent;
  });
  assert.match(label, /Email/);
  await context.close();
});

test('the browser refuses to submit a malformed address', async () => {
  const { page, context } = await open(article);
  const form = page.locator('form:has(input[type=email])').first();
  await form.locator('input[type=email]').fill('not-an-address');
  await form.locator('button, input[type=submit]').first().click();
  const valid = await form.locator('input[type=email]').evaluate((i) => i.validity.valid);
  assert.equal(valid, false);
  assert.equal(page.url(), base + article, 'stayed on the page');
  await context.close();
});
