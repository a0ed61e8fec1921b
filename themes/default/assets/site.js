/* newsroom default theme: progressive enhancement only. Every page works
   without this file. It marks <html class="js"> and keeps the News Feed
   (#newsfeed) live: an EventSource on its data-stream-url, resuming after
   data-last-seq (the change the page was rendered at); the browser resumes
   with Last-Event-ID after a lost connection. Items arrive as the same
   HTML the page renders; the list is aria-live="polite", so screen readers
   announce new items without interrupting. */
(function () {
    'use strict';
    document.documentElement.classList.add('js');

    var feed = document.getElementById('newsfeed');
    if (!feed || !window.EventSource || !feed.getAttribute('data-stream-url'))
        return;
    var MAX_ITEMS = 30;
    var lastSeq = Number(feed.getAttribute('data-last-seq') || 0);

    function fragment(html) {
        var t = document.createElement('template');
        t.innerHTML = html;
        return t.content.firstElementChild;
    }
    function current(id) {
        return feed.querySelector('li[data-id="' + Number(id) + '"]');
    }
    function handle(kind, e) {
        var seq = Number(e.lastEventId || 0);
        if (seq && seq <= lastSeq)
            return; /* already shown */
        if (seq)
            lastSeq = seq;
        var data;
        try {
            data = JSON.parse(e.data);
        } catch (err) {
            return;
        }
        var old = current(data.id);
        if (kind === 'delete') {
            if (old)
                old.remove();
            return;
        }
        var item = data.html && fragment(data.html);
        if (!item)
            return;
        if (old) {
            old.replaceWith(item);
        } else if (kind === 'post') {
            feed.insertBefore(item, feed.firstElementChild);
            while (feed.children.length > MAX_ITEMS)
                feed.lastElementChild.remove();
            var empty = document.querySelector('.updates-empty');
            if (empty)
                empty.remove();
        }
    }

    var source;
    function connect() {
        source = new EventSource(feed.getAttribute('data-stream-url') +
            (lastSeq ? '?after=' + lastSeq : ''));
        ['post', 'edit', 'delete'].forEach(function (kind) {
            source.addEventListener(kind, function (e) { handle(kind, e); });
        });
        source.addEventListener('reload', function () {
            source.close();
            window.location.reload();
        });
        /* the browser retries dropped streams itself, but gives up on an
           error status (503 when the server is full): try again later */
        source.onerror = function () {
            if (source.readyState === EventSource.CLOSED)
                setTimeout(connect, 10000 + Math.random() * 20000);
        };
    }
    connect();
}());

/* "Edit post": a cached article page never carries the link. When this
   browser belongs to signed-in staff (the nr_staff hint cookie, which
   grants nothing), ask the desk, uncached, whether this person may edit
   the post, and show the link only then. */
(function () {
    'use strict';
    var slot = document.querySelector('[data-edit-slug]');
    if (!slot || !window.fetch || document.cookie.indexOf('nr_staff=1') < 0)
        return;
    fetch('/desk/edit-link?slug=' +
          encodeURIComponent(slot.getAttribute('data-edit-slug')),
          {credentials: 'same-origin', cache: 'no-store'})
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (j) {
            if (!j.edit_url || j.edit_url.indexOf('/desk/') !== 0)
                return;
            var a = document.createElement('a');
            a.className = 'edit-link';
            a.href = j.edit_url;
            a.textContent = 'Edit post';
            slot.appendChild(a);
            slot.hidden = false;
        })
        .catch(function () {});
})();

/* Newsletter sign-up in place: the form still posts without JavaScript;
   with it, the answer ("Successfully subscribed", or what to fix) appears
   in the form's live region and the page stays where it is. */
(function () {
    'use strict';
    if (!window.fetch || !window.URLSearchParams)
        return;
    document.querySelectorAll('form.newsletter-form').forEach(function (form) {
        var out = form.querySelector('.form-message');
        if (!out)
            return;
        form.addEventListener('submit', function (e) {
            e.preventDefault();
            var button = form.querySelector('button[type="submit"]');
            if (button)
                button.disabled = true;
            fetch(form.action, {
                method: 'POST',
                body: new URLSearchParams(new FormData(form)),
                headers: {'Accept': 'application/json'},
                credentials: 'same-origin'
            }).then(function (r) {
                return r.json();
            }).then(function (j) {
                out.textContent = '';
                out.className = 'form-message ' + (j.ok ? 'ok' : 'error');
                if (j.ok) {
                    var t = document.createElement('strong');
                    t.textContent = j.title;
                    out.appendChild(t);
                    out.appendChild(document.createTextNode(j.message));
                    form.reset();
                } else {
                    out.textContent = j.error || 'Something went wrong.';
                    var input = form.querySelector('input[type="email"]');
                    if (input)
                        input.focus();
                }
            }).catch(function () {
                form.submit(); /* fall back to the plain post */
            }).then(function () {
                if (button)
                    button.disabled = false;
            });
        });
    });
})();
