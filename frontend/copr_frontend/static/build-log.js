// The build page's live log: fetch the log from the last offset every two seconds while
// the task runs; reload the page when the build's state changes so every badge is right
// (the reloaded page follows the task that runs then). The messages the page came with
// ("Build 2 was resubmitted as 3") are shown again after such a reload: a fast build
// changes state within a second, and the message would be gone before it was read.
(function () {
  "use strict";
  var KEPT = "copr-build-page-messages";
  function messages() {
    return Array.prototype.map.call(document.querySelectorAll("#content > .alert"),
      function (alert) { return {className: alert.className, text: alert.textContent}; });
  }
  function showKeptMessages() {
    var kept = null;
    try {
      kept = JSON.parse(window.sessionStorage.getItem(KEPT) || "null");
      window.sessionStorage.removeItem(KEPT);
    } catch (error) { return; }
    if (!kept || kept.path !== window.location.pathname) { return; }
    var main = document.getElementById("content");
    var shown = messages().map(function (message) { return message.text; });
    kept.messages.slice().reverse().forEach(function (message) {
      if (shown.indexOf(message.text) !== -1) { return; }
      var alert = document.createElement("div");
      alert.className = message.className;
      alert.setAttribute("role", "status");
      alert.textContent = message.text;
      main.insertBefore(alert, main.firstChild);
    });
  }
  function reloadKeepingMessages() {
    var current = messages();
    if (current.length) {
      try {
        window.sessionStorage.setItem(KEPT, JSON.stringify(
          {path: window.location.pathname, messages: current}));
      } catch (error) { /* no storage: the messages go with the reload */ }
    }
    window.location.reload();
  }
  showKeptMessages();
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
          reloadKeepingMessages();
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
