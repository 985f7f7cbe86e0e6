"""Checks speedups.sort_in_place against torch's legalize_graph: on graphs scrambled out of
topological order (seeded moves of a traced module's nodes), both must leave the same graph: the
node order, names, each node's users and inputs in order, the namespace's counters, the lookup
table, the generated code, and the names given to nodes made afterwards.

Usage: python sort_in_place.py <trials>   (prints JSON: {"trials": n, "moved": nodes moved})
"""

import json
import operator
import random
import sys

import torch
import torch.fx as fx
from torch.fx.passes.tools_common import legalize_graph

from onboard_executorch.speedups import assertions_first, legalized_order, sort_in_place


class Block(torch.nn.Module):
    """Branches that a breadth-first sort orders differently from the trace, with several nodes of
    each kind, so the counters and the lookup table see the order."""

    def forward(self, x, y):
        a = x + y
        b = torch.sin(a * 2)
        c = torch.sin(torch.relu(b))
        d = torch.sin(x - c)
        e = torch.sin(d * a) + torch.sin(y)
        f = torch.cos(e) + torch.sin(b)
        g = f.size(0) + 1  # an operator.add, which legalize_graph queues first
        h = torch.add(torch.sin(f), g)
        return torch.add(torch.add(h, e), a), torch.sin(e), a


def scrambled(seed: int) -> fx.GraphModule:
    module = fx.symbolic_trace(Block())
    nodes = list(module.graph.nodes)
    inner = nodes[2:-1]  # neither the placeholders nor the output
    pick = random.Random(seed).choice
    for _ in range(4):
        nodes[-1].prepend(pick(inner))
        nodes[2].prepend(pick(inner))
        pick(inner).append(pick(inner))
    return module


def state(module: fx.GraphModule) -> tuple:
    graph = module.graph
    nodes = list(graph.nodes)
    return (
        [(n.name, n.op, str(n.target), [u.name for u in n.users], [i.name for i in n._input_nodes]) for n in nodes],
        dict(graph._graph_namespace._base_count),
        sorted(graph._graph_namespace._used_names),
        {key: [n.name for n in found] for key, found in graph._find_nodes_lookup_table.table.items() if found},
        all(a < b for a, b in zip(nodes, nodes[1:])),
    )


def main(trials: int) -> None:
    moved = 0
    for seed in range(trials):
        theirs, ours = scrambled(seed), scrambled(seed)
        before = [n.name for n in ours.graph.nodes]
        legalize_graph(theirs)
        sort_in_place(ours.graph, legalized_order(ours.graph, assertions_first()))
        moved += sum(a != b for a, b in zip(before, [n.name for n in ours.graph.nodes]))
        assert state(theirs) == state(ours), f"seed {seed}: the graphs differ"
        ours.recompile()
        assert theirs.code == ours.code, f"seed {seed}: the code differs"
        for module in (theirs, ours):
            with module.graph.inserting_before(module.graph.output_node()):
                module.graph.call_function(operator.add, (1, 2))
                module.graph.call_function(torch.add, (1, 2))
                module.graph.call_function(torch.sin, (1,))
        assert [n.name for n in theirs.graph.nodes] == [n.name for n in ours.graph.nodes], f"seed {seed}: later names differ"
    print(json.dumps({"trials": trials, "moved": moved}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
