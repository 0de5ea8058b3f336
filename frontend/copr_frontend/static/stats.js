// Charts of the statistics page (Chart.js from the npm install); the numbers come from
// the canvas' data attributes, so the page needs no other request.
(function () {
  "use strict";
  function bar(id, horizontal) {
    var canvas = document.getElementById(id);
    if (!canvas || !window.Chart) { return; }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: JSON.parse(canvas.dataset.labels),
        datasets: [{label: canvas.dataset.series, data: JSON.parse(canvas.dataset.values), backgroundColor: "#0d6efd"}]
      },
      options: {indexAxis: horizontal ? "y" : "x", animation: false, plugins: {legend: {display: false}}}
    });
  }
  bar("per-day", false);
  bar("per-chroot", true);
})();
