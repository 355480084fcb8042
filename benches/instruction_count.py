"""Instructions a program's own binary executed, from a callgrind output file: the self cost
of every function whose object is that binary, inlined code included (callgrind_annotate's
per-function listing leaves the object off the names of inlined code from other source
files, so summing its lines by object undercounts). OpenSSL and libc, which pick their code
paths by CPU, are left out.

    python3 benches/instruction_count.py CALLGRIND_OUT BINARY
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# A name definition or reference: "ob=(3) /path/to/binary" or "ob=(3)".
_NAMED = re.compile(r"^(ob|cob)=\((\d+)\)(?: (.*))?$")


def own_instructions(callgrind_out: Path, binary: str) -> int:
    """The self cost (first event, Ir) of the code in `binary`."""
    names: dict[str, str] = {}
    current = ""
    skip_call_cost = False
    total = 0
    for line in callgrind_out.read_text().splitlines():
        named = _NAMED.match(line)
        if named:
            key, index, name = named.groups()
            if name is not None:
                names[index] = name
            if key == "ob":
                current = names.get(index, "")
            continue
        if line.startswith("calls="):
            # The next cost line is the call's inclusive cost, not this function's own.
            skip_call_cost = True
            continue
        if not line or not (line[0].isdigit() or line[0] in "+-*"):
            continue
        if skip_call_cost:
            skip_call_cost = False
            continue
        fields = line.split()
        if len(fields) >= 2 and current.endswith(binary):
            total += int(fields[1])
    return total


if __name__ == "__main__":
    print(own_instructions(Path(sys.argv[1]), sys.argv[2]))
