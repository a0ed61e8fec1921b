#!/usr/bin/python3
"""search_gen.py - fills a fresh site's SQLite database with N published
articles for bench/search.sh, then builds the search index, and runs the
query mix for it.

  search_gen.py gen DB N        write authors, tags, N posts (~600 words
                                each, Zipf-distributed over a fixed word
                                list) with the search triggers dropped,
                                then rebuild post_search from scratch (the
                                statement of schema/007) and restore the
                                triggers; prints "index_s SECONDS"
  search_gen.py queries N       prints N queries, one a line: one-word,
                                multi-word and "phrase" queries
  search_gen.py http PORT FILE  runs FILE's queries through /search?q= of
                                a server on 127.0.0.1:PORT, one at a time;
                                prints "http MS..." latencies
  search_gen.py like DB FILE    the same queries as LIKE '%word%' scans of
                                posts.plaintext (no index), directly in
                                SQLite; prints "like MS..." latencies

Everything is deterministic (seeded), so runs compare.
"""
import http.client
import random
import re
import sqlite3
import sys
import time
import urllib.parse

SEED = 7
COMMON = ("the of and to in a is that for on was with he it as at by his "
          "from be this have are not but had they were which or an she "
          "been one their has its who would after more there new said "
          "also over two into year first government minister people city "
          "police market report council election court health school "
          "energy sanctions budget water workers prices housing strike "
          "hospital university climate border trade union vote officials "
          "company bank oil farmers river storm harbour railway bridge "
          "museum festival theatre football season coach players").split()
SYLL = ("ka lo mi ra ten vor shi pel dan qu ist ber ol an ex mar tis "
        "gon ru ve li sa dor fen ham jo kel nu op pri str").split()


def vocabulary(rng):
    """COMMON words first, then 20,000 made-up words, by falling use."""
    made = set()
    while len(made) < 20000:
        made.add("".join(rng.choice(SYLL) for _ in range(rng.randint(2, 4))))
    return COMMON + sorted(made)


def zipf_weights(n):
    return [1.0 / (i + 1) for i in range(n)]


def gen(db, n):
    rng = random.Random(SEED)
    vocab = vocabulary(rng)
    weights = zipf_weights(len(vocab))
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    triggers = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND name LIKE 'post_search%'").fetchall()
    for name, _ in triggers:
        con.execute('DROP TRIGGER "%s"' % name)
    authors = [(i + 1, "author-%d" % i, "%s %s" % (rng.choice(vocab[200:]).title(),
                                                  rng.choice(vocab[200:]).title()))
               for i in range(200)]
    con.executemany("INSERT INTO authors (id, slug, name) VALUES (?, ?, ?)",
                    authors)
    tags = [(i + 1, "tag-%d" % i, rng.choice(vocab[100:]).title(),
             "section" if i < 8 else "tag") for i in range(300)]
    con.executemany("INSERT INTO tags (id, slug, name, kind) "
                    "VALUES (?, ?, ?, ?)", tags)
    t0 = 1600000000
    batch, links_a, links_t = [], [], []
    for i in range(1, n + 1):
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(450, 750))
        title = " ".join(rng.choices(vocab, cum_weights=cum, k=8)).capitalize()
        stand = " ".join(rng.choices(vocab, cum_weights=cum, k=20)).capitalize()
        paras = [" ".join(words[j:j + 60]) for j in range(0, len(words), 60)]
        text = ".\n\n".join(paras) + "."
        html = "".join("<p>%s.</p>" % p for p in paras)
        batch.append((i, "post-%d" % i, title, stand, text[:200], t0 + i * 600,
                      len(words), text, html, text))
        links_a.append((i, rng.randint(1, 200), 0))
        links_t.append((i, rng.randint(1, 8), 0))
        links_t.append((i, rng.randint(9, 300), 1))
        if len(batch) == 2000 or i == n:
            con.executemany(
                "INSERT INTO posts (id, slug, title, standfirst, excerpt, "
                "status, published_at, created_at, updated_at, words, markdown, "
                "html, plaintext) VALUES (?, ?, ?, ?, ?, 'published', ?, ?6, ?6, "
                "?7, ?8, ?9, ?10)", batch)
            con.executemany("INSERT OR IGNORE INTO post_authors VALUES (?, ?, ?)",
                            links_a)
            con.executemany("INSERT OR IGNORE INTO post_tags VALUES (?, ?, ?)",
                            links_t)
            batch, links_a, links_t = [], [], []
    con.commit()
    # the index, from scratch: migration 007's statement
    start = time.monotonic()
    con.execute("DELETE FROM post_search")
    con.execute(
        "INSERT INTO post_search (rowid, title, standfirst, body, people, tags) "
        "SELECT p.id, p.title, coalesce(p.standfirst, ''), p.plaintext, "
        "coalesce((SELECT group_concat(a.name, ' ') FROM post_authors pa "
        "JOIN authors a ON a.id = pa.author_id WHERE pa.post_id = p.id), ''), "
        "coalesce((SELECT group_concat(t.name, ' ') FROM post_tags pt "
        "JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '') "
        "FROM posts p WHERE p.status = 'published'")
    con.execute("INSERT INTO post_search (post_search) VALUES ('optimize')")
    con.commit()
    elapsed = time.monotonic() - start
    for _, s in triggers:
        con.execute(s)
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print("index_s %.2f" % elapsed)


def queries(n):
    rng = random.Random(SEED + 1)
    vocab = vocabulary(random.Random(SEED))
    pool = vocab[40:3000]  # skip the stop-word-like head
    out = []
    i = 0
    while len(out) < n:  # each query once: no page cache hit
        kind = i % 3
        i += 1
        if kind == 0:
            q = rng.choice(pool)
        elif kind == 1:
            q = " ".join(rng.sample(pool[:400], rng.randint(2, 3)))
        else:
            q = '"%s %s"' % (rng.choice(pool[:60]), rng.choice(pool[:60]))
        if q not in out:
            out.append(q)
    print("\n".join(out))


def read_queries(path):
    return [l.rstrip("\n") for l in open(path) if l.strip()]


def run_http(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
    lat = []
    for q in read_queries(path):
        url = "/search?q=" + urllib.parse.quote(q)
        start = time.monotonic()
        conn.request("GET", url)
        r = conn.getresponse()
        r.read()
        lat.append((time.monotonic() - start) * 1000)
        if r.status != 200:
            sys.exit("search.sh: /search answered %d for %r" % (r.status, q))
    print("http " + " ".join("%.3f" % x for x in lat))


def run_like(db, path):
    con = sqlite3.connect(db)
    lat = []
    for q in read_queries(path):
        if q.startswith('"'):
            pats = [q.strip('"')]
        else:
            pats = q.split()
        where = " AND ".join("plaintext LIKE ?" for _ in pats)
        start = time.monotonic()
        con.execute("SELECT count(*) FROM posts WHERE status = 'published' "
                    "AND " + where, ["%" + p + "%" for p in pats]).fetchone()
        lat.append((time.monotonic() - start) * 1000)
    print("like " + " ".join("%.3f" % x for x in lat))


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "gen":
        gen(sys.argv[2], int(sys.argv[3]))
    elif cmd == "queries":
        queries(int(sys.argv[2]))
    elif cmd == "http":
        run_http(sys.argv[2], sys.argv[3])
    elif cmd == "like":
        run_like(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
