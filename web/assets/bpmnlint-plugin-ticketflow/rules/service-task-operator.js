// A service task runs a registered operator with its required parameters (as the server checks).
import { is } from 'bpmnlint-utils';
import { catalogue, extensions } from '../catalogue.js';

export default function serviceTaskOperator() {
  function check(node, reporter) {
    if (!is(node, 'bpmn:ServiceTask')) return;
    const [operator] = extensions(node, 'spiffworkflow:ServiceTaskOperator');
    if (!operator || !operator.id) {
      reporter.report(node.id, 'A service task needs an operator');
      return;
    }
    if (!catalogue.operators) return;
    const spec = catalogue.operators.get(operator.id);
    if (!spec) {
      reporter.report(node.id, `Unknown operator ${operator.id}`);
      return;
    }
    const given = new Set(((operator.parameterList && operator.parameterList.parameters) || []).map((p) => p.id));
    for (const name of spec.required) {
      if (!given.has(name)) reporter.report(node.id, `Operator ${operator.id} needs parameter ${name}`);
    }
    for (const name of given) {
      if (!spec.required.includes(name) && !spec.optional.includes(name)) {
        reporter.report(node.id, `Operator ${operator.id} has no parameter ${name}`);
      }
    }
  }
  return { check };
}
