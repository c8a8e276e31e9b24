// A user task needs a name (what the inbox shows) and, when it names a form, a form the
// server knows (the deploy refuses a form that is not supplied).
import { is } from 'bpmnlint-utils';
import { catalogue, property } from '../catalogue.js';

export default function userTaskForm() {
  function check(node, reporter) {
    if (!is(node, 'bpmn:UserTask')) return;
    const form = property(node, 'formJsonSchemaFilename');
    if (!(node.name || '').trim() && !form) {
      reporter.report(node.id, 'A user task needs a name or a form');
    }
    if (form !== null && !form) {
      reporter.report(node.id, 'The form file name is empty');
    } else if (form && catalogue.forms && !catalogue.forms.has(form)) {
      reporter.report(node.id, `Form ${form} is not deployed with any process`);
    }
    const ui = property(node, 'formUiSchemaFilename');
    if (ui && catalogue.forms && !catalogue.forms.has(ui)) {
      reporter.report(node.id, `UI form ${ui} is not deployed with any process`);
    }
  }
  return { check };
}
