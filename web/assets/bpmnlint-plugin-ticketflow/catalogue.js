// What the rules need from the server: the registered operators and the forms that exist.
// The designer fills these in from /designer/operators.json and /designer/forms.json before
// the first lint; until then the operator and form rules stay silent rather than guess.
export const catalogue = { operators: null, forms: null };

export function setCatalogue(operators, forms) {
  catalogue.operators = new Map(operators.map((op) => [op.name, op]));
  catalogue.forms = new Set(forms);
}

export function extensions(node, type) {
  const ext = node.extensionElements;
  return ext && ext.values ? ext.values.filter((v) => v.$type === type) : [];
}

export function property(node, name) {
  for (const props of extensions(node, 'spiffworkflow:Properties')) {
    for (const prop of props.properties || []) {
      if (prop.name === name) return prop.value || '';
    }
  }
  return null;
}
