"""Names for the weight MatMuls of an exported encoder: ``layer.role`` instead of
paddle2onnx's ``MatMul.22``, so ``--keep_fp32 0.o,0.ffn2`` can leave chosen matmuls out
of int8 quantization.

paddle2onnx writes the encoder's linear layers in program order, six per layer: q, k,
v (hidden -> attention width), o (back to hidden), ffn1 (hidden -> FFN width), ffn2
(back). The roles are read from that order and checked against those shapes; what
follows the last layer (the pooler, if any, and the classifier) is ``head``.
"""

from __future__ import annotations

from collections.abc import Sequence

ROLES = ("q", "k", "v", "o", "ffn1", "ffn2")


def weight_matmuls(model) -> list[tuple[str, tuple[int, ...]]]:
    """(node name, weight shape) of each MatMul whose second input is an initializer."""
    shapes = {t.name: tuple(t.dims) for t in model.graph.initializer}
    return [(n.name, shapes[n.input[1]]) for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in shapes]


def _is_layer(shapes: list[tuple[int, ...]], hidden: int) -> bool:
    if len(shapes) != len(ROLES) or any(len(s) != 2 for s in shapes):
        return False
    q, k, v, o, f1, f2 = shapes
    width, ffn = q[1], f1[1]
    return q == k == v == (hidden, width) and o == (width, hidden) and f1 == (hidden, ffn) and f2 == (ffn, hidden)


def matmul_roles(model) -> dict[str, list[str]]:
    """``"0.q"`` ... ``"5.ffn2"``, ``"0"`` (a whole layer) and ``"head"`` -> node names."""
    mats = weight_matmuls(model)
    if not mats:
        raise ValueError("the model has no MatMul with constant weights: nothing to name")
    hidden = mats[0][1][0]
    roles: dict[str, list[str]] = {}
    layer = 0
    while _is_layer([s for _, s in mats[6 * layer : 6 * layer + 6]], hidden):
        names = [n for n, _ in mats[6 * layer : 6 * layer + 6]]
        roles[str(layer)] = names
        roles.update({f"{layer}.{r}": [n] for r, n in zip(ROLES, names)})
        layer += 1
    if layer == 0:
        raise ValueError(
            "the model's first weight MatMuls do not look like an encoder layer "
            f"(q, k, v, o, ffn1, ffn2): shapes {[s for _, s in mats[:6]]}"
        )
    roles["head"] = [n for n, _ in mats[6 * layer :]]
    return roles


def resolve(model, specs: Sequence[str]) -> list[str]:
    """Node names for ``specs`` such as ``0`` (all of layer 0), ``2.ffn2`` or ``head``;
    an unknown spec raises ValueError listing what this model has."""
    roles = matmul_roles(model)
    layers = sum(1 for k in roles if k.isdigit())
    out: list[str] = []
    for spec in specs:
        spec = spec.strip()
        if spec not in roles:
            raise ValueError(
                f"--keep_fp32 {spec!r}: this model has layers 0-{layers - 1}; name a layer ('0'), "
                f"a layer's matmul ('0.ffn2', roles {', '.join(ROLES)}) or 'head'"
            )
        out += [n for n in roles[spec] if n not in out]
    return out
