"""Classification heads over an encoder's last hidden layer, found by name.

A head maps the last hidden layer (``batch x tokens x hidden``) and its
attention mask to one logit per record. `ScreeningModel` joins a bare encoder
(`extract.model.load_encoder`) and a head, so the linear
and CNN heads share one training and prediction path, and both return the
last-layer CLS vector that `screenstack extract --finetune` writes as features.

Examples
--------
>>> head = make_head("cnn", 32, {"channels": 8})
>>> head(torch.zeros(2, 7, 32), torch.ones(2, 7, dtype=torch.long)).shape
torch.Size([2])
"""
from __future__ import annotations

import inspect

import torch
from torch import nn

from ..features.errors import ScreenstackError

HEADS: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator adding a head to `HEADS`; a duplicate name fails at import."""
    assert cls.name not in HEADS, f"head name {cls.name!r} registered twice"
    HEADS[cls.name] = cls
    return cls


def make_head(name: str, hidden_size: int, params: dict | None = None) -> nn.Module:
    """Build the head called `name` for an encoder of width `hidden_size`.

    `params` may hold settings for several heads (the fine-tuning config passes
    all of them); each head takes only those its ``__init__`` names.
    """
    if name not in HEADS:
        raise ScreenstackError(f"--head {name!r}: unknown head. Available: {', '.join(sorted(HEADS))}.")
    cls = HEADS[name]
    accepted = inspect.signature(cls.__init__).parameters
    return cls(hidden_size, **{k: v for k, v in (params or {}).items() if k in accepted})


def logit(unit: nn.Linear, features: torch.Tensor) -> torch.Tensor:
    """`unit`'s one output per row of `features`. Scoring (eval mode), each row's own sum of products: the batch's
    matrix product gave a record's logit another last bit with each batch size on a CPU, so --eval-batch-size changed
    a fine-tuning's scores. Training keeps the matrix product (its steps are as they were)."""
    if unit.training:
        return unit(features).squeeze(-1)
    return (features * unit.weight[0]).sum(-1) + unit.bias[0]


@register
class LinearHead(nn.Module):
    """Dropout and one linear unit on the last-layer CLS vector.

    This is `BertForSequenceClassification` without the pooler (the dense+tanh
    layer pre-trained on next-sentence prediction): the vector the logit is read
    from is then exactly the CLS vector exported as a feature.
    """

    name = "linear"

    def __init__(self, hidden_size: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return logit(self.out, self.dropout(hidden[:, 0]))


@register
class CNNHead(nn.Module):
    """Conv1d over the tokens of the last hidden layer, ReLU, max pool over real tokens, linear unit.

    Padding never reaches the logit: hidden states at padded positions are
    zeroed before the convolution (so a token near the end sees the same zeros
    as the convolution's own edge padding, whatever the batch's padded length),
    and their convolution outputs are set to -inf before the max pool.
    """

    name = "cnn"

    def __init__(self, hidden_size: int, dropout: float = 0.1, channels: int = 256, kernel_size: int = 5):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ScreenstackError(f"--cnn-kernel {kernel_size}: needs an odd size >= 1, so outputs align with tokens.")
        self.dropout = nn.Dropout(dropout)
        self.conv = nn.Conv1d(hidden_size, channels, kernel_size, padding=kernel_size // 2)
        self.out = nn.Linear(channels, 1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(-1).to(hidden.dtype)
        tokens = self.dropout(hidden * keep).transpose(1, 2)
        # Scoring, each record convolved alone: a batch's convolution gave a record other last bits with each batch
        # size on a CPU (its rows beside it), so --eval-batch-size changed a fine-tuning's scores. A few small calls.
        conv = self.conv(tokens) if self.training else torch.cat([self.conv(row) for row in tokens.split(1)])
        features = torch.relu(conv)  # batch x channels x tokens
        features = features.masked_fill(~mask.bool().unsqueeze(1), float("-inf"))
        return logit(self.out, self.dropout(features.amax(dim=2)))


class ScreeningModel(nn.Module):
    """A bare encoder and a head: ``forward`` returns (logits, last-layer CLS vectors).

    Parameters
    ----------
    encoder : a Hugging Face base model (``AutoModel``), whose output has
        ``last_hidden_state``. Its pooler, if any, is dropped: no head reads it.
    head : a module from `HEADS`
    """

    def __init__(self, encoder: nn.Module, head: nn.Module):
        super().__init__()
        if getattr(encoder, "pooler", None) is not None:
            encoder.pooler = None
        self.encoder = encoder
        self.head = head

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(hidden, attention_mask).float(), hidden[:, 0].float()
