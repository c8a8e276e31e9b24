// A timer has a value, and one that looks like ISO 8601 parses as such (the server's
// engine/iso_timers.py rules: durations, dates, cycles of at least a minute).
import { is } from 'bpmnlint-utils';

const DURATION = /^P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?$/i;
const DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;
const LOOKS_ISO = /^(P\d|PT\d|R\d*\/|\d{4}-)[0-9A-Za-z.,:/+-]*$/;

function seconds(duration) {
  const m = DURATION.exec(duration);
  if (!m) return null;
  const n = (part) => (part ? parseFloat(part.replace(',', '.')) : 0);
  return (((n(m[1]) * 365 + n(m[2]) * 30 + n(m[3]) * 7 + n(m[4])) * 24 + n(m[6])) * 60 + n(m[7])) * 60 + n(m[8]);
}

export function timerProblem(kind, text) {
  const value = (text || '').trim();
  if (!value) return 'The timer has no value';
  if (!LOOKS_ISO.test(value)) return null; // an expression: the server checks it
  if (kind === 'timeDuration') return DURATION.test(value) ? null : `${value} is no ISO 8601 duration`;
  if (kind === 'timeDate') return DATE.test(value) ? null : `${value} is no ISO 8601 date`;
  const parts = value.split('/');
  if (!/^R\d*$/i.test(parts[0]) || parts.length < 2 || parts.length > 3) return `${value} is no ISO 8601 cycle`;
  const period = parts.find((p, i) => i > 0 && /^P/i.test(p));
  const secs = period ? seconds(period) : null;
  if (secs === null) return `${value} is no ISO 8601 cycle`;
  if (secs < 60) return `A timer cycle repeats at most every 60 seconds (${value})`;
  return null;
}

export default function timerParses() {
  function check(node, reporter) {
    if (!is(node, 'bpmn:Event')) return;
    for (const definition of node.eventDefinitions || []) {
      if (!is(definition, 'bpmn:TimerEventDefinition')) continue;
      const kind = ['timeDuration', 'timeDate', 'timeCycle'].find((k) => definition[k]);
      const problem = kind ? timerProblem(kind, definition[kind].body) : 'The timer has no value';
      if (problem) reporter.report(node.id, problem);
    }
  }
  return { check };
}
