"""What ExecuTorch's own Python API says about a .pte, as JSON on stdout.

Usage: python -m onboard_executorch.describe <file.pte>

Used by the tests as the reference for `onboard inspect`: the program
structure comes from ExecuTorch's deserializer, the metadata values from
running the constant methods in the runtime.
"""

import json
import sys

from executorch.exir._serialize._program import _flatbuffer_to_program, _get_extended_header, deserialize_pte_binary
from executorch.runtime import Runtime


def describe(path: str) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    program = deserialize_pte_binary(data).program
    # deserialize_pte_binary moves segment data into the program and empties the
    # segment table, so the table is read from the bare FlatBuffer.
    header = _get_extended_header(data)
    raw = _flatbuffer_to_program(data[: header.program_size] if header and header.is_valid() else data)

    methods = []
    for plan in program.execution_plan:
        instructions = sum(len(chain.instructions) for chain in plan.chains)
        methods.append(
            {
                "name": plan.name,
                "instructions": instructions,
                "operators": [f"{op.name}.{op.overload}" if op.overload else op.name for op in plan.operators],
                "delegates": [d.id for d in plan.delegates],
                "inputs": len(plan.inputs),
                "outputs": len(plan.outputs),
            }
        )

    runtime_program = Runtime.get().load_program(path)
    metadata = {}
    for method in methods:
        if method["instructions"] == 0 and method["outputs"] == 1:
            value = runtime_program.load_method(method["name"]).execute([])[0]
            metadata[method["name"]] = value.tolist() if hasattr(value, "tolist") else value

    return {
        "version": program.version,
        "methods": methods,
        "method_names": sorted(runtime_program.method_names),
        "metadata": metadata,
        "segments": [{"offset": s.offset, "size": s.size} for s in raw.segments],
    }


if __name__ == "__main__":
    json.dump(describe(sys.argv[1]), sys.stdout, indent=2)
    print()
