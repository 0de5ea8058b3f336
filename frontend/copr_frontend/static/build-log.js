// The build page's live log: fetch the log from the last offset every two seconds while
// the task runs; reload the page when the build's state changes so every badge is right
// (the reloaded page follows the task that runs then).
(function () {
  "use strict";
  var pre = document.getElementById("live-log");
  if (!pre) { return; }
  var status = document.getElementById("log-status");
  var offset = 0;
  var pageState = pre.dataset.buildState;
  function follow() {
    fetch(pre.dataset.url + "?offset=" + offset, {credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        var atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 20;
        if (data.text) {
          pre.appendChild(document.createTextNode(data.text));
          if (atBottom) { pre.scrollTop = pre.scrollHeight; }
        }
        offset = data.offset;
        if (data.build_state !== pageState) {
          window.location.reload();
          return;
        }
        if (data.finished) {
          // Say so at once, also while the rest of an ended task's log is still loading.
          status.textContent = data.available ? pre.dataset.ended : pre.dataset.missing;
          if (data.text) { window.setTimeout(follow, 500); return; }
          // This task ended; other tasks of the build may still run: keep watching the
          // build's state (a change reloads the page, which follows the running task).
          if (pre.dataset.finished !== "true") { window.setTimeout(follow, 3000); }
          return;
        }
        status.textContent = data.available ? pre.dataset.following : pre.dataset.missing;
        window.setTimeout(follow, data.text ? 500 : 2000);
      })
      .catch(function () { window.setTimeout(follow, 5000); });
  }
  follow();
})();
