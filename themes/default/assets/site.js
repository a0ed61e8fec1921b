/* newsroom default theme: progressive enhancement only. Every page works
   without this file; it marks <html class="js"> so CSS can tell. Later the
   News Feed (#newsfeed, data-stream-url) is updated live from here. */
(function () {
    'use strict';
    document.documentElement.classList.add('js');
}());
