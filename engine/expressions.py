"""The only way text from a diagram is evaluated: a small, bounded expression language.

SpiffWorkflow hands gateway conditions, timer expressions, service-task parameters, message
correlations and scripts to ``eval``/``exec`` by default.  Narrowing the globals of ``eval``
is not a sandbox (``().__class__.__base__.__subclasses__()`` walks out of it), so nothing
from a diagram reaches ``eval`` here.  Instead:

* the source is parsed with :mod:`ast` and every node must be of an allowed kind: literals,
  names, arithmetic, comparisons, boolean logic, ``x if c else y``, subscripts, calls of
  allow-listed functions and allow-listed methods of ``str``/``dict``/``list``;
* no name or attribute may start with ``_``; there are no imports, lambdas,
  comprehensions or f-strings; the source and its syntax tree are bounded in size;
* it is evaluated by :mod:`simpleeval` with size-checked ``*``, ``+`` and ``**`` and
  per-type attribute allow-lists, and the result is size-checked too;
* a script is a sequence of assignments ``name = <expression>``, nothing else.

The same checks run when a diagram is deployed and every time an expression is evaluated.
"""

from __future__ import annotations

import ast
import operator
import re
import sys
from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from simpleeval import EvalWithCompoundTypes, InvalidExpression

from engine.errors import UnsafeExpression

MAX_SOURCE_LENGTH = 2000
MAX_SCRIPT_LENGTH = 10000
MAX_NODES = 400
MAX_SEQUENCE = 10000
MAX_EXPONENT = 64
MAX_POWER_BASE = 10**9
MAX_INT_DIGITS = 400
# Items and characters in one value, nested values counted each time they occur (as JSON would).
MAX_TOTAL = 10 * MAX_SEQUENCE
# ``uuid.os``: no module is ever reachable here, but a module name before a dot is refused
# outright, so such a walk is visible at deploy time and not only as an unknown name later.
_MODULE_NAMES = frozenset(sys.stdlib_module_names)

_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.keyword,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)

_STR_METHODS = frozenset(
    {
        "lower",
        "upper",
        "strip",
        "lstrip",
        "rstrip",
        "startswith",
        "endswith",
        "split",
        "title",
        "casefold",
        "isdigit",
        "count",
        "find",
    }
)
_DICT_METHODS = frozenset({"get", "keys", "values", "items"})
_LIST_METHODS = frozenset({"count", "index"})
_METHODS: dict[type, frozenset[str]] = {
    str: _STR_METHODS,
    dict: _DICT_METHODS,
    list: _LIST_METHODS,
    tuple: _LIST_METHODS,
}
_ALL_METHODS = _STR_METHODS | _DICT_METHODS | _LIST_METHODS


def _now() -> str:
    """The current time, ISO 8601 UTC (timers compare against UTC)."""
    return datetime.now(UTC).isoformat()


def _iso_duration(days: int = 0, hours: int = 0, minutes: int = 0) -> str:
    """An ISO 8601 duration for timer expressions, e.g. ``iso_duration(days=3)`` → ``P3D``."""
    for value in (days, hours, minutes):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100000:
            raise UnsafeExpression("iso_duration takes whole numbers from 0 to 100000")
    return f"P{days}DT{hours}H{minutes}M"


def _bounded(func: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _check_size(func(*args, **kwargs))

    return call


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "str": _bounded(str),
    "int": int,
    "float": float,
    "bool": bool,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "any": any,
    "all": all,
    "sorted": _bounded(sorted),
    "now": _now,
    "iso_duration": _iso_duration,
}


def _check_size(value: Any) -> Any:
    if isinstance(value, str | bytes | list | tuple | dict | set) and len(value) > MAX_SEQUENCE:
        raise UnsafeExpression(f"a value longer than {MAX_SEQUENCE} items is not allowed")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_INT_DIGITS:
        raise UnsafeExpression(f"numbers of more than {MAX_INT_DIGITS} digits are not allowed")
    if isinstance(value, list | tuple | dict | set):
        _check_total(value)
    return value


def _check_total(value: Any) -> None:
    """Refuse nested values that are small at the top only (``[[0] * 10000] * 10000``)."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            stack.extend(item)
        if total > MAX_TOTAL:
            raise UnsafeExpression(f"a value with more than {MAX_TOTAL} items in all is not allowed")


def _safe_mult(a: Any, b: Any) -> Any:
    for seq, times in ((a, b), (b, a)):
        if hasattr(seq, "__len__") and isinstance(times, int) and len(seq) * times > MAX_SEQUENCE:
            raise UnsafeExpression(f"a value longer than {MAX_SEQUENCE} items is not allowed")
    return _check_size(a * b)


def _safe_add(a: Any, b: Any) -> Any:
    return _check_size(a + b)


_FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _safe_mod(a: Any, b: Any) -> Any:
    """``%``, with the widths of text formatting bounded (``'%0100000000d' % 1``)."""
    if isinstance(a, str | bytes):
        text = a if isinstance(a, str) else a.decode("latin-1")
        room = 0
        for width, precision in _FORMAT_SPEC.findall(text):
            for number in (width, precision):
                if number == "*" or len(number) > 6:
                    raise UnsafeExpression("'*' or very large widths are not allowed in % formatting")
                room += int(number or 0)
        if room > MAX_SEQUENCE:
            raise UnsafeExpression(f"% formatting wider than {MAX_SEQUENCE} characters is not allowed")
    return _check_size(a % b)


def _safe_pow(a: Any, b: Any) -> Any:
    if abs(b) > MAX_EXPONENT or abs(a) > MAX_POWER_BASE:
        raise UnsafeExpression(
            f"powers are limited to a base of {MAX_POWER_BASE} and exponent {MAX_EXPONENT}"
        )
    return _check_size(a**b)


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _safe_add,
    ast.Sub: operator.sub,
    ast.Mult: _safe_mult,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _safe_mod,
    ast.Pow: _safe_pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda x, y: operator.contains(y, x),
    ast.NotIn: lambda x, y: not operator.contains(y, x),
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def _check_attribute(node: ast.Attribute) -> None:
    if node.attr.startswith("_"):
        raise UnsafeExpression(f"attributes starting with '_' are not allowed ({node.attr})")
    if isinstance(node.value, ast.Name) and node.value.id in _MODULE_NAMES:
        raise UnsafeExpression(
            f"{node.value.id!r} is a Python module; modules are not available ({node.value.id}.{node.attr})"
        )


def _check_tree(tree: ast.AST, source: str) -> None:
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise UnsafeExpression(f"the expression is too complex ({len(nodes)} parts, at most {MAX_NODES})")
    for node in nodes:
        if not isinstance(node, _ALLOWED_NODES):
            raise UnsafeExpression(f"{type(node).__name__} is not allowed in {source[:80]!r}")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"names starting with '_' are not allowed ({node.id})")
        if isinstance(node, ast.Attribute):
            _check_attribute(node)
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                if func.id not in FUNCTIONS and func.id != "value_of":
                    raise UnsafeExpression(f"the function {func.id}() is not available")
            elif isinstance(func, ast.Attribute):
                if func.attr not in _ALL_METHODS:
                    raise UnsafeExpression(f"the method .{func.attr}() is not available")
            else:
                raise UnsafeExpression("only named functions can be called")
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str | bytes)
            and len(node.value) > MAX_SEQUENCE
        ):
            raise UnsafeExpression("a literal is too long")
    _fold_constants(nodes)


def _fold_constants(nodes: list[ast.AST]) -> None:
    """Compute the parts that use no names and no calls now, so ``[0] * 10**8`` is refused
    when the diagram is deployed, not only when it runs.  The operators are the size-checked
    ones: they refuse before allocating.  Other errors (``1 / 0``) are left for run time."""
    for node in nodes:
        if isinstance(node, ast.BinOp) and not any(
            isinstance(part, ast.Name | ast.Call | ast.Attribute) for part in ast.walk(node)
        ):
            try:
                _Evaluator(operators=_OPERATORS, functions={}, names={})._eval(node)
            except UnsafeExpression:
                raise
            except Exception:  # noqa: S112 (not a size problem: the run reports it)
                continue


@lru_cache(maxsize=2048)
def check_expression(source: str) -> ast.Expression:
    """Parse and check one expression; raise :class:`UnsafeExpression` when not allowed."""
    if not isinstance(source, str):
        raise UnsafeExpression("an expression must be text")
    if len(source) > MAX_SOURCE_LENGTH:
        raise UnsafeExpression(f"the expression is longer than {MAX_SOURCE_LENGTH} characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise UnsafeExpression(f"the expression is not valid: {exc.msg}") from None
    _check_tree(tree, source)
    return tree


class _Evaluator(EvalWithCompoundTypes):  # type: ignore[misc]
    """simpleeval with per-type method allow-lists and ``dict.key`` as ``dict['key']``."""

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        if node.attr.startswith("_"):
            raise UnsafeExpression(f"attributes starting with '_' are not allowed ({node.attr})")
        value = self._eval(node.value)
        allowed = _METHODS.get(type(value))
        if allowed is not None and node.attr in allowed:
            return getattr(value, node.attr)
        if isinstance(value, dict) and node.attr in value:
            return value[node.attr]
        raise UnsafeExpression(f"'.{node.attr}' is not available on {type(value).__name__}")

    def _eval_comprehension(self, node: ast.AST) -> Any:
        raise UnsafeExpression("comprehensions are not allowed")


def _functions(names: Mapping[str, Any]) -> dict[str, Callable[..., Any]]:
    def value_of(name: str, default: Any = None) -> Any:
        """The task-data value ``name``, or ``default`` when it is not set."""
        return names.get(name, default) if isinstance(name, str) and not name.startswith("_") else default

    return {**FUNCTIONS, "value_of": value_of}


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """Evaluate an expression against ``names`` (task data); the result is size-checked."""
    tree = check_expression(source)
    evaluator = _Evaluator(operators=_OPERATORS, functions=_functions(names), names=dict(names))
    try:
        result = evaluator._eval(tree.body)
    except UnsafeExpression:
        raise
    except InvalidExpression as exc:
        raise UnsafeExpression(str(exc)) from None
    return _check_size(result)


@lru_cache(maxsize=512)
def check_script(source: str) -> list[tuple[str, ast.Expression]]:
    """Check a script: only ``name = <expression>`` lines.  Returns the parsed assignments."""
    if not isinstance(source, str):
        raise UnsafeExpression("a script must be text")
    if len(source) > MAX_SCRIPT_LENGTH:
        raise UnsafeExpression(f"the script is longer than {MAX_SCRIPT_LENGTH} characters")
    try:
        module = ast.parse(source, mode="exec")
    except SyntaxError as exc:
        raise UnsafeExpression(f"the script is not valid: {exc.msg} (line {exc.lineno})") from None
    steps: list[tuple[str, ast.Expression]] = []
    for statement in module.body:
        if isinstance(statement, ast.Pass) or (
            isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)
        ):
            # ``pass`` or a lone literal (modelers write ``True`` as an empty script).
            continue
        for name, value in _assignments(statement):
            if name.startswith("_"):
                raise UnsafeExpression(f"line {statement.lineno}: names starting with '_' are not allowed")
            expression = ast.Expression(body=value)
            _check_tree(expression, ast.unparse(value))
            steps.append((name, expression))
    return steps


def _assignments(statement: ast.stmt) -> list[tuple[str, ast.expr]]:
    """``a = x`` → [(a, x)]; ``a, b = x, y`` → [(a, x), (b, y)] when no value reads a target
    (then one after the other is the same as all at once)."""
    refused = UnsafeExpression(f"line {statement.lineno}: scripts may only assign values (name = expression)")
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
        raise refused
    target = statement.targets[0]
    if isinstance(target, ast.Name):
        return [(target.id, statement.value)]
    value = statement.value
    if not (
        isinstance(target, ast.Tuple)
        and isinstance(value, ast.Tuple)
        and len(target.elts) == len(value.elts)
        and all(isinstance(t, ast.Name) for t in target.elts)
    ):
        raise refused
    names = [t.id for t in target.elts if isinstance(t, ast.Name)]
    read = {n.id for part in value.elts for n in ast.walk(part) if isinstance(n, ast.Name)}
    if read & set(names):
        raise UnsafeExpression(
            f"line {statement.lineno}: a, b = … may not read the names it assigns; write one line each"
        )
    return list(zip(names, value.elts, strict=True))


def run_script(source: str, data: MutableMapping[str, Any]) -> None:
    """Run a checked script, assigning into ``data`` line by line."""
    for name, expression in check_script(source):
        evaluator = _Evaluator(operators=_OPERATORS, functions=_functions(data), names=dict(data))
        try:
            value = evaluator._eval(expression.body)
        except UnsafeExpression:
            raise
        except InvalidExpression as exc:
            raise UnsafeExpression(str(exc)) from None
        data[name] = _check_size(value)
