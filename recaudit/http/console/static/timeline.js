// The call page's timeline: the exact times and actors of the span or mark under the
// pointer or with the focus, read out below the picture.
"use strict";

(function () {
  const picture = document.getElementById("timeline");
  const detail = document.getElementById("timeline-detail");
  if (!picture || !detail) return;
  function show(event) {
    const item = event.target.closest("[data-detail]");
    if (item) detail.textContent = item.dataset.detail;
  }
  picture.addEventListener("mouseover", show);
  picture.addEventListener("focusin", show);
})();
