"""PyTorch networks of the deep models (imported only when PyTorch is installed).

- :class:`TemporalNet`: a residual temporal CNN (dilated 1-D convolutions) over per-frame
  channels, with a mask that zeroes face-less frames and padding at every layer and masked
  mean + max pooling over time: one output per window.
- :class:`FrameNet`: a small ResNet-style 2-D CNN shared by the K face crops of a video, with
  cross-frame attention after every stage (each frame's channels are re-weighted from a
  self-attention over the frames' descriptors, in the spirit of LI-FPN) and attention pooling
  over frames before the head: one output per video.
- :class:`ClipNet`: a multiscale 3D CNN over the K crops stacked in time (in the spirit of
  the MSN): a stem convolution and pooling, then stages of parallel 3D convolutions of
  temporal-spatial kernel 3, 5 and 7 after a 1x1x1 reduction, concatenated, with a residual
  1x1x1 path; global average pooling and the head: one output per video.

All use GroupNorm, not BatchNorm, so an output never depends on the rest of its batch.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _TemporalBlock(nn.Module):
    def __init__(self, width: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.conv1 = nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation)
        self.conv2 = nn.Conv1d(width, width, kernel, padding=pad, dilation=dilation)
        self.norm = nn.GroupNorm(1, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        z = F.gelu(self.conv1(h)) * m
        z = self.drop(self.norm(self.conv2(z)))
        return (h + F.gelu(z)) * m


class TemporalNet(nn.Module):
    """Input ``x`` (batch, time, channels) with missing values already 0, mask (batch, time)."""

    def __init__(
        self,
        channels: int,
        outputs: int,
        *,
        width: int = 32,
        levels: int = 3,
        kernel: int = 5,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.inp = nn.Conv1d(channels + 1, width, 1)
        self.blocks = nn.ModuleList(
            _TemporalBlock(width, kernel, 2**i, dropout) for i in range(levels)
        )
        self.head = nn.Sequential(
            nn.Linear(2 * width, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, outputs)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        h = torch.cat([x.transpose(1, 2) * m, m], dim=1)
        h = self.inp(h) * m
        for block in self.blocks:
            h = block(h, m)
        n = m.sum(dim=2).clamp(min=1.0)
        mean = h.sum(dim=2) / n
        mx = h.masked_fill(m == 0, -1e4).amax(dim=2)
        mx = torch.where(m.sum(dim=2) > 0, mx, torch.zeros_like(mx))
        return self.head(torch.cat([mean, mx], dim=1))


class _ResBlock(nn.Module):
    """A ResNet basic block (two 3x3 convolutions), optionally strided."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.n1 = nn.GroupNorm(8, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.n2 = nn.GroupNorm(8, cout)
        self.skip = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.GroupNorm(8, cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.relu(self.n1(self.conv1(x)))
        return F.relu(self.n2(self.conv2(z)) + self.skip(x))


class CrossFrameAttention(nn.Module):
    """Re-weight each frame's channels from a self-attention over the frames of its video.

    The gate starts at zero, so the module starts as the identity.
    """

    def __init__(self, width: int, heads: int = 4) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.gate = nn.Linear(width, width)
        nn.init.zeros_(self.gate.weight)
        nn.init.zeros_(self.gate.bias)

    def forward(self, f: torch.Tensor, frames: int, mask: torch.Tensor) -> torch.Tensor:
        bk, c = f.shape[:2]
        d = f.mean(dim=(2, 3)).view(bk // frames, frames, c)
        shared, _ = self.attn(d, d, d, key_padding_mask=~mask, need_weights=False)
        g = torch.tanh(self.gate(shared)).reshape(bk, c, 1, 1)
        return f * (1.0 + g)


class FrameNet(nn.Module):
    """Input ``x`` (batch, K, 3, H, W) floats, mask (batch, K) of real (not padded) crops."""

    def __init__(
        self, outputs: int, *, widths: tuple[int, ...] = (16, 32, 64, 128), dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, widths[0], 3, stride=2, padding=1, bias=False),
            nn.GroupNorm(8, widths[0]),
            nn.ReLU(),
        )
        self.stages = nn.ModuleList(
            _ResBlock(widths[i], widths[i + 1], 2) for i in range(len(widths) - 1)
        )
        self.cross = nn.ModuleList(CrossFrameAttention(w) for w in widths[1:])
        last = widths[-1]
        self.score = nn.Sequential(nn.Linear(last, last // 2), nn.Tanh(), nn.Linear(last // 2, 1))
        self.head = nn.Sequential(
            nn.Linear(last, last // 2),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(last // 2, outputs),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, k = x.shape[:2]
        f = self.stem(x.reshape(b * k, *x.shape[2:]))
        for stage, cross in zip(self.stages, self.cross, strict=True):
            f = cross(stage(f), k, mask)
        d = f.mean(dim=(2, 3)).view(b, k, -1)
        w = self.score(d).squeeze(-1).masked_fill(~mask, float("-inf"))
        pooled = (torch.softmax(w, dim=1).unsqueeze(-1) * d).sum(dim=1)
        return self.head(pooled)


def _norm(channels: int) -> nn.GroupNorm:
    groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


class MultiScaleBlock(nn.Module):
    """Parallel 3D convolutions of kernel 3, 5 and 7 (time, height, width) after a 1x1x1
    reduction, concatenated and projected to ``cout``, plus a residual 1x1x1 path."""

    def __init__(self, cin: int, cout: int, kernels: tuple[int, ...] = (3, 5, 7)) -> None:
        super().__init__()
        mid = max(cout // 4, 4)
        self.reduce = nn.Sequential(nn.Conv3d(cin, mid, 1, bias=False), _norm(mid), nn.ReLU())
        self.branches = nn.ModuleList(
            nn.Sequential(nn.Conv3d(mid, mid, k, padding=k // 2, bias=False), _norm(mid), nn.ReLU())
            for k in kernels
        )
        self.project = nn.Sequential(
            nn.Conv3d(mid * len(kernels), cout, 1, bias=False), _norm(cout)
        )
        self.skip = nn.Sequential(nn.Conv3d(cin, cout, 1, bias=False), _norm(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r = self.reduce(x)
        z = self.project(torch.cat([branch(r) for branch in self.branches], dim=1))
        return F.relu(z + self.skip(x))


class ClipNet(nn.Module):
    """Input ``x`` (batch, K, 3, H, W) floats: K crops in time order; ``mask`` is accepted for
    a common signature and not used (a clip always holds K real frames).

    Stage ``i`` of ``depth`` has ``width * 2**i`` channels; space is halved between stages,
    time is kept.
    """

    def __init__(
        self, outputs: int, *, width: int = 16, depth: int = 3, dropout: float = 0.2
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(3, width, 3, stride=(1, 2, 2), padding=1, bias=False),
            _norm(width),
            nn.ReLU(),
            nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        )
        widths = [width * 2**i for i in range(depth)]
        self.stages = nn.ModuleList(
            MultiScaleBlock(widths[i - 1] if i else width, widths[i]) for i in range(depth)
        )
        self.pool = nn.MaxPool3d((1, 2, 2), ceil_mode=True)
        last = widths[-1]
        self.head = nn.Sequential(
            nn.Linear(last, max(last // 2, 1)),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(max(last // 2, 1), outputs),
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.stem(x.transpose(1, 2))  # (B, 3, K, H, W)
        for i, stage in enumerate(self.stages):
            if i:
                h = self.pool(h)
            h = stage(h)
        return self.head(h.mean(dim=(2, 3, 4)))
