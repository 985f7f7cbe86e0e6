"""Changes to how the exporter runs, not to what it produces (each one is checked by exporting
the same job with and without it and comparing the .pte bytes: docs/model-preparation.md).

Provenance records: every pass that retraces the graph gives each node a NodeSource naming the
node it came from, and torch builds it by deep-copying that node's whole provenance chain. The
chain grows with every pass, so an LLM export spends about a tenth of its time copying records
nobody changes: nothing in torch, torchao or ExecuTorch mutates a NodeSource after it is made
(its cached dict relies on that). Deep copies of one now share it, as Python does for tuples.
"""


def share_provenance_records() -> None:
    from torch.fx.traceback import NodeSource

    NodeSource.__deepcopy__ = lambda self, memo: self


def apply() -> None:
    share_provenance_records()
