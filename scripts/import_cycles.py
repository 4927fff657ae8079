"""Prints every import cycle between textpilot's modules (any import, in a function or not)
and exits 1 if there is one. `make test` runs it beside the import-linter layer contract:
layers forbid imports upward; this also catches cycles inside one app."""
import sys
from pathlib import Path

import grimp


def strongly_connected(graph, modules):
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(start):
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in modules:
                    continue
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        result.append(sorted(component))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return result


def main() -> int:
    # Check this tree, not whichever checkout the venv's editable install points at.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    graph = grimp.build_graph("textpilot")
    # Packages import their own submodules through __init__ by nature; look at modules only.
    modules = {m for m in graph.modules if not graph.find_children(m)}
    cycles = strongly_connected(graph, modules)
    for cycle in cycles:
        print("import cycle:", " <-> ".join(cycle))
    print(f"{len(modules)} modules, {len(cycles)} import cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
