"""Checks speedups.generate_code_when_run: a graph module whose code generation is deferred still
runs its current graph, shows its current code, prints, pickles, deep-copies, and is traced by
export (strict or not) into the same program as a module whose code was generated eagerly.

Usage: python lazy_code.py   (prints "ok" last)
"""

import copy
import operator
import pickle

import torch
import torch.fx as fx


class Small(torch.nn.Module):
    def forward(self, x, y):
        return torch.relu(x + y) * 2


def swap_add_for_sub(module: fx.GraphModule) -> None:
    for node in module.graph.nodes:
        if node.op == "call_function" and node.target is operator.add:
            node.target = operator.sub
    module.recompile()


def exported_graph(module, args, strict: bool) -> str:
    program = torch.export.export(module, args, strict=strict)
    return "\n".join(f"{node.op} {node.target} {node.args}" for node in program.graph.nodes)


def main() -> None:
    x, y = torch.randn(4), torch.randn(4)
    eager = fx.symbolic_trace(Small())
    swap_add_for_sub(eager)
    eager_exports = [exported_graph(fx.symbolic_trace(Small()), (x, y), strict) for strict in (True, False)]

    from onboard_executorch.speedups import generate_code_when_run

    generate_code_when_run()
    lazy = fx.symbolic_trace(Small())
    assert type(lazy).__dict__["forward"].__class__.__name__ == "GeneratedWhenRead", "a new module's code is deferred"
    swap_add_for_sub(lazy)
    assert type(lazy).__dict__["forward"].__class__.__name__ == "GeneratedWhenRead", "a recompile defers it again"

    expected = torch.relu(x - y) * 2
    assert torch.equal(lazy(x, y), expected), "the call runs the graph as it is now"
    assert type(lazy).__dict__["forward"].__name__ == "forward", "and leaves the generated code in place"
    assert torch.equal(lazy(x, y), expected)

    swap_add_for_sub(lazy)  # nothing left to swap: code deferred again, same graph
    assert "x - y" in lazy.code and "x + y" not in lazy.code, lazy.code
    assert lazy.code == eager.code
    assert str(lazy) == str(eager)

    restored = pickle.loads(pickle.dumps(lazy))
    assert torch.equal(restored(x, y), expected), "pickled with its code"
    copied = copy.deepcopy(lazy)
    assert torch.equal(copied(x, y), expected), "deep-copied"

    for strict, eager_export in zip((True, False), eager_exports):
        stale = fx.symbolic_trace(Small())
        stale.recompile()
        # Export names the inputs after forward's parameters: x and y, not args_0 and args_1.
        assert exported_graph(stale, (x, y), strict) == eager_export, f"export (strict={strict}) makes the same program"
    print("ok")


if __name__ == "__main__":
    main()
