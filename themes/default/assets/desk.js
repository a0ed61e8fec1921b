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
