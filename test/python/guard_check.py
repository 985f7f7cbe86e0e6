"""Checks speedups.export_guards_without_cse: strict export still refuses a dynamic dimension the
model specialises, with the same error as without the change; a valid one exports to the same
program and range constraints; and dynamo's own common-subexpression pass is back in place
afterwards.

Usage: python guard_check.py   (prints "ok" last)
"""

import torch
import torch._dynamo.guards as guards
from torch.export import Dim


class Specialises(torch.nn.Module):
    """Declared dynamic in its first dimension, but the view only works for 4 rows."""

    def forward(self, x):
        return x.view(2, 2, x.shape[1]) * 2


class Dynamic(torch.nn.Module):
    def forward(self, x, y):
        return torch.relu(x @ y.t()).sum(dim=1) + x.shape[0]


def refusal(module, args, dynamic_shapes) -> str:
    try:
        torch.export.export(module, args, dynamic_shapes=dynamic_shapes, strict=True)
    except Exception as error:  # torch raises a UserError for a constraint violation
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return "exported"


def program(module, args, dynamic_shapes) -> str:
    exported = torch.export.export(module, args, dynamic_shapes=dynamic_shapes, strict=True)
    nodes = "\n".join(f"{node.op} {node.target} {node.args}" for node in exported.graph.nodes)
    return f"{nodes}\n{exported.range_constraints}"


def cases():
    rows = Dim("rows", min=2, max=64)
    specialised = refusal(Specialises(), (torch.randn(4, 3),), {"x": {0: rows}})
    dynamic = program(Dynamic(), (torch.randn(5, 8), torch.randn(7, 8)), {"x": {0: rows}, "y": {0: Dim("cols", max=32)}})
    return specialised, dynamic


def main() -> None:
    before = cases()
    assert "Constraints violated" in before[0], before[0]

    from onboard_executorch.speedups import export_guards_without_cse

    cse = guards.PyExprCSEPass
    export_guards_without_cse()
    build = guards.build_guard_function
    passes_used = []

    def build_guard_function(*args, **kwargs):
        passes_used.append(guards.PyExprCSEPass.__name__)
        return build(*args, **kwargs)

    guards.build_guard_function = build_guard_function
    after = cases()
    guards.build_guard_function = build
    assert "WithoutCSE" in passes_used, passes_used
    assert after[0] == before[0], (after[0], before[0])
    assert after[1] == before[1], (after[1], before[1])
    assert guards.PyExprCSEPass is cse, "dynamo's own pass is back after the check"
    print("ok")


if __name__ == "__main__":
    main()
