// The designer's own properties-panel group ("Ticketflow") for what our engine reads from the
// spiffworkflow: extension elements: form file names, the service-task operator (picked from
// the registered ones) with its parameters, message variables, scripts and pre/post scripts.
// Name, id, messages and timers come from the standard BPMN provider.
import { createElement as h } from '@bpmn-io/properties-panel/preact';
import {
  Group,
  SelectEntry,
  TextAreaEntry,
  TextFieldEntry,
  isSelectEntryEdited,
  isTextAreaEntryEdited,
  isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';
import { catalogue } from './bpmnlint-plugin-ticketflow/catalogue.js';

const SPIFF = 'spiffworkflow:';

function extensionList(bo) {
  const ext = bo.get('extensionElements');
  return ext ? ext.get('values') : [];
}

function findExtension(bo, type) {
  return extensionList(bo).find((v) => is(v, type));
}

// The extension element of `type` under `bo`, created (with the extensionElements) if missing.
function ensureExtension(element, bo, type, attrs, services) {
  const { modeling, moddle } = services;
  let ext = bo.get('extensionElements');
  if (!ext) {
    ext = moddle.create('bpmn:ExtensionElements', { values: [] });
    ext.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: ext });
  }
  let item = ext.get('values').find((v) => is(v, type));
  if (!item) {
    item = moddle.create(type, attrs);
    item.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: [...ext.get('values'), item] });
  }
  return item;
}

function removeExtension(element, bo, item, services) {
  const ext = bo.get('extensionElements');
  if (ext && item) {
    services.modeling.updateModdleProperties(element, ext, { values: ext.get('values').filter((v) => v !== item) });
  }
}

function useServices() {
  return {
    modeling: useService('modeling'),
    moddle: useService('moddle'),
    debounce: useService('debounceInput'),
    translate: useService('translate'),
  };
}

// A body-text extension (preScript, postScript, messageVariable …) edited as text.
function BodyEntry(props) {
  const { element, id, label, type, target, area } = props;
  const services = useServices();
  const bo = target || getBusinessObject(element);
  const getValue = () => {
    const item = findExtension(bo, type);
    return item ? item.get('value') || '' : '';
  };
  const setValue = (value) => {
    const item = findExtension(bo, type);
    if (!value) {
      removeExtension(element, bo, item, services);
    } else if (item) {
      services.modeling.updateModdleProperties(element, item, { value });
    } else {
      ensureExtension(element, bo, type, { value }, services);
    }
  };
  const Entry = area ? TextAreaEntry : TextFieldEntry;
  return h(Entry, {
    element, id, label: services.translate(label), getValue, setValue, debounce: services.debounce, monospace: true,
  });
}

function findProperty(bo, name) {
  const props = findExtension(bo, `${SPIFF}Properties`);
  return props ? (props.get('properties') || []).find((p) => p.name === name) : undefined;
}

// A spiffworkflow:property of the task (the form file names).
function PropertyEntry(props) {
  const { element, id, label, name } = props;
  const services = useServices();
  const bo = getBusinessObject(element);
  const getValue = () => {
    const prop = findProperty(bo, name);
    return prop ? prop.value || '' : '';
  };
  const setValue = (value) => {
    const prop = findProperty(bo, name);
    if (prop && !value) {
      const list = findExtension(bo, `${SPIFF}Properties`);
      services.modeling.updateModdleProperties(element, list, {
        properties: list.get('properties').filter((p) => p !== prop),
      });
    } else if (prop) {
      services.modeling.updateModdleProperties(element, prop, { value });
    } else if (value) {
      const list = ensureExtension(element, bo, `${SPIFF}Properties`, { properties: [] }, services);
      const created = services.moddle.create(`${SPIFF}Property`, { name, value });
      created.$parent = list;
      services.modeling.updateModdleProperties(element, list, { properties: [...list.get('properties'), created] });
    }
  };
  const forms = catalogue.forms ? [...catalogue.forms].sort() : [];
  return h(TextFieldEntry, {
    element, id, label: services.translate(label), getValue, setValue, debounce: services.debounce,
    description: forms.length ? `${services.translate('Known forms')}: ${forms.join(', ')}` : undefined,
  });
}

function operatorOf(bo) {
  return findExtension(bo, `${SPIFF}ServiceTaskOperator`);
}

function OperatorEntry(props) {
  const { element, id } = props;
  const services = useServices();
  const bo = getBusinessObject(element);
  const getValue = () => (operatorOf(bo) ? operatorOf(bo).id || '' : '');
  const setValue = (value) => {
    const spec = catalogue.operators && catalogue.operators.get(value);
    const operator = ensureExtension(element, bo, `${SPIFF}ServiceTaskOperator`, { id: value }, services);
    const keep = new Map(
      ((operator.parameterList && operator.parameterList.get('parameters')) || []).map((p) => [p.id, p]),
    );
    const parameters = services.moddle.create(`${SPIFF}Parameters`, { parameters: [] });
    parameters.$parent = operator;
    const wanted = spec ? spec.required : [];
    parameters.parameters = wanted.map((name) => {
      const old = keep.get(name);
      const p = services.moddle.create(`${SPIFF}Parameter`, { id: name, type: 'any', value: old ? old.value : '' });
      p.$parent = parameters;
      return p;
    });
    services.modeling.updateModdleProperties(element, operator, { id: value, parameterList: parameters });
  };
  const getOptions = () => {
    const options = [{ value: '', label: '—' }];
    for (const name of catalogue.operators ? catalogue.operators.keys() : []) options.push({ value: name, label: name });
    const current = getValue();
    if (current && !options.some((o) => o.value === current)) options.push({ value: current, label: `${current} (?)` });
    return options;
  };
  return h(SelectEntry, { element, id, label: services.translate('Operator'), getValue, setValue, getOptions });
}

function ResultVariableEntry(props) {
  const { element, id } = props;
  const services = useServices();
  const bo = getBusinessObject(element);
  return h(TextFieldEntry, {
    element, id, label: services.translate('Result variable'), debounce: services.debounce,
    getValue: () => (operatorOf(bo) ? operatorOf(bo).resultVariable || '' : ''),
    setValue: (value) => {
      const operator = ensureExtension(element, bo, `${SPIFF}ServiceTaskOperator`, { id: '' }, services);
      services.modeling.updateModdleProperties(element, operator, { resultVariable: value || undefined });
    },
  });
}

function ParameterEntry(props) {
  const { element, id, name, required } = props;
  const services = useServices();
  const bo = getBusinessObject(element);
  const find = () => {
    const operator = operatorOf(bo);
    const list = operator && operator.parameterList;
    return list ? (list.get('parameters') || []).find((p) => p.id === name) : undefined;
  };
  const setValue = (value) => {
    const operator = operatorOf(bo);
    if (!operator) return;
    let list = operator.parameterList;
    if (!list) {
      list = services.moddle.create(`${SPIFF}Parameters`, { parameters: [] });
      list.$parent = operator;
      services.modeling.updateModdleProperties(element, operator, { parameterList: list });
    }
    const param = find();
    if (param && !value && !required) {
      services.modeling.updateModdleProperties(element, list, { parameters: list.get('parameters').filter((p) => p !== param) });
    } else if (param) {
      services.modeling.updateModdleProperties(element, param, { value });
    } else if (value) {
      const created = services.moddle.create(`${SPIFF}Parameter`, { id: name, type: 'any', value });
      created.$parent = list;
      services.modeling.updateModdleProperties(element, list, { parameters: [...list.get('parameters'), created] });
    }
  };
  const label = `${name}${required ? ' *' : ''}`;
  return h(TextFieldEntry, {
    element, id, label, debounce: services.debounce, getValue: () => (find() ? find().value || '' : ''), setValue,
    description: services.translate('An expression, e.g. a variable name or a quoted text'),
  });
}

function ScriptEntry(props) {
  const { element, id } = props;
  const services = useServices();
  const bo = getBusinessObject(element);
  return h(TextAreaEntry, {
    element, id, label: services.translate('Script'), debounce: services.debounce, monospace: true,
    getValue: () => bo.get('script') || '',
    setValue: (value) => services.modeling.updateProperties(element, { script: value || undefined, scriptFormat: bo.get('scriptFormat') || 'python' }),
  });
}

function messageDefinition(bo) {
  return (bo.get('eventDefinitions') || []).find((d) => is(d, 'bpmn:MessageEventDefinition'));
}

function entries(element) {
  const bo = getBusinessObject(element);
  const list = [];
  if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) {
    list.push({ id: 'tf-form', component: (p) => h(PropertyEntry, { ...p, name: 'formJsonSchemaFilename', label: 'Form (JSON Schema file)' }), isEdited: isTextFieldEntryEdited });
    list.push({ id: 'tf-ui-form', component: (p) => h(PropertyEntry, { ...p, name: 'formUiSchemaFilename', label: 'UI schema file' }), isEdited: isTextFieldEntryEdited });
    list.push({ id: 'tf-instructions', component: (p) => h(BodyEntry, { ...p, type: `${SPIFF}InstructionsForEndUser`, label: 'Instructions', area: true }), isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:ServiceTask')) {
    list.push({ id: 'tf-operator', component: OperatorEntry, isEdited: isSelectEntryEdited });
    list.push({ id: 'tf-result', component: ResultVariableEntry, isEdited: isTextFieldEntryEdited });
    const operator = operatorOf(bo);
    const spec = operator && catalogue.operators && catalogue.operators.get(operator.id);
    const given = operator && operator.parameterList ? operator.parameterList.get('parameters').map((p) => p.id) : [];
    const names = spec ? [...spec.required, ...spec.optional] : [];
    for (const name of [...names, ...given.filter((g) => !names.includes(g))]) {
      list.push({
        id: `tf-param-${name}`,
        component: (p) => h(ParameterEntry, { ...p, name, required: !!spec && spec.required.includes(name) }),
        isEdited: isTextFieldEntryEdited,
      });
    }
  }
  if (is(element, 'bpmn:ScriptTask')) {
    list.push({ id: 'tf-script', component: ScriptEntry, isEdited: isTextAreaEntryEdited });
  }
  if (is(element, 'bpmn:BusinessRuleTask')) {
    list.push({ id: 'tf-decision', component: (p) => h(BodyEntry, { ...p, type: `${SPIFF}CalledDecisionId`, label: 'Decision id' }), isEdited: isTextFieldEntryEdited });
  }
  const definition = is(element, 'bpmn:Event') ? messageDefinition(bo) : null;
  if (definition || is(element, 'bpmn:ReceiveTask')) {
    const target = definition || bo;
    list.push({ id: 'tf-message-variable', component: (p) => h(BodyEntry, { ...p, target, type: `${SPIFF}MessageVariable`, label: 'Message variable' }), isEdited: isTextFieldEntryEdited });
    list.push({ id: 'tf-message-payload', component: (p) => h(BodyEntry, { ...p, target, type: `${SPIFF}MessagePayload`, label: 'Message payload (expression)' }), isEdited: isTextFieldEntryEdited });
  }
  if (is(element, 'bpmn:Activity') && !is(element, 'bpmn:ScriptTask')) {
    list.push({ id: 'tf-prescript', component: (p) => h(BodyEntry, { ...p, type: `${SPIFF}PreScript`, label: 'Pre-script', area: true }), isEdited: isTextAreaEntryEdited });
    list.push({ id: 'tf-postscript', component: (p) => h(BodyEntry, { ...p, type: `${SPIFF}PostScript`, label: 'Post-script', area: true }), isEdited: isTextAreaEntryEdited });
  }
  return list;
}

class TicketflowPropertiesProvider {
  constructor(propertiesPanel, translate) {
    propertiesPanel.registerProvider(400, this);
    this._translate = translate;
  }

  getGroups(element) {
    return (groups) => {
      const own = entries(element);
      if (own.length) {
        groups.splice(1, 0, { id: 'ticketflow', label: this._translate('Ticketflow'), component: Group, entries: own, shouldOpen: true });
      }
      return groups;
    };
  }
}

TicketflowPropertiesProvider.$inject = ['propertiesPanel', 'translate'];

export default {
  __init__: ['ticketflowPropertiesProvider'],
  ticketflowPropertiesProvider: ['type', TicketflowPropertiesProvider],
};
