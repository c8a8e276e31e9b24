"""Three versions of one small process, for the instance-migration tests (engine, API, CLI)."""

from __future__ import annotations

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
<bpmn:process id="repair" name="Repair" isExecutable="true">
  <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="Ticket queue">%s</bpmn:lane></bpmn:laneSet>
  <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
  %s
</bpmn:process>
</bpmn:definitions>"""


def chain(*steps: tuple[str, str]) -> str:
    """A process running the user tasks ``(id, name)`` one after the other."""
    refs = "".join(f"<bpmn:flowNodeRef>{i}</bpmn:flowNodeRef>" for i, _ in steps)
    body = []
    for n, (task_id, name) in enumerate(steps):
        body.append(
            f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:incoming>f{n}</bpmn:incoming>'
            f"<bpmn:outgoing>f{n + 1}</bpmn:outgoing></bpmn:userTask>"
        )
    previous = ["s", *(i for i, _ in steps)]
    targets = [*(i for i, _ in steps), "e"]
    for n, (source, target) in enumerate(zip(previous, targets, strict=True)):
        body.append(f'<bpmn:sequenceFlow id="f{n}" sourceRef="{source}" targetRef="{target}"/>')
    body.append(f'<bpmn:endEvent id="e"><bpmn:incoming>f{len(steps)}</bpmn:incoming></bpmn:endEvent>')
    return HEAD % (refs, "\n  ".join(body))


# Version 1: diagnose, then repair.
V1 = chain(("diagnose", "Diagnose"), ("fix", "Repair it"))
# Version 2: an approval between them; the waiting "Diagnose" is still there.
V2 = chain(("diagnose", "Diagnose"), ("approve", "Approve the cost"), ("fix", "Repair it"))
# Version 3: the diagnosis was replaced by a checklist: a waiting "Diagnose" has no counterpart.
V3 = chain(("checklist", "Fill in the checklist"), ("approve", "Approve the cost"), ("fix", "Repair it"))
