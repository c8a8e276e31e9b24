// Lays out a BPMN file that has no diagram (many generated or hand-written files have none),
// so the ticket page and the designer can still draw it.  bpmn-auto-layout (bpmn.io) places
// the first process's elements left to right; the ids stay, so the markers still apply.
import { layoutProcess } from "bpmn-auto-layout";

const BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL";

// bpmn-auto-layout walks a node's <incoming>/<outgoing> children, which the standard makes
// optional and many files leave out (the flows' sourceRef/targetRef say the same): add the
// missing ones so every flow is drawn.
function withFlowReferences(xml) {
  const doc = new DOMParser().parseFromString(xml, "application/xml");
  if (doc.getElementsByTagName("parsererror").length) {
    return xml;
  }
  const byId = new Map();
  for (const element of doc.getElementsByTagNameNS(BPMN, "*")) {
    const id = element.getAttribute("id");
    if (id) {
      byId.set(id, element);
    }
  }
  const has = (node, kind, id) =>
    Array.from(node.children).some((child) => child.localName === kind && child.textContent.trim() === id);
  const add = (node, kind, id) => {
    if (!node || has(node, kind, id)) {
      return;
    }
    const reference = doc.createElementNS(BPMN, node.prefix ? `${node.prefix}:${kind}` : kind);
    reference.textContent = id;
    // After documentation and extensionElements, before the rest (the schema's order).
    const after = Array.from(node.children).filter(
      (child) => child.localName === "documentation" || child.localName === "extensionElements"
    );
    const anchor = after.length ? after[after.length - 1].nextSibling : node.firstChild;
    node.insertBefore(reference, anchor);
  };
  for (const flow of doc.getElementsByTagNameNS(BPMN, "sequenceFlow")) {
    const id = flow.getAttribute("id");
    add(byId.get(flow.getAttribute("sourceRef")), "outgoing", id);
    add(byId.get(flow.getAttribute("targetRef")), "incoming", id);
  }
  return new XMLSerializer().serializeToString(doc);
}

/** Whether the file carries any diagram (bpmndi:BPMNDiagram). */
export function hasLayout(xml) {
  return /<([A-Za-z_][\w.-]*:)?BPMNDiagram[\s>]/.test(xml);
}

/** The file with a generated diagram (a promise of the XML). */
export function layOut(xml) {
  return layoutProcess(withFlowReferences(xml));
}

window.TicketflowAutoLayout = layOut;
