/* Delivery pages: htmx swaps form errors (422) like any answer, and chat views stay
   scrolled to the newest text unless the reader scrolled up to older ones. */
(function () {
  "use strict";

  document.addEventListener("htmx:beforeSwap", function (event) {
    // A form answered with its errors (422) is a page to show, not a failure to hide.
    if (event.detail.xhr && event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  var pinned = {};
  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 40; }
  function scrollAll(root) {
    (root || document).querySelectorAll("[data-scroll-bottom]").forEach(function (el) {
      var wasPinned = pinned[el.id];
      if (wasPinned === undefined || wasPinned.bottom) el.scrollTop = el.scrollHeight;
      else el.scrollTop = wasPinned.top;
    });
  }
  document.addEventListener("htmx:beforeSwap", function () {
    document.querySelectorAll("[data-scroll-bottom]").forEach(function (el) {
      pinned[el.id] = { bottom: atBottom(el), top: el.scrollTop };
    });
  });
  document.addEventListener("htmx:afterSettle", function () { scrollAll(document); pinned = {}; });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { scrollAll(document); });
  else scrollAll(document);
})();
