/*
 * The ticket page's behaviour (loaded by tickets/view.html only).
 *
 * - The action toolbar: htmx swaps one action's form into the single slot; this marks the
 *   button of the open form and moves the focus into it.  Without JavaScript the buttons are
 *   links to the page with that form open.
 * - The instance picker submits when another instance is chosen.
 * - The process diagram: bpmn-js's NavigatedViewer (zoom with Ctrl + wheel, pan by dragging)
 *   draws the instance's BPMN, with buttons to zoom in and out, fit the diagram to the width
 *   and show it full screen; it opens on the current step at a readable size.  Elements in data-current get the class "current", those in
 *   data-completed "completed" (and the sequence flows between them "completed"), active
 *   call activities (data-calls) "current-call".  A file with several diagrams gets a picker;
 *   the diagram of the instance's process is shown first.
 * No inline script or style anywhere: the Content-Security-Policy forbids both.
 */
(function () {
  "use strict";

  var ZOOM_STEP = 1.25;
  var READABLE_ZOOM = 0.75;

  function words(element, name) {
    return (element.getAttribute(name) || "").split(/\s+/).filter(Boolean);
  }

  // --- the action toolbar --------------------------------------------------------------

  function markOpenAction(name) {
    document.querySelectorAll(".action-toolbar__button").forEach(function (button) {
      var open = button.getAttribute("data-action") === name;
      button.classList.toggle("is-open", open);
      if (open) {
        button.setAttribute("aria-current", "true");
      } else {
        button.removeAttribute("aria-current");
      }
    });
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var slot = event.detail && event.detail.target;
    if (!slot || slot.id !== "action-slot") {
      return;
    }
    var section = slot.querySelector("section.action");
    markOpenAction(section ? section.id : "");
    var first = slot.querySelector("textarea, select, input:not([type=hidden])");
    if (first) {
      first.focus();
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.submit();
    }
  });

  // --- the process diagram -------------------------------------------------------------

  function pickInitialDiagram(diagrams, processId) {
    for (var i = 0; i < diagrams.length; i++) {
      var element = diagrams[i].plane && diagrams[i].plane.bpmnElement;
      if (!element) {
        continue;
      }
      if (element.id === processId) {
        return diagrams[i];
      }
      var participants = element.participants || [];
      for (var j = 0; j < participants.length; j++) {
        if (participants[j].processRef && participants[j].processRef.id === processId) {
          return diagrams[i];
        }
      }
    }
    return diagrams[0];
  }

  function diagramLabel(diagram, index) {
    var element = diagram.plane && diagram.plane.bpmnElement;
    return diagram.name || (element && (element.name || element.id)) || "#" + (index + 1);
  }

  function markElements(viewer, container) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    var current = words(container, "data-current");
    var completed = words(container, "data-completed");
    var calls = words(container, "data-calls");
    function mark(ids, marker) {
      ids.forEach(function (id) {
        if (registry.get(id)) {
          canvas.addMarker(id, marker);
        }
      });
    }
    mark(current, "current");
    mark(completed, "completed");
    mark(calls, "current-call");
    // A flow has been taken when it leads from a completed element to one that ran or waits.
    registry.filter(function (element) {
      return element.waypoints && element.source && element.target;
    }).forEach(function (flow) {
      var from = flow.source.id;
      var to = flow.target.id;
      if (completed.indexOf(from) >= 0 && (completed.indexOf(to) >= 0 || current.indexOf(to) >= 0)) {
        canvas.addMarker(flow.id, "completed");
      }
    });
  }

  function showDiagram() {
    var container = document.getElementById("process-diagram");
    if (!container || !window.BpmnJS || !window.fetch) {
      return;
    }
    var section = container.closest(".process") || document;
    var tools = section.querySelector(".process-diagram__tools");
    var picker = section.querySelector(".process-diagram__picker");
    var viewer = new window.BpmnJS({ container: container });
    var definitions = null;

    function fit() {
      viewer.get("canvas").zoom("fit-viewport", "auto");
    }

    // A wide diagram fitted into the side column is too small to read: show the current
    // step at a readable size instead ("Fit to width" and full screen give the overview).
    function focusCurrent() {
      var canvas = viewer.get("canvas");
      var registry = viewer.get("elementRegistry");
      fit();
      var target = words(container, "data-current")
        .concat(words(container, "data-calls"))
        .map(function (id) { return registry.get(id); })
        .filter(Boolean)[0];
      if (target && canvas.zoom() < READABLE_ZOOM) {
        canvas.zoom(READABLE_ZOOM);
        canvas.scrollToElement(target);
      }
    }

    function open(diagram) {
      return viewer.open(diagram).then(function () {
        focusCurrent();
        markElements(viewer, container);
        container.classList.add("process-diagram--ready");
      });
    }

    fetch(container.getAttribute("data-bpmn-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/xml" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        // A file without a diagram is laid out in the browser first (autolayout.bundle.js).
        if (container.getAttribute("data-layout") === "auto" && window.TicketflowAutoLayout) {
          return window.TicketflowAutoLayout(xml).then(function (laidOut) {
            return viewer.importXML(laidOut);
          });
        }
        return viewer.importXML(xml);
      })
      .then(function () {
        definitions = viewer.getDefinitions();
        var diagrams = (definitions && definitions.diagrams) || [];
        var first = pickInitialDiagram(diagrams, container.getAttribute("data-process-id"));
        if (picker && diagrams.length > 1) {
          diagrams.forEach(function (diagram, index) {
            var option = document.createElement("option");
            option.value = String(index);
            option.textContent = diagramLabel(diagram, index);
            option.selected = diagram === first;
            picker.appendChild(option);
          });
          picker.hidden = false;
          picker.addEventListener("change", function () {
            open(diagrams[Number(picker.value)]);
          });
        }
        if (tools) {
          tools.hidden = false;
        }
        return first ? open(first) : undefined;
      })
      .catch(function () {
        container.classList.add("process-diagram--failed");
      });

    if (tools) {
      tools.addEventListener("click", function (event) {
        var button = event.target.closest("[data-diagram-zoom]");
        if (!button) {
          return;
        }
        var canvas = viewer.get("canvas");
        var how = button.getAttribute("data-diagram-zoom");
        if (how === "in") {
          canvas.zoom(canvas.zoom() * ZOOM_STEP);
        } else if (how === "out") {
          canvas.zoom(canvas.zoom() / ZOOM_STEP);
        } else if (how === "fit") {
          fit();
        } else if (how === "full") {
          var wrapper = container.closest(".process") || container;
          if (document.fullscreenElement) {
            document.exitFullscreen();
          } else if (wrapper.requestFullscreen) {
            wrapper.requestFullscreen().then(function () {
              canvas.resized();
              fit();
            });
          }
        }
      });
      document.addEventListener("fullscreenchange", function () {
        var canvas = viewer.get("canvas");
        canvas.resized();
        fit();
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showDiagram);
  } else {
    showDiagram();
  }
})();
