// The official Ghost client, @tryghost/content-api from npm, pointed at a
// running newsroom: what a Ghost front-end does with our Content API must
// work unchanged (browse with include/filter/limit/page, read by slug and
// id, errors thrown as the client surfaces Ghost's). Run by tests/run.py
// with `node --test`; `npm install` in tests/api first.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import GhostContentAPI from '@tryghost/content-api';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.resolve(ROOT, process.env.NEWSROOM_BIN ?? path.join('build', 'newsroom'));

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

let env;

before(async () => {
  env = { dir: mkdtempSync(path.join(tmpdir(), 'newsroom-api-')) };
  env.site = path.join(env.dir, 'site');
  execFileSync(BIN, ['init', env.site, '--demo'], { stdio: 'ignore' });
  appendFileSync(path.join(env.site, 'site.conf'), '\nnarration_engine = off\n');
  env.key = execFileSync(BIN, ['key', 'add', env.site, 'node client'], { encoding: 'utf8' }).trim();
  env.port = await freePort();
  env.url = `http://127.0.0.1:${env.port}`;
  env.server = spawn(BIN, ['serve', env.site, '--listen', `127.0.0.1:${env.port}`, '--no-jobs'],
    { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(env.url + '/')).ok) break;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  env.api = new GhostContentAPI({ url: env.url, key: env.key, version: 'v5.0' });
});

after(() => {
  env?.server?.kill('SIGTERM');
  if (env?.dir) rmSync(env.dir, { recursive: true, force: true });
});

test('browse posts with include, limit and page', async () => {
  const first = await env.api.posts.browse({ limit: 5, include: 'tags,authors' });
  assert.equal(first.length, 5);
  assert.deepEqual(first.meta.pagination, { page: 1, limit: 5, pages: 3, total: 12, next: 2, prev: null });
  assert.ok(first[0].authors.length >= 1 && first[0].primary_author.slug);
  assert.ok(Array.isArray(first[0].tags));
  assert.match(first[0].html, /^</);
  const second = await env.api.posts.browse({ limit: 5, page: 2 });
  assert.equal(second.meta.pagination.page, 2);
  assert.equal(second.meta.pagination.prev, 1);
  const seen = new Set(first.map((p) => p.id));
  assert.ok(second.every((p) => !seen.has(p.id)), 'pages do not overlap');
});

test('browse with a filter, fields and order', async () => {
  const all = await env.api.posts.browse({ limit: 'all', include: 'tags' });
  const tag = all[0].primary_tag.slug;
  const want = all.filter((p) => p.tags.some((t) => t.slug === tag)).map((p) => p.slug);
  const got = await env.api.posts.browse({ filter: `tag:${tag}`, limit: 'all', fields: 'slug,title' });
  assert.deepEqual(got.map((p) => p.slug), want);
  assert.deepEqual(Object.keys(got[0]).sort(), ['slug', 'title']);
  const featured = await env.api.posts.browse({ filter: 'featured:true+tag:-nothing', limit: 'all' });
  assert.ok(featured.length >= 1 && featured.every((p) => p.featured === true));
  const oldest = await env.api.posts.browse({ order: 'published_at asc', limit: 1 });
  assert.equal(oldest[0].id, all[all.length - 1].id);
});

test('read by slug and by id', async () => {
  const [p] = await env.api.posts.browse({ limit: 1 });
  const bySlug = await env.api.posts.read({ slug: p.slug });
  assert.equal(bySlug.id, p.id);
  assert.equal(bySlug.title, p.title);
  const byId = await env.api.posts.read({ id: p.id }, { formats: 'plaintext' });
  assert.equal(byId.slug, p.slug);
  assert.equal(typeof byId.plaintext, 'string');
  const [first] = await env.api.authors.browse({ limit: 1 });
  const author = await env.api.authors.read({ slug: first.slug });
  assert.equal(author.id, first.id);
  const tags = await env.api.tags.browse({ include: 'count.posts', limit: 'all' });
  assert.ok(tags.length > 0 && typeof tags[0].count.posts === 'number');
});

test('settings, pages, tiers and newsletters', async () => {
  const settings = await env.api.settings.browse();
  assert.equal(settings.title, 'The Halvany Courier');
  assert.ok(Array.isArray(settings.navigation));
  const pages = await env.api.pages.browse();
  assert.equal(pages.length, 0);
  assert.equal(pages.meta.pagination.total, 0);
  const newsletters = await env.api.newsletters.browse();
  assert.ok(newsletters.length >= 1);
  const tiers = await env.api.tiers.browse();
  assert.equal(tiers[0].type, 'free');
});

test('errors surface as the client throws them', async () => {
  await assert.rejects(env.api.posts.read({ slug: 'no-such-post' }),
    (e) => e.name === 'NotFoundError' && e.response.status === 404);
  const wrong = new GhostContentAPI({ url: env.url, key: '0123456789abcdef0123456789', version: 'v5.0' });
  await assert.rejects(wrong.posts.browse(),
    (e) => e.name === 'UnauthorizedError' && e.message === 'Unknown Content API Key' &&
      e.response.status === 401);
  await assert.rejects(env.api.posts.browse({ filter: "title:'open" }),
    (e) => e.name === 'BadRequestError' && e.response.status === 400 && /unterminated/.test(e.context));
});
