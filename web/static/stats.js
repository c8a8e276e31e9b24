// The statistics page: draws each figure's table as a chart (Chart.js) and the process
// steps as a heat map on the diagram (bpmn-js overlays).  The numbers come from the same
// JSON the page's tables were rendered from, so the chart and the table never disagree.
(function () {
  "use strict";

  var KIND = {
    created_closed_per_day: "line",
    open_by_queue: "bar",
    open_by_state: "doughnut",
    open_by_priority: "bar",
    backlog_age: "bar",
  };
  var COLOURS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0969da", "#57606a"];

  function chart(canvas, table) {
    if (!window.Chart || !table || !table.rows.length) return;
    var kind = KIND[table.name] || "bar";
    var labels = table.rows.map(function (row) { return String(row[0]); });
    var datasets = table.columns.slice(1).map(function (column, index) {
      var header = canvas.closest(".stats-card").querySelectorAll("thead th")[index + 1];
      return {
        label: header ? header.textContent : column,
        data: table.rows.map(function (row) { return row[index + 1]; }),
        backgroundColor: kind === "doughnut" ? COLOURS : COLOURS[index % COLOURS.length],
        borderColor: COLOURS[index % COLOURS.length],
        tension: 0.2,
      };
    });
    new window.Chart(canvas, {
      type: kind,
      data: { labels: labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false },
    });
    canvas.setAttribute("data-drawn", "true");
  }

  function heatmap(container, steps, processId) {
    if (!window.BpmnJS) return;
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute("data-diagram"), { credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        var overlays = viewer.get("overlays");
        var registry = viewer.get("elementRegistry");
        var rows = steps.rows.filter(function (row) { return row[0] === processId; });
        var medians = rows.map(function (row) { return row[5] || 0; });
        var top = Math.max.apply(null, medians.concat([1]));
        rows.forEach(function (row) {
          if (!registry.get(row[1])) return;
          var label = document.createElement("span");
          var level = Math.min(3, Math.floor(((row[5] || 0) / top) * 3.999));
          label.className = "stats-heat stats-heat--" + level;
          label.setAttribute("data-step", row[1]);
          label.textContent = (row[5] === null ? "–" : row[5] + " min") + " · " + row[3];
          label.title = row[2];
          overlays.add(row[1], { position: { bottom: -4, right: 4 }, html: label });
        });
        container.setAttribute("data-drawn", "true");
      })
      .catch(function () {
        // A model without diagram layout (or a broken one): say so instead of an empty box.
        container.setAttribute("data-error", "true");
        container.textContent = container.getAttribute("data-no-diagram") || "";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-stats]");
    if (!root) return;
    fetch(root.getAttribute("data-source"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (tables) {
        document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
          chart(canvas, tables[canvas.getAttribute("data-chart")]);
        });
        var map = document.querySelector("[data-heatmap]");
        var process = document.getElementById("stats-process");
        if (map && process && process.value) heatmap(map, tables.process_steps, process.value);
      });
  });
})();
