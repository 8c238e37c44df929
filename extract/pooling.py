"""Poolings: one vector per record from a layer's token states, found by name.

A pooling is a tiny class with a ``name`` (the key users type in
``--pooling``) and a ``__call__(hidden, mask)`` that maps token states
``(batch, tokens, hidden)`` and the attention mask ``(batch, tokens)`` to
``(batch, hidden)``. `POOLINGS` holds one instance per name.

A feature vector concatenates, for each chosen hidden layer in the order
given, each chosen pooling in the order given: ``--layers -1,-2 --pooling
cls,mean`` gives the blocks ``L-1:cls, L-1:mean, L-2:cls, L-2:mean``.

This module needs no ``import torch``: it only calls tensor methods, so the
command line can list the poolings without loading torch.
"""
from __future__ import annotations

from ..features.checks import comma_items
from ..features.errors import ScreenstackError

POOLINGS: dict[str, "Pooling"] = {}


def register(cls: type) -> type:
    """Class decorator adding one instance of a pooling to `POOLINGS`; a duplicate name fails at import."""
    assert cls.name not in POOLINGS, f"pooling name {cls.name!r} registered twice"
    POOLINGS[cls.name] = cls()
    return cls


class Pooling:
    """Base class: a ``name`` class attribute, ``__call__(hidden, mask) -> (batch, hidden)``."""

    name: str = ""

    def __call__(self, hidden, mask):
        raise NotImplementedError


@register
class CLSPooling(Pooling):
    """The state of the first token ([CLS]), as the seed notebooks used."""

    name = "cls"

    def __call__(self, hidden, mask):
        return hidden[:, 0].float()


@register
class MeanPooling(Pooling):
    """Mean of the states of the real (unmasked) tokens: padding never counts.

    Summed in float32 so that a bf16/fp16 forward pass does not lose precision
    in a sum over hundreds of tokens.
    """

    name = "mean"

    def __call__(self, hidden, mask):
        weights = mask.unsqueeze(-1).to(hidden.device).float()
        return (hidden.float() * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


# The mean vectors of the last four layers (`extract.stage.ExtractConfig`): a model with fewer layers needs --layers.
DEFAULT_LAYERS = (-1, -2, -3, -4)
DEFAULT_POOLING = ("mean",)


def parse_layers(value: str) -> tuple[int, ...]:
    """``"-1,-2"`` -> ``(-1, -2)``; ``"last4"`` -> ``(-1, -2, -3, -4)`` (concatenation of the last 4 layers).

    Examples
    --------
    >>> parse_layers("last2")
    (-1, -2)
    """
    value = value.strip().lower()
    if value.startswith("last"):
        count = value[4:]
        if not count.isdigit() or int(count) < 1:
            raise ScreenstackError(f"--layers {value!r}: expected lastN with N >= 1 (e.g. last4), or a list such as -1,-2.")
        return tuple(-i for i in range(1, int(count) + 1))
    items = comma_items(value, "--layers", repr(value)) if value else []
    try:
        layers = tuple(int(v) for v in items)
    except ValueError:
        raise ScreenstackError(f"--layers {value!r}: expected comma-separated integers (e.g. -1,-2,-3,-4) or lastN.") from None
    if not layers:
        raise ScreenstackError("--layers is empty: give at least one layer, e.g. -1 (the last).")
    if len(set(layers)) != len(layers):
        raise ScreenstackError(f"--layers {value!r}: a layer is listed twice.")
    return layers


def layers_text(layers: tuple[int, ...]) -> str:
    """`layers` as a user writes them: ``last4`` for -1..-4 (as `parse_layers` reads it), else ``-1,-3``."""
    if len(layers) > 1 and layers == tuple(range(-1, -len(layers) - 1, -1)):
        return f"last{len(layers)}"
    return ",".join(map(str, layers))


def check_layers(layers: tuple[int, ...], n_layers: int) -> tuple[int, ...]:
    """Map layers to indices of ``hidden_states`` (0 = embeddings, n_layers = last); out-of-range fails."""
    indices = []
    for layer in layers:
        if not -n_layers <= layer <= n_layers:
            # The whole value, as typed (`last99`), not the first layer past the end (-7), which the user never wrote.
            # A fact either way, whether the value was typed, read from a --config file or left to its default.
            default = f" ({layers_text(DEFAULT_LAYERS)} is the default: a model with fewer layers needs --layers)" \
                if layers == DEFAULT_LAYERS else ""
            if n_layers == 1:
                fix = "Use -1 (its one layer), or 0 (embeddings) to 1."
            else:
                fix = f"Use -1 (last) to -{n_layers} (or last{n_layers}), or 0 (embeddings) to {n_layers}."
            raise ScreenstackError(f"--layers {layers_text(layers)}: the model has {n_layers} layer{'s' if n_layers != 1 else ''}, "
                                   f"so it has no layer {layer}{default}. {fix}")
        index = layer % (n_layers + 1) if layer < 0 else layer
        if index in indices:  # e.g. 2 and -1 of a 2-layer model: the same block twice, only wider vectors
            twin = layers[indices.index(index)]
            raise ScreenstackError(f"--layers {layers_text(layers)}: {twin} and {layer} are the same layer of this "
                                   f"{n_layers}-layer model. List each layer once.")
        indices.append(index)
    return tuple(indices)


def block_names(layers: tuple[int, ...], poolings: tuple[str, ...]) -> list[str]:
    """Names of the vector's blocks, in column order: ``["L-1:cls", "L-1:mean", ...]``."""
    return [f"L{layer}:{name}" for layer in layers for name in poolings]


def pool(hidden_states, mask, layer_indices: tuple[int, ...], poolings: tuple[Pooling, ...]):
    """Concatenate every pooling of every chosen layer into ``(batch, blocks * hidden)`` float32."""
    import torch

    return torch.cat([p(hidden_states[i], mask) for i in layer_indices for p in poolings], dim=1)
