// The decision table editor of the designer page: when a business rule task is selected, the
// DMN file defining its decision (spiffworkflow:calledDecisionId) opens in dmn-js's decision
// table editor below the modeler; every edit replaces that file among the draft's files
// (`edited`, sent with save, validate and deploy), so the table deploys with the diagram.
import DmnModeler from 'dmn-js/lib/Modeler';

const SPIFF_DECISION = 'spiffworkflow:CalledDecisionId';

function decisionIdOf(element) {
  if (!element || element.type !== 'bpmn:BusinessRuleTask') return '';
  const ext = element.businessObject.extensionElements;
  const value = ((ext && ext.values) || []).find((v) => v.$type === SPIFF_DECISION);
  return value && value.value ? value.value.trim() : '';
}

export function setupDecisionEditor({ root, modeler, edited, texts }) {
  const panel = root.querySelector('[data-dmn-editor]');
  if (!panel) return null;
  const title = panel.querySelector('[data-dmn-name]');
  const hint = panel.querySelector('[data-dmn-hint]');
  const dmn = new DmnModeler({ container: panel.querySelector('[data-dmn-canvas]') });
  const shown = { decisionId: '', name: '' };

  async function store() {
    if (!shown.name) return;
    const { xml } = await dmn.saveXML({ format: true });
    edited[shown.name] = xml;
    panel.dataset.edited = String(Date.now());
  }

  async function show(element) {
    const decisionId = decisionIdOf(element);
    panel.hidden = !decisionId;
    if (!decisionId || decisionId === shown.decisionId) return;
    Object.assign(shown, { decisionId, name: '' });
    panel.dataset.ready = 'false';
    const url = texts.decisionUrl.replace('DECISION_ID', encodeURIComponent(decisionId));
    const response = await fetch(url, { credentials: 'same-origin' });
    if (!response.ok) {
      title.textContent = decisionId;
      hint.textContent = texts.textNoDecision;
      return;
    }
    const { name, xml } = await response.json();
    // A draft's own edit of the file wins over the stored one.
    await dmn.importXML(typeof edited[name] === 'string' ? edited[name] : xml);
    const view = dmn.getViews().find((v) => v.type === 'decisionTable' && v.element.id === decisionId);
    if (view) await dmn.open(view);
    shown.name = name;
    title.textContent = name;
    hint.textContent = '';
    panel.dataset.ready = 'true';
  }

  // Each view (table, diagram) has its own command stack: listen on the active one.
  dmn.on('views.changed', () => {
    const viewer = dmn.getActiveViewer();
    if (viewer && !viewer.__ticketflowListening) {
      viewer.__ticketflowListening = true;
      viewer.on('commandStack.changed', () => {
        store();
      });
    }
  });
  modeler.on('selection.changed', (event) => {
    show(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });
  return dmn;
}
