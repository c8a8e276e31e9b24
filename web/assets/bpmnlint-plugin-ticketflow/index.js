// Ticketflow's bpmnlint rules (mirroring the server's deploy checks) and the lint config the
// designer uses, with a resolver that needs no bundler plugin.
import noDisconnected from 'bpmnlint/rules/no-disconnected';
import noDuplicateSequenceFlows from 'bpmnlint/rules/no-duplicate-sequence-flows';
import userTaskForm from './rules/user-task-form.js';
import serviceTaskOperator from './rules/service-task-operator.js';
import timerParses from './rules/timer-parses.js';

const rules = {
  'bpmnlint/no-disconnected': noDisconnected,
  'bpmnlint/no-duplicate-sequence-flows': noDuplicateSequenceFlows,
  'bpmnlint-plugin-ticketflow/user-task-form': userTaskForm,
  'bpmnlint-plugin-ticketflow/service-task-operator': serviceTaskOperator,
  'bpmnlint-plugin-ticketflow/timer-parses': timerParses,
};

export const config = {
  rules: {
    'no-disconnected': 'error',
    'no-duplicate-sequence-flows': 'error',
    'ticketflow/user-task-form': 'error',
    'ticketflow/service-task-operator': 'error',
    'ticketflow/timer-parses': 'error',
  },
};

export const resolver = {
  resolveRule(pkg, ruleName) {
    const rule = rules[`${pkg}/${ruleName}`];
    if (!rule) throw new Error(`unknown lint rule ${pkg}/${ruleName}`);
    return rule;
  },
  resolveConfig(pkg, configName) {
    throw new Error(`unknown lint config ${pkg}/${configName}`);
  },
};
