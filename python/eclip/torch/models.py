"""The paper's seven models split into kernel groups (their top-level blocks), for the profiler
(python3 -m eclip.torch.profile) and co-location runs. Each group is a callable from one tensor to one tensor, so a group can be
captured as a CUDA graph that reads a static input buffer and writes the next group's.

Models: torchvision get_model(name, weights=None) on a Bx3x224x224 input, and
transformers.AlbertModel(AlbertConfig()) on Bx128 token ids. AlbertConfig()'s defaults are the
xxlarge dimensions (hidden 4096, 64 heads, FFN 16384, 12 shared layers), as in docs/hardware.md and
docs/workloads.md; random weights, fp16, eval, inference mode.

Grouping (groups per model, batch independent):
  alexnet             8: five conv blocks (conv+ReLU[+pool]), avgpool+fc6, fc7, fc8
  vgg19              19: sixteen conv blocks (conv+ReLU[+pool]), avgpool+fc6, fc7, fc8
  resnet152          34: stem, layer1 x3, layer2 x8, layer3 in pairs x18, layer4 x3, head
  resnext101_32x8d   35: stem, 3 + 4 + 23 + 3 bottlenecks, head
  densenet201        32: stem, dense layers in chunks (2/3/4/4 per chunk), transitions, head
  shufflenet_v2_x1_0 19: stem, 16 inverted-residual blocks, conv5, head
  albert             14: embeddings + hidden mapping, 12 transformer layers, pooler
A dense-layer chunk concatenates its input with its layers' outputs, as _DenseBlock does for the
whole block: the same arithmetic, one extra concatenation at each chunk boundary."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .model_names import PAPER_MODELS  # noqa: F401  (torchvision names; "albert": AlbertModel(AlbertConfig()))

SEQ_LEN = 128


def _first(out):
    """A layer's hidden state, whatever the transformers version returns (tensor, tuple, output)."""
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    return out[0]


def _seq(*mods):
    mods = [m for m in mods if m is not None]
    return lambda x: _apply(mods, x)


def _apply(mods, x):
    for m in mods:
        x = m(x)
    return x


def _conv_blocks(features):
    """Split a Sequential of conv/ReLU/pool into blocks that each start at a conv."""
    blocks, cur = [], []
    for m in features:
        if isinstance(m, nn.Conv2d) and cur:
            blocks.append(cur)
            cur = []
        cur.append(m)
    if cur:
        blocks.append(cur)
    return blocks


def _chunks(xs, size):
    return [xs[i:i + size] for i in range(0, len(xs), size)]


def _alexnet_vgg(m):
    groups = [(f"features.conv{i + 1}", _seq(*b)) for i, b in enumerate(_conv_blocks(m.features))]
    cls = list(m.classifier)
    # classifier: [Dropout, Linear, ReLU, Dropout, Linear, ReLU, Linear] (alexnet) or
    #             [Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear] (vgg)
    lin = [i for i, x in enumerate(cls) if isinstance(x, nn.Linear)]
    fc6 = cls[:lin[1]] if isinstance(cls[0], nn.Dropout) else cls[:lin[0] + 3]
    rest = cls[len(fc6):]
    lin_rest = [i for i, x in enumerate(rest) if isinstance(x, nn.Linear)]
    fc7 = rest[:lin_rest[1]]
    fc8 = rest[lin_rest[1]:]
    groups.append(("avgpool+fc6", _seq(m.avgpool, lambda x: torch.flatten(x, 1), *fc6)))
    groups.append(("fc7", _seq(*fc7)))
    groups.append(("fc8", _seq(*fc8)))
    return groups


def _resnet(m, pair_layer3):
    groups = [("stem", _seq(m.conv1, m.bn1, m.relu, m.maxpool))]
    for li in range(1, 5):
        blocks = list(getattr(m, f"layer{li}"))
        size = 2 if (li == 3 and pair_layer3) else 1
        for j, ch in enumerate(_chunks(blocks, size)):
            first = j * size
            name = f"layer{li}.{first}" if len(ch) == 1 else f"layer{li}.{first}-{first + len(ch) - 1}"
            groups.append((name, _seq(*ch)))
    groups.append(("head", _seq(m.avgpool, lambda x: torch.flatten(x, 1), m.fc)))
    return groups


def _dense_chunk(layers):
    def run(x):
        feats = [x]
        for layer in layers:
            feats.append(layer(feats))
        return torch.cat(feats, 1)
    return run


def _densenet(m):
    f = m.features
    groups = [("stem", _seq(f.conv0, f.norm0, f.relu0, f.pool0))]
    chunk = {1: 2, 2: 3, 3: 4, 4: 4}
    for b in range(1, 5):
        layers = list(getattr(f, f"denseblock{b}").values())
        for j, ch in enumerate(_chunks(layers, chunk[b])):
            groups.append((f"denseblock{b}.{j * chunk[b]}-{j * chunk[b] + len(ch) - 1}", _dense_chunk(ch)))
        if b < 4:
            groups.append((f"transition{b}", getattr(f, f"transition{b}")))
    groups.append(("head", _seq(f.norm5, lambda x: F.relu(x), lambda x: F.adaptive_avg_pool2d(x, (1, 1)),
                                lambda x: torch.flatten(x, 1), m.classifier)))
    return groups


def _shufflenet(m):
    groups = [("stem", _seq(m.conv1, m.maxpool))]
    for s in (2, 3, 4):
        for j, blk in enumerate(getattr(m, f"stage{s}")):
            groups.append((f"stage{s}.{j}", blk))
    groups.append(("conv5", m.conv5))
    groups.append(("head", _seq(lambda x: x.mean([2, 3]), m.fc)))
    return groups


def _albert(m):
    enc = m.encoder
    cfg = m.config
    n_layers = cfg.num_hidden_layers
    n_groups = cfg.num_hidden_groups

    def embed(ids):
        return enc.embedding_hidden_mapping_in(m.embeddings(input_ids=ids))

    def layer_fn(i):
        grp = enc.albert_layer_groups[int(i / (n_layers / n_groups))]

        def run(h):
            for layer in grp.albert_layers:
                h = _first(layer(h))
            return h
        return run

    groups = [("embeddings", embed)]
    groups += [(f"layer{i}", layer_fn(i)) for i in range(n_layers)]
    groups.append(("pooler", lambda h: m.pooler_activation(m.pooler(h[:, 0]))))
    return groups


class GroupedModel:
    """name, batch, groups [(name, fn)], example input, and the whole model for a correctness check."""

    def __init__(self, name, batch, groups, example, whole):
        self.name, self.batch, self.groups, self.example, self.whole = name, batch, groups, example, whole

    def run_groups(self, x):
        for _, fn in self.groups:
            x = fn(x)
        return x


def build(name, batch, device="cuda", seed=0):
    """The model with random weights in fp16 on `device`, split into groups."""
    if name not in PAPER_MODELS:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(PAPER_MODELS)})")
    torch.manual_seed(seed)
    if name == "albert":
        from transformers import AlbertConfig, AlbertModel
        with torch.device(device):
            model = AlbertModel(AlbertConfig())
        model = model.half().eval()
        example = torch.randint(0, model.config.vocab_size, (batch, SEQ_LEN), device=device)
        groups = _albert(model)

        def whole(ids):
            return model(input_ids=ids).pooler_output
        return GroupedModel(name, batch, groups, example, whole)
    import torchvision
    with torch.device(device):
        model = torchvision.models.get_model(name, weights=None)
    model = model.half().eval()
    example = torch.randn(batch, 3, 224, 224, device=device, dtype=torch.float16)
    if name in ("alexnet", "vgg19"):
        groups = _alexnet_vgg(model)
    elif name == "resnet152":
        groups = _resnet(model, pair_layer3=True)
    elif name == "resnext101_32x8d":
        groups = _resnet(model, pair_layer3=False)
    elif name == "densenet201":
        groups = _densenet(model)
    elif name == "shufflenet_v2_x1_0":
        groups = _shufflenet(model)
    else:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(PAPER_MODELS)})")
    return GroupedModel(name, batch, groups, example, model)


def check(gm):
    """Grouped forward against the whole model (same stream, eager): max abs difference, scale."""
    with torch.inference_mode():
        ref = gm.whole(gm.example).float()
        got = gm.run_groups(gm.example).float()
    if ref.shape != got.shape:
        return {"ok": False, "why": f"shape {tuple(got.shape)} != {tuple(ref.shape)}"}
    diff = (ref - got).abs().max().item()
    scale = ref.abs().max().item()
    ok = diff <= 2e-2 * max(scale, 1e-3) + 1e-3
    return {"ok": bool(ok), "max_abs_diff": diff, "ref_max_abs": scale}
