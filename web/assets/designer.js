// The process designer's page script (bundled by esbuild into static/vendor/designer.bundle.js).
// Editor page ([data-designer]): the bpmn-js modeler with the properties panel, our
// spiffworkflow: moddle descriptor, live bpmnlint with our rules, and the toolbar (save a
// draft, validate on the server, deploy with a note, open a .bpmn file).  Diff page
// ([data-designer-diff]): the newer version with added and changed elements coloured.
// No inline script or style: configuration comes from data attributes.
import BpmnModeler from 'bpmn-js/lib/Modeler';
import BpmnViewer from 'bpmn-js/lib/NavigatedViewer';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import lintModule from 'bpmn-js-bpmnlint';
import spiffworkflow from './spiffworkflow.json';
import ticketflowProperties from './properties.js';
import { config as lintConfig, resolver as lintResolver } from './bpmnlint-plugin-ticketflow/index.js';
import { setCatalogue } from './bpmnlint-plugin-ticketflow/catalogue.js';
import { setupDecisionEditor } from './decisions.js';
import { hasLayout, layOut } from './autolayout.js';

const PROBLEM = 'designer-problem';

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute('content') : '';
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken(), Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  let data = null;
  try {
    data = await response.json();
  } catch (_ignored) {
    data = { message: response.statusText };
  }
  return { status: response.status, data };
}

async function getJson(url) {
  const response = await fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function setupEditor(root) {
  const texts = root.dataset;
  const status = root.querySelector('[data-designer-status]');
  const problemList = root.querySelector('[data-designer-problems]');
  const modeler = new BpmnModeler({
    container: root.querySelector('[data-designer-canvas]'),
    propertiesPanel: { parent: root.querySelector('[data-designer-panel]') },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, ticketflowProperties, lintModule],
    moddleExtensions: { spiffworkflow },
    linting: { bpmnlint: { config: lintConfig, resolver: lintResolver }, active: true },
    keyboard: { bindTo: document },
  });
  const state = { marked: [], lintIssues: {}, importError: null, warnings: [] };

  function say(text, kind) {
    status.textContent = text;
    status.dataset.kind = kind || 'info';
  }

  function clearProblems() {
    const canvas = modeler.get('canvas');
    const registry = modeler.get('elementRegistry');
    for (const id of state.marked) if (registry.get(id)) canvas.removeMarker(id, PROBLEM);
    state.marked = [];
    problemList.replaceChildren();
  }

  function showProblems(problems) {
    clearProblems();
    const canvas = modeler.get('canvas');
    const registry = modeler.get('elementRegistry');
    for (const problem of problems) {
      const item = document.createElement('li');
      item.textContent = problem.message;
      item.dataset.elements = (problem.element_ids || []).join(' ');
      for (const id of problem.element_ids || []) {
        if (registry.get(id) && !state.marked.includes(id)) {
          canvas.addMarker(id, PROBLEM);
          state.marked.push(id);
        }
      }
      problemList.append(item);
    }
  }

  async function xml() {
    const { xml: text } = await modeler.saveXML({ format: true });
    return text;
  }

  async function open(text) {
    state.importError = null;
    clearProblems();
    try {
      // A file without a diagram is laid out first, so it can be seen and edited.
      const laidOut = hasLayout(text) ? text : await layOut(text);
      const result = await modeler.importXML(laidOut);
      state.warnings = result.warnings.map((w) => w.message);
      modeler.get('canvas').zoom('fit-viewport');
    } catch (err) {
      state.importError = err.message;
      say(`${texts.textImportError} ${err.message}`, 'error');
      throw err;
    }
  }

  // The form editor: the selected user task's JSON Schema (and UI schema), edited as text,
  // previewed by the server with the ticket page's task template; edits go with every save.
  const edited = JSON.parse(texts.draftForms || '{}');
  const editor = {
    root: root.querySelector('[data-form-editor]'),
    name: root.querySelector('[data-form-name]'),
    hint: root.querySelector('[data-form-hint]'),
    columns: root.querySelector('[data-form-columns]'),
    schema: root.querySelector('[data-form-schema]'),
    ui: root.querySelector('[data-form-ui]'),
    uiName: root.querySelector('[data-ui-name]'),
    error: root.querySelector('[data-form-error]'),
    preview: root.querySelector('[data-form-preview]'),
    element: null,
    form: null,
    uiForm: null,
  };
  state.forms = edited;

  function formProperty(element, name) {
    const ext = element.businessObject.extensionElements;
    for (const value of (ext && ext.values) || []) {
      if (value.$type !== 'spiffworkflow:Properties') continue;
      const prop = (value.properties || []).find((p) => p.name === name);
      if (prop) return prop.value || '';
    }
    return '';
  }

  async function loadForm(name) {
    if (edited[name]) return { schema: edited[name], known: true };
    const response = await fetch(texts.formUrl.replace('FORM_NAME', encodeURIComponent(name)), { credentials: 'same-origin' });
    if (response.ok) return { schema: await response.json(), known: true };
    return { schema: { type: 'object', properties: {} }, known: false };
  }

  async function previewHtml(schema) {
    const response = await fetch(texts.previewUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      body: JSON.stringify({ schema, name: editor.element ? editor.element.businessObject.name || '' : '' }),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({ message: response.statusText }));
      throw new Error(data.message);
    }
    return response.text();
  }

  let previewTimer = null;
  editor.schema.addEventListener('input', () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(async () => {
      let schema;
      try {
        schema = JSON.parse(editor.schema.value);
        if (!schema || typeof schema !== 'object' || Array.isArray(schema)) throw new Error('a JSON object is expected');
      } catch (err) {
        editor.error.textContent = err.message;
        return;
      }
      try {
        editor.preview.innerHTML = await previewHtml(schema);
        editor.error.textContent = '';
        if (/^[\w.-]+\.json$/.test(editor.form)) edited[editor.form] = schema;
        root.dataset.previewed = String(Date.now());
      } catch (err) {
        editor.error.textContent = err.message;
      }
    }, 300);
  });
  editor.ui.addEventListener('input', () => {
    try {
      const ui = JSON.parse(editor.ui.value);
      if (editor.uiForm) edited[editor.uiForm] = ui;
      editor.error.textContent = '';
    } catch (err) {
      editor.error.textContent = err.message;
    }
  });

  async function showFormEditor(element) {
    const isTask = element && (element.type === 'bpmn:UserTask' || element.type === 'bpmn:ManualTask');
    editor.root.hidden = !isTask;
    if (!isTask) {
      editor.element = null;
      return;
    }
    const form = formProperty(element, 'formJsonSchemaFilename');
    const uiForm = formProperty(element, 'formUiSchemaFilename');
    if (editor.element === element && editor.form === form && editor.uiForm === uiForm) return;
    Object.assign(editor, { element, form, uiForm });
    editor.name.textContent = form || '—';
    editor.columns.hidden = !form;
    editor.hint.textContent = form ? '' : texts.textNoForm;
    if (!form) return;
    const loaded = await loadForm(form);
    if (!loaded.known) {
      editor.hint.textContent = texts.textNewForm;
      if (/^[\w.-]+\.json$/.test(form)) edited[form] = loaded.schema;
    }
    editor.schema.value = JSON.stringify(loaded.schema, null, 2);
    editor.uiName.textContent = uiForm;
    editor.ui.disabled = !uiForm;
    editor.ui.value = uiForm ? JSON.stringify((await loadForm(uiForm)).schema, null, 2) : '';
    editor.schema.dispatchEvent(new Event('input'));
  }

  modeler.on('selection.changed', (event) => {
    showFormEditor(event.newSelection.length === 1 ? event.newSelection[0] : null);
  });
  modeler.on('elements.changed', () => {
    const selected = modeler.get('selection').get();
    if (selected.length === 1) showFormEditor(selected[0]);
  });

  const decisions = setupDecisionEditor({ root, modeler, edited, texts });

  modeler.on('linting.completed', (event) => {
    state.lintIssues = event.issues;
  });

  root.querySelector('[data-designer-save]').addEventListener('click', async () => {
    const { status: code, data } = await postJson(texts.draftUrl, { bpmn_xml: await xml(), forms: edited });
    say(code === 200 ? texts.textSaved : `${texts.textFailed} ${data.message}`, code === 200 ? 'ok' : 'error');
  });

  root.querySelector('[data-designer-validate]').addEventListener('click', async () => {
    const { status: code, data } = await postJson(texts.validateUrl, { bpmn_xml: await xml(), forms: edited });
    if (code !== 200) {
      say(`${texts.textFailed} ${data.message}`, 'error');
      return;
    }
    showProblems(data.problems);
    say(data.valid ? texts.textValid : data.problems.length + ' ✗', data.valid ? 'ok' : 'error');
  });

  root.querySelector('[data-designer-deploy]').addEventListener('click', async () => {
    const noteInput = root.querySelector('[data-designer-note]');
    const note = noteInput.value.trim();
    if (!note) {
      say(texts.textNoteRequired, 'error');
      noteInput.focus();
      return;
    }
    const { status: code, data } = await postJson(texts.deployUrl, { bpmn_xml: await xml(), note, forms: edited });
    if (code === 201 || code === 200) {
      clearProblems();
      noteInput.value = '';
      say(code === 201 ? texts.textDeployed : texts.textUnchanged, 'ok');
    } else {
      if (data.problems) showProblems(data.problems);
      say(`${texts.textFailed} ${data.message}`, 'error');
    }
  });

  root.querySelector('[data-designer-file]').addEventListener('change', async (event) => {
    const [file] = event.target.files;
    if (file) await open(await file.text()).catch(() => {});
  });

  // For the browser tests and the console: the modeler and the page's state.
  window.ticketflowDesigner = {
    modeler,
    decisions,
    state,
    open,
    xml,
    // Every lint report, flat: {rule, id, message, category}.
    lint: async () => {
      const results = await modeler.get('linting').lint();
      const flat = [];
      for (const [rule, reports] of Object.entries(results)) {
        for (const report of reports) flat.push({ rule, id: report.id, message: report.message, category: report.category });
      }
      return flat;
    },
  };

  const catalogue = Promise.all([getJson(texts.operatorsUrl), getJson(texts.formsUrl)]).then(([ops, forms]) => {
    setCatalogue(ops, forms);
  });
  window.ticketflowDesigner.ready = (async () => {
    await catalogue.catch(() => {});
    const response = await fetch(texts.diagramUrl, { credentials: 'same-origin' });
    await open(await response.text());
    root.dataset.ready = 'true';
  })();
}

async function setupDiff(root) {
  const viewer = new BpmnViewer({ container: root, moddleExtensions: { spiffworkflow } });
  const response = await fetch(root.dataset.diagramUrl, { credentials: 'same-origin' });
  const text = await response.text();
  await viewer.importXML(hasLayout(text) ? text : await layOut(text));
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  for (const [kind, ids] of [['added', root.dataset.added], ['changed', root.dataset.changed]]) {
    for (const id of (ids || '').split(' ').filter(Boolean)) {
      if (registry.get(id)) canvas.addMarker(id, `diff-${kind}`);
    }
  }
  canvas.zoom('fit-viewport');
  root.dataset.ready = 'true';
}

document.addEventListener('DOMContentLoaded', () => {
  const editor = document.querySelector('[data-designer]');
  if (editor) setupEditor(editor);
  const diff = document.querySelector('[data-designer-diff]');
  if (diff) setupDiff(diff);
});
