/* newsroom desk: enhancement only; every desk page works without it.
   - Live preview: the editor form is sent (without the image file) to
     /desk/preview as the journalist types; the answer is the article page
     exactly as readers will get it, shown in a sandboxed frame (no
     scripts run in it).
   - Forms with data-confirm ask before they are sent (delete buttons).
   - The slug field shows the address the headline would get. */
(function () {
    'use strict';
    document.documentElement.classList.add('js');

    document.querySelectorAll('form[data-confirm]').forEach(function (f) {
        f.addEventListener('submit', function (e) {
            if (!window.confirm(f.getAttribute('data-confirm')))
                e.preventDefault();
        });
    });

    var form = document.getElementById('editor');
    var frame = document.getElementById('live-preview');
    if (!form || !frame || !window.fetch)
        return;

    var title = form.querySelector('#title');
    var slug = form.querySelector('#slug');
    function slugify(s) {
        return s.toLowerCase().normalize('NFKD').replace(/[\u0300-\u036f]/g, '')
            .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80);
    }
    function hint() {
        if (slug && title)
            slug.placeholder = slugify(title.value);
    }

    var timer = 0, seq = 0;
    function refresh() {
        var data = new FormData(form);
        data.delete('image');
        data.delete('action');
        var mine = ++seq;
        fetch('/desk/preview', {method: 'POST', body: data,
                                credentials: 'same-origin'})
            .then(function (r) { return r.text(); })
            .then(function (html) {
                if (mine === seq)
                    frame.srcdoc = html;
            })
            .catch(function () {});
    }
    function later() {
        hint();
        clearTimeout(timer);
        timer = setTimeout(refresh, 400);
    }
    form.addEventListener('input', later);
    form.addEventListener('change', later);
    document.documentElement.classList.add('has-preview');
    hint();
    refresh();
})();

/* Send progress (/desk/sends/ID/): polls the progress JSON every second
   and updates the bar and the counts until nothing is pending. Without
   JavaScript the page has a Refresh link. */
(function () {
    'use strict';
    var box = document.getElementById('send-progress');
    if (!box || box.getAttribute('data-done') || !window.fetch)
        return;
    var url = box.getAttribute('data-progress-url');
    var bar = document.getElementById('send-bar');
    function show(p) {
        ['total', 'sent', 'failed', 'pending'].forEach(function (k) {
            var el = box.querySelector('[data-count="' + k + '"]');
            if (el && typeof p[k] === 'number')
                el.textContent = String(p[k]);
        });
        if (bar) {
            bar.max = p.total > 0 ? p.total : 1;
            bar.value = p.total > 0 ? p.sent + p.failed : 1;
        }
    }
    function poll() {
        fetch(url, {credentials: 'same-origin', cache: 'no-store'})
            .then(function (r) {
                if (!r.ok)
                    throw new Error('progress ' + r.status);
                return r.json();
            })
            .then(function (p) {
                show(p);
                if (p.pending > 0)
                    setTimeout(poll, 1000);
                else
                    box.setAttribute('data-done', '1');
            })
            .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
})();
