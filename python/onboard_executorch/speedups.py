"""Changes to how the exporter runs, not to what it produces (each one is checked by exporting
the same job with and without them and comparing the .pte bytes: docs/model-preparation.md).

Profiled on an LLM export, a third of the time goes to retracing graphs that nothing changed
since they were last traced, a tenth to copying provenance records, and a fifth to re-sorting and
regenerating the graph between partitions. Eight changes:

1. Provenance records: every retrace gives each node a NodeSource naming the node it came from,
   built by deep-copying that node's whole provenance chain, which grows with every pass. Nothing
   in torch, torchao or ExecuTorch mutates a NodeSource after it is made (its cached dict relies on
   that), so deep copies of one now share it, as Python does for tuples. The same goes for
   sympy's expressions, which every partition deep-copies with its program's range constraints.
2. Decompositions that have nothing to do: the edge lowering decomposes the program once with the
   partitioners' ops kept, tags the ones they take, then decomposes the whole program again for the
   ones they refused, and before that re-functionalizes a program that export has just
   functionalized. When the graph is unchanged since a decomposition made it and holds none of the
   table's operators but those that decomposition left in place, the run is skipped. (ExecuTorch
   skips one such run itself, on the same reasoning: exir/program/_program.py, "safe to skip when
   none of those targets occur".)
3. Retraces that have nothing to do: every XNNPACK pass ends by retracing its graph through fake
   tensors to refresh the metadata, even when the pass found nothing to change (an LLM has no
   batch norm, convolution or upsampling, and each such pass retraces every partition). A pass
   that only retraces (it overrides none of the tracing hooks) over a graph unchanged since its
   last retrace now returns that graph.
4. Partitions fused one at a time: each partition becomes a submodule, then the whole graph is
   re-sorted by copying every node into a new graph (half of that in torch's per-node argument
   checks), and setting that graph regenerates the module's Python code: a fifth of the SmolLM2
   export, growing with partitions times nodes. The graph's own nodes are now put in the same
   order in place, leaving what the copy would (names and their counters, users in creation
   order, the lookup table); the code, which nothing runs or reads until the partitions are made,
   is generated once after the last, from the same graph.
5. Python code nobody runs: every pass, every pass manager's check and every new graph module
   regenerates the module's Python source and compiles it (12% of the 8da8w export's samples),
   and almost none of it is ever run or read. It is now generated when the module is called, its
   code or forward read (export names a program's inputs after forward's parameters), it is
   printed or pickled, or strict export is about to trace it.
6. Type annotations evaluated again and again: torch's OperatorBase.py_impl defines a function
   annotated with collections.abc's Callable[P, T], which makes a new alias object each time; every
   decomposition run calls it for each of about two thousand composite operators. The aliases are
   cached, as typing's own Callable caches them.
7. Guards nobody runs: strict export builds dynamo's guards only to learn whether building them
   raises a constraint violation, then drops them. Their Python code is written without dynamo's
   common-subexpression pass, which unparsed every subexpression of every shape guard.
8. The garbage collector: tracing makes and drops millions of small objects, and each full
   collection walked everything alive, torch's modules included. What is alive when the export
   starts is collected once and then left out of collections, and young collections run less
   often.

"Unchanged" is a fingerprint of the graph: every node's name, kind, target and arguments, for the
graph and its subgraphs, and for a program also its signature. An operator the edge lowering
renamed to keep it from decomposing counts as itself (the lowering renames it back afterwards).
"""

import hashlib
from collections import deque

# What an ExportPass may override to change the graph while it retraces it.
_TRACING_HOOKS = (
    "call_operator", "call_sym", "call_cond", "call_while", "call_map", "call_scan", "call_getitem",
    "call_delegate", "call_submodule", "call_size_operator", "call_size_operator_all", "placeholder",
    "output", "on_attr", "inputs", "ExportTracer", "ExportInterpreter",
)


def graph_fingerprint(graph_module, same_target=lambda target: target) -> str:
    import torch

    digest = hashlib.sha256()
    for name, module in graph_module.named_modules():
        if not isinstance(module, torch.fx.GraphModule):
            continue
        digest.update(f"module {name}\n".encode())
        for node in module.graph.nodes:
            digest.update(f"{node.name}|{node.op}|{same_target(node.target)!r}|{node.args!r}|{node.kwargs!r}\n".encode())
    return digest.hexdigest()


def program_fingerprint(program) -> str:
    """Counts an operator the edge lowering has renamed to keep it from decomposing (and renames
    back afterwards) as the operator itself."""
    from executorch.exir.program._program import transform_op_to_aten_op

    def same_target(target):
        return transform_op_to_aten_op.get(str(target), target)

    return f"{graph_fingerprint(program.graph_module, same_target)}:{program.graph_signature!r}"


def share_immutable_records() -> None:
    """Provenance records, and sympy's expressions (immutable by design: every operation makes a
    new one), which each partition deep-copies in its program's range constraints."""
    import sympy
    from torch.fx.traceback import NodeSource

    NodeSource.__deepcopy__ = lambda self, memo: self
    sympy.Basic.__deepcopy__ = lambda self, memo: self


def cache_callable_aliases() -> None:
    """`Callable[P, T]` from collections.abc makes a new alias object each time it is written.
    torch writes it in the annotations of a function defined inside OperatorBase.py_impl, which
    every decomposition run calls for each of about two thousand composite operators. typing's
    own Callable caches the same aliases; this one now does too (hashable arguments only)."""
    import collections.abc
    import functools

    make_alias = collections.abc.Callable.__class_getitem__.__func__

    @functools.lru_cache(maxsize=4096)
    def cached(cls, args):
        return make_alias(cls, args)

    def class_getitem(cls, args):
        try:
            return cached(cls, args)
        except TypeError:  # an unhashable argument, e.g. Callable[[int], str]'s list
            return make_alias(cls, args)

    collections.abc.Callable.__class_getitem__ = classmethod(class_getitem)


def table_operators_in(graph_module, table) -> set:
    """The operators of a decomposition table that the graph or its subgraphs call (matched as
    ExecuTorch matches them: an edge operator by the ATen operator it wraps)."""
    import torch

    found = set()
    for _, module in graph_module.named_modules():
        if not isinstance(module, torch.fx.GraphModule):
            continue
        for node in module.graph.nodes:
            if node.op != "call_function":
                continue
            target = node.target if isinstance(node.target, torch._ops.OpOverload) else getattr(node.target, "_op", node.target)
            if target in table:
                found.add(target)
    return found


def skip_idle_decompositions() -> None:
    from torch.export import ExportedProgram

    decompose = ExportedProgram.run_decompositions

    def run_decompositions(self, decomp_table=None, decompose_custom_triton_ops=False):
        made = getattr(self, "_onboard_decomposed", None)
        if (
            decomp_table is not None
            and not decompose_custom_triton_ops
            and made is not None
            and made[0] == program_fingerprint(self)
            and table_operators_in(self.graph_module, decomp_table) <= made[1]
        ):
            return self
        result = decompose(self, decomp_table, decompose_custom_triton_ops)
        # What the table did not decompose (aten.sym_size.int: a retrace makes it again).
        survivors = table_operators_in(result.graph_module, decomp_table) if decomp_table is not None else set()
        result._onboard_decomposed = (program_fingerprint(result), survivors)
        return result

    ExportedProgram.run_decompositions = run_decompositions


def skip_idle_retraces() -> None:
    from executorch.exir.pass_base import ExportPass, _ExportPassBase
    from torch.fx.passes.infra.pass_base import PassResult

    retrace = _ExportPassBase.call

    def only_retraces(export_pass) -> bool:
        kind = type(export_pass)
        return all(getattr(kind, hook, None) is getattr(ExportPass, hook, None) for hook in _TRACING_HOOKS)

    def call(self, graph_module):
        if only_retraces(self) and getattr(graph_module, "_onboard_retraced", None) == graph_fingerprint(graph_module):
            return PassResult(graph_module, True)
        result = retrace(self, graph_module)
        result.graph_module._onboard_retraced = graph_fingerprint(result.graph_module)
        return result

    _ExportPassBase.call = call


def assertions_first():
    """The operators torch's legalize_graph queues first when they become ready, so runtime
    assertions come before what they guard (the list in torch/fx/passes/tools_common.py)."""
    import operator

    import torch

    aten = torch.ops.aten
    return (
        operator.add, operator.mul, operator.sub, operator.floordiv, operator.truediv, operator.mod,
        operator.le, operator.lt, operator.ge, operator.gt, operator.eq, operator.ne,
        aten.sym_constrain_range.default, aten.sym_constrain_range_for_size.default,
        aten._assert_async.msg, aten.scalar_tensor.default, aten._assert_scalar.default,
    )


def legalized_order(graph, first_ops) -> list:
    """The order legalize_graph puts the nodes in: Kahn's algorithm over each node's users in
    their order, a ready node queued at the back, or at the front for the operators above.
    Shorter than the graph when the graph has a cycle."""
    waiting = dict.fromkeys(graph.nodes, 0)
    for node in graph.nodes:
        for user in node.users:
            waiting[user] += 1
    queue = deque(node for node, count in waiting.items() if count == 0)
    order = []
    while queue:
        node = queue.popleft()
        order.append(node)
        for user in node.users:
            waiting[user] -= 1
            if waiting[user] == 0:
                if user.op == "call_function" and user.target in first_ops:
                    queue.appendleft(user)
                else:
                    queue.append(user)
    return order


def sort_in_place(graph, order: list) -> None:
    """Puts the graph's own nodes in `order` and leaves the graph as legalize_graph's copy into a
    new graph would: names and their counters, each node's users in creation order, the lookup
    table, no tracer. Every node object stays the same one."""
    from torch.fx.graph import _FindNodesLookupTable, _Namespace

    names, lookup = _Namespace(), _FindNodesLookupTable()
    for node in order:
        graph._root.prepend(node)  # moves it to the end
        node.users.clear()
    for node in order:
        if names.create_name(node.name, None) != node.name:
            raise RuntimeError(f"{node.name} would be renamed by a copy")
        names.associate_name_with_obj(node.name, node)
        lookup.insert(node)
        for used in node._input_nodes:
            used.users[node] = None
    graph._graph_namespace, graph._find_nodes_lookup_table = names, lookup
    graph._tracer_cls, graph._tracer_extras, graph._co_fields = None, None, {}


def sort_partitions_in_place() -> None:
    import executorch.exir.lowered_backend_module as lowered
    from executorch.exir.backend import backend_api

    legalize = lowered.legalize_graph
    create_partitions = backend_api._create_partitions_in_graph_module
    first_ops = assertions_first()
    stale = []

    def legalize_graph(graph_module):
        order = legalized_order(graph_module.graph, first_ops)
        if len(order) < len(graph_module.graph.nodes):
            return legalize(graph_module)  # a cycle: torch's own error
        sort_in_place(graph_module.graph, order)
        stale.append(graph_module)
        return graph_module

    def create_partitions_in_graph_module(*args, **kwargs):
        try:
            return create_partitions(*args, **kwargs)
        finally:
            for graph_module in dict.fromkeys(stale):
                graph_module.recompile()
            stale.clear()

    lowered.legalize_graph = legalize_graph
    backend_api._create_partitions_in_graph_module = create_partitions_in_graph_module


def generate_code_when_run() -> None:
    """A graph module's Python code is generated when something runs or reads it, not each time
    its graph is set or a pass says it changed (torch's own _LazyGraphModule does the same for the
    graph modules it opts in): reading forward (to call it, or for its signature, which names an
    exported program's inputs) generates it; so do reading the code, printing and pickling; and
    strict export generates it for the modules it gives dynamo."""
    import threading

    import torch.export._trace as trace
    from torch.fx._lazy_graph_module import _LazyGraphModule
    from torch.fx.graph import _PyTreeCodeGen
    from torch.fx.graph_module import GraphModule

    generate = GraphModule.recompile
    read_code = GraphModule.code.fget
    to_string = GraphModule.__str__
    eager = threading.local()

    class GeneratedWhenRead:
        """Stands for forward until something reads it (a call, inspect.signature), which then
        gets the generated one."""

        def __get__(self, module, owner=None):
            if module is None:
                return self
            generate(module)  # replaces this on the module's own class
            return module.forward

    forward_once_generated = GeneratedWhenRead()

    def generated(module) -> None:
        for _, sub in module.named_modules():
            if isinstance(sub, GraphModule) and type(sub).__dict__.get("forward") is forward_once_generated:
                generate(sub)

    def recompile(self):
        if getattr(eager, "on", False) or isinstance(self, _LazyGraphModule):
            return generate(self)
        if isinstance(self._graph._codegen, _PyTreeCodeGen):  # export reads these
            self._in_spec = self._graph._codegen.pytree_info.in_spec
            self._out_spec = self._graph._codegen.pytree_info.out_spec
        type(self).forward = forward_once_generated
        return None

    def with_code(method):
        def run(self, *args, **kwargs):
            before = getattr(eager, "on", False)
            eager.on = True
            try:
                generated(self)
                return method(self, *args, **kwargs)
            finally:
                eager.on = before

        return run

    GraphModule.recompile = recompile
    GraphModule.code = property(with_code(read_code))
    GraphModule.__str__ = with_code(to_string)
    for name in ("__reduce__", "__reduce_package__", "__reduce_deploy__"):
        if hasattr(GraphModule, name):
            setattr(GraphModule, name, with_code(getattr(GraphModule, name)))

    # Dynamo traces the code of the module strict export is given, and of its submodules.
    strict_export = trace._strict_export

    def _strict_export(mod, *args, **kwargs):
        generated(mod)
        return strict_export(mod, *args, **kwargs)

    trace._strict_export = _strict_export


def export_guards_without_cse() -> None:
    """Strict export builds dynamo's guards for the traced model only to learn whether building
    them raises a constraint violation (a dynamic dimension the model specialised), then drops
    them unrun. Their Python code still went through a common-subexpression pass, which
    unparses every subexpression of every shape guard: 6.6% of a profile of the 8da8w export,
    and 6.7 s of an 8-layer one (0.6 s without it). While export checks the constraints, the
    guards' code is written without it: the same checks, never run."""
    import torch._dynamo.functional_export as functional_export
    import torch._dynamo.guards as guards

    class WithoutCSE:
        def count(self, exprs) -> None:
            pass

        def replace(self, expr):
            return [], expr

    check_constraints = functional_export._suggest_or_raise_constraint_violation

    def _suggest_or_raise_constraint_violation(*args, **kwargs):
        cse = guards.PyExprCSEPass
        guards.PyExprCSEPass = WithoutCSE
        try:
            return check_constraints(*args, **kwargs)
        finally:
            guards.PyExprCSEPass = cse

    functional_export._suggest_or_raise_constraint_violation = _suggest_or_raise_constraint_violation


def collect_garbage_less_often() -> None:
    """Tracing makes and drops millions of small objects (nodes, fake tensors, symbolic
    expressions), and Python's collector ran about 5,500 times in an 8-layer export, 13 of them
    over everything alive, torch's and the model's modules included: 7.1 s of a two-minute
    export. What is alive now (imports, the model, torch's tables) is collected once and then
    left out of later collections, and a young collection waits for 100,000 new objects instead
    of 700: 3.0 s there. Garbage is still collected, in bigger batches (the full 8da8w export's
    peak RSS went from 2.9 to 3.1 GiB)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def apply() -> None:
    collect_garbage_less_often()
    share_immutable_records()
    cache_callable_aliases()
    skip_idle_decompositions()
    skip_idle_retraces()
    sort_partitions_in_place()
    generate_code_when_run()
    export_guards_without_cse()
