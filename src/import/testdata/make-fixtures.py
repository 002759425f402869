#!/usr/bin/env python3
"""Makes the checkpoint fixtures of src/import/*.test.ts with PyTorch itself.

Tiny ResNets with torchvision's exact key layout (torchvision's own BasicBlock and Bottleneck, in a
skeleton that is torchvision's ResNet with a stem/base width of 2-4 instead of 64), random but fixed
weights with non-trivial BatchNorm statistics, saved in every container and dtype the importer reads,
plus broken and hostile files; and PyTorch's logits for one fixed 1x3x32x32 input.

    python3 src/import/testdata/make-fixtures.py            # rewrites the fixtures next to this script
    python3 src/import/testdata/make-fixtures.py --full DIR # also full-size torchvision resnet18/resnet50
                                                            # state dicts (random weights) and their logits
                                                            # at 224x224, for measuring (not committed)

Needs PyTorch >= 1.13 and torchvision (Debian: python3-torch python3-torchvision). No safetensors
package: .safetensors files are written by hand here, as the format specifies. Reruns write the same
bytes except for the legacy-format files, whose storage keys are memory addresses (torch's choice).
"""
import argparse
import collections
import copy
import gzip
import io
import json
import os
import pickle
import struct
import sys
import zipfile

import numpy as np
import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck

HERE = os.path.dirname(os.path.abspath(__file__))
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entry dates, so reruns write the same bytes
MANIFEST = {}


class TinyResNet(nn.Module):
    """torchvision.models.resnet.ResNet with `base` instead of 64 as stem and stage-1 width."""

    def __init__(self, block, layers, base=4, width_per_group=64, num_classes=10):
        super().__init__()
        self.inplanes = base
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, base, layers[0])
        self.layer2 = self._make_layer(block, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base * 8 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        # As torchvision's: a projection where the shape changes, stride on the first block.
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample, base_width=self.base_width)]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.inplanes, planes, base_width=self.base_width))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def check_layout_matches_torchvision():
    """With base 64 the skeleton's keys and shapes are torchvision's own, for every block kind and width."""
    for ours, theirs in [
        (TinyResNet(BasicBlock, [2, 2, 2, 2], base=64, num_classes=1000), torchvision.models.resnet18()),
        (TinyResNet(Bottleneck, [3, 4, 6, 3], base=64, num_classes=1000), torchvision.models.resnet50()),
        (TinyResNet(Bottleneck, [3, 4, 6, 3], base=64, width_per_group=128, num_classes=1000), torchvision.models.wide_resnet50_2()),
    ]:
        a = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
        b = {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
        assert a == b, 'skeleton differs from torchvision'


def randomize(model, seed):
    """He-normal convs, non-trivial BN affine and running statistics, a small random classifier."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                n = m.num_features
                m.weight.copy_(0.5 + torch.rand(n, generator=g))
                m.bias.copy_(0.1 * torch.randn(n, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(n, generator=g))
                m.running_var.copy_(0.5 + torch.rand(n, generator=g))
                m.num_batches_tracked.fill_(1234)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * (1.0 / m.in_features) ** 0.5)
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
    return model.eval()


def logits_of(model, state_dict, x):
    """PyTorch's logits for x with these weights (half/bfloat16 weights are widened, as the importer does)."""
    m = copy.deepcopy(model)
    m.load_state_dict({k: (v.float() if v.is_floating_point() else v) for k, v in state_dict.items()})
    with torch.no_grad():
        return m.eval()(x).numpy().astype(np.float32)


def cast(sd, dtype):
    return collections.OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in sd.items())


def path(name):
    return os.path.join(HERE, name)


def save_safetensors(sd, name, dtype):
    """The safetensors layout by hand: u64 LE header length, JSON header (padded to 8), LE data."""
    code = {torch.float32: 'F32', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64'}
    header = {'__metadata__': {'format': 'pt'}}
    blobs, offset = [], 0
    for k in sorted(sd):
        t = sd[k].to(dtype) if sd[k].is_floating_point() else sd[k]
        t = t.contiguous()
        arr = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy()  # numpy has no bfloat16
        raw = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
        header[k] = {'dtype': code[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    write_safetensors(name, header, b''.join(blobs))


def write_safetensors(name, header, data):
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path(name), 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + data)


def describe(model_kind, base, layers, width_per_group, classes):
    block = 'basic' if model_kind is BasicBlock else 'bottleneck'
    widths = [base, base * 2, base * 4, base * 8]
    inner = widths if block == 'basic' else [w * width_per_group // 64 for w in widths]
    return {'block': block, 'stages': layers, 'stem': base, 'widths': widths, 'innerWidths': inner, 'classes': classes}


def good(name, logits, arch, fmt, dtypes, entry='', data_parallel=False):
    MANIFEST[name] = {'logits': logits, 'arch': arch, 'format': fmt, 'dtypes': dtypes, 'entry': entry, 'dataParallel': data_parallel}


def shared_storage_views(sd):
    """Every float tensor a view into ONE storage at its own offset; fc.weight and conv1.weight non-contiguous."""
    floats = [k for k, v in sd.items() if v.is_floating_point()]
    flat = torch.cat([(sd[k].t() if k == 'fc.weight' else sd[k]).flatten() for k in floats])
    out, at = collections.OrderedDict(), 0
    for k, v in sd.items():
        if not v.is_floating_point():
            out[k] = v
            continue
        n = v.numel()
        if k == 'fc.weight':
            # Stored transposed: a [in, out] view of the flat storage at an offset, then .t(): strides (1, out).
            out[k] = flat[at:at + n].view(v.shape[1], v.shape[0]).t()
            assert not out[k].is_contiguous()
        else:
            out[k] = flat[at:at + n].view(v.shape)
        at += n
    # conv1.weight channels-last (its own storage): strides (C*7*7... permuted), not contiguous.
    out['conv1.weight'] = sd['conv1.weight'].permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
    assert not out['conv1.weight'].is_contiguous()
    assert out['layer1.0.conv1.weight'].storage_offset() > 0
    for k in floats:
        assert torch.equal(out[k], sd[k]), k
    return out


def rezip(src, dst, add=None, deflate=False, transform=None):
    """Copies a torch.save zip entry by entry: deflated if asked, with extra records, data transformed."""
    with zipfile.ZipFile(path(src)) as zin, zipfile.ZipFile(path(dst), 'w', zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED) as zout:
        prefix = zin.namelist()[0].split('/')[0]
        for info in zin.infolist():
            data = zin.read(info)
            if transform and '/data/' in info.filename:
                data = transform(data)
            zout.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), data, zout.compression)
        for k, v in (add or {}).items():
            zout.writestr(zipfile.ZipInfo(f'{prefix}/{k}', FIXED_TIME), v, zout.compression)


class Evil:
    """Pickles as a call to os.system: a loader that executes what it reads would run `true`."""

    def __reduce__(self):
        return (os.system, ('true',))


class FakeStorage:
    pass


class HugeTensor:
    """Pickles as torch._utils._rebuild_tensor_v2 of a 25000x50000 float64 tensor (10 GB)."""

    def __init__(self, storage):
        self.storage = storage

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, (self.storage, 0, (25000, 50000), (50000, 1), False, collections.OrderedDict()))


def huge_pickle(pid):
    buf = io.BytesIO()
    p = pickle.Pickler(buf, protocol=2)
    p.persistent_id = lambda obj: pid if isinstance(obj, FakeStorage) else None
    p.dump({'conv1.weight': HugeTensor(FakeStorage())})
    return buf.getvalue()


def bad_files(tiny_sd):
    # A torch.save zip cut short.
    torch.save(tiny_sd, path('bad-truncated.pt'))
    with open(path('bad-truncated.pt'), 'rb') as f:
        data = f.read()
    with open(path('bad-truncated.pt'), 'wb') as f:
        f.write(data[: len(data) * 6 // 10])
    # Globals a weights-only load must refuse, in both containers.
    torch.save({'conv1.weight': Evil()}, path('bad-os-system.pt'))
    torch.save({'conv1.weight': Evil()}, path('bad-os-system-legacy.pt'), _use_new_zipfile_serialization=False)
    # 10 GB declared, a few bytes present: zip, legacy, safetensors.
    with zipfile.ZipFile(path('bad-huge.pt'), 'w') as z:
        z.writestr(zipfile.ZipInfo('bad-huge/data.pkl', FIXED_TIME), huge_pickle(('storage', torch.DoubleStorage, '0', 'cpu', 1_250_000_000)))
        z.writestr(zipfile.ZipInfo('bad-huge/data/0', FIXED_TIME), bytes(16))
        z.writestr(zipfile.ZipInfo('bad-huge/version', FIXED_TIME), '3\n')
    with open(path('bad-huge-legacy.pt'), 'wb') as f:
        for header in (0x1950A86A20F9469CFC6C, 1001, {'protocol_version': 1001, 'little_endian': True}):
            pickle.dump(header, f, protocol=2)
        f.write(huge_pickle(('storage', torch.DoubleStorage, '0', 'cpu', 1_250_000_000, None)))
        pickle.dump(['0'], f, protocol=2)
        f.write(struct.pack('<q', 1_250_000_000) + bytes(16))
    write_safetensors('bad-huge.safetensors', {'conv1.weight': {'dtype': 'F32', 'shape': [50000, 50000], 'data_offsets': [0, 10_000_000_000]}}, bytes(16))
    # A parameter missing, a wrong shape, dtypes we do not convert.
    missing = collections.OrderedDict((k, v) for k, v in tiny_sd.items() if k != 'layer2.0.bn1.running_var')
    torch.save(missing, path('bad-missing-key.pt'))
    wrong = collections.OrderedDict(tiny_sd)
    wrong['fc.bias'] = wrong['fc.bias'][:-1].clone()
    torch.save(wrong, path('bad-wrong-shape.pt'))
    complex_sd = collections.OrderedDict(tiny_sd)
    complex_sd['conv1.weight'] = complex_sd['conv1.weight'].to(torch.complex64)
    torch.save(complex_sd, path('bad-complex.pt'))
    header = {'conv1.weight': {'dtype': 'Q4', 'shape': [2], 'data_offsets': [0, 2]}}
    write_safetensors('bad-unknown-dtype.safetensors', header, bytes(2))


def full_size(out_dir):
    """torchvision's resnet18 and resnet50, random weights, as torch.save zips, and their logits at 224."""
    os.makedirs(out_dir, exist_ok=True)
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(5))
    np.save(os.path.join(out_dir, 'input224.npy'), x.numpy())
    for name in ['resnet18', 'resnet50']:
        torch.manual_seed(0)
        m = getattr(torchvision.models, name)().eval()
        torch.save(m.state_dict(), os.path.join(out_dir, f'{name}.pth'))
        with torch.no_grad():
            np.save(os.path.join(out_dir, f'{name}.logits.npy'), m(x).numpy())
        print('wrote', os.path.join(out_dir, f'{name}.pth'))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--full', metavar='DIR', help='also write full-size torchvision checkpoints there')
    args = ap.parse_args()
    check_layout_matches_torchvision()
    torch.manual_seed(0)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    np.save(path('input.npy'), x.numpy())

    # Basic blocks, two in layer1 so block counts are read, every container and dtype.
    basic_arch = describe(BasicBlock, 4, [2, 1, 1, 1], 64, 10)
    basic = randomize(TinyResNet(BasicBlock, [2, 1, 1, 1], base=4), seed=10)
    sd = basic.state_dict()
    np.save(path('basic.logits.npy'), logits_of(basic, sd, x))
    np.save(path('basic-f16.logits.npy'), logits_of(basic, cast(sd, torch.float16), x))
    np.save(path('basic-bf16.logits.npy'), logits_of(basic, cast(sd, torch.bfloat16), x))

    torch.save(sd, path('basic.pt'))
    good('basic.pt', 'basic.logits.npy', basic_arch, 'torch.save zip', ['float32'])
    torch.save(sd, path('basic-legacy.pt'), _use_new_zipfile_serialization=False)
    good('basic-legacy.pt', 'basic.logits.npy', basic_arch, 'torch.save legacy', ['float32'])
    save_safetensors(sd, 'basic.safetensors', torch.float32)
    good('basic.safetensors', 'basic.logits.npy', basic_arch, 'safetensors', ['float32'])
    save_safetensors(sd, 'basic-f16.safetensors', torch.float16)
    good('basic-f16.safetensors', 'basic-f16.logits.npy', basic_arch, 'safetensors', ['float16'])
    save_safetensors(sd, 'basic-bf16.safetensors', torch.bfloat16)
    good('basic-bf16.safetensors', 'basic-bf16.logits.npy', basic_arch, 'safetensors', ['bfloat16'])
    torch.save(cast(sd, torch.float16), path('basic-f16.pt'))
    good('basic-f16.pt', 'basic-f16.logits.npy', basic_arch, 'torch.save zip', ['float16'])
    torch.save(cast(sd, torch.bfloat16), path('basic-bf16.pt'))
    good('basic-bf16.pt', 'basic-bf16.logits.npy', basic_arch, 'torch.save zip', ['bfloat16'])

    # Pickle protocol 4 (FRAME, MEMOIZE, SHORT_BINUNICODE...), deflated entries, an explicit byteorder record.
    torch.save(cast(sd, torch.float16), path('tmp.pt'), pickle_protocol=4)
    rezip('tmp.pt', 'basic-f16-p4-deflate.pt', add={'byteorder': 'little'}, deflate=True)
    good('basic-f16-p4-deflate.pt', 'basic-f16.logits.npy', basic_arch, 'torch.save zip', ['float16'])
    # Big-endian storages, as PyTorch >= 2.1 writes them on big-endian machines (byteorder 'big').
    no_counters = collections.OrderedDict((k, v) for k, v in cast(sd, torch.float16).items() if v.is_floating_point())
    torch.save(no_counters, path('tmp.pt'))
    swap16 = lambda b: np.frombuffer(b, dtype='<u2').byteswap().tobytes()
    rezip('tmp.pt', 'basic-f16-big-endian.pt', add={'byteorder': 'big'}, transform=swap16)
    good('basic-f16-big-endian.pt', 'basic-f16.logits.npy', basic_arch, 'torch.save zip', ['float16'])
    os.remove(path('tmp.pt'))

    # A training checkpoint: DataParallel keys under 'state_dict', optimizer state, a stray tensor.
    trained = copy.deepcopy(basic).train()
    opt = torch.optim.SGD(trained.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    trained(torch.cat([x, x.flip(3)])).sum().backward()  # batch of 2: BN in training mode needs it
    opt.step()
    wrapped = {
        'epoch': 7, 'arch': 'tiny-resnet', 'best_acc1': torch.tensor(12.5),
        'state_dict': collections.OrderedDict(('module.' + k, v) for k, v in cast(sd, torch.float16).items()),
        'optimizer': opt.state_dict(),
    }
    torch.save(wrapped, path('basic-wrapped.pth.tar'))
    good('basic-wrapped.pth.tar', 'basic-f16.logits.npy', basic_arch, 'torch.save zip', ['float16'], entry='state_dict', data_parallel=True)
    model_wrapped = {'model': cast(sd, torch.bfloat16), 'epoch': 3}
    torch.save(model_wrapped, path('basic-model-key-legacy.pt'), _use_new_zipfile_serialization=False)
    good('basic-model-key-legacy.pt', 'basic-bf16.logits.npy', basic_arch, 'torch.save legacy', ['bfloat16'], entry='model')

    # Views into one shared storage at offsets, non-contiguous strides: both containers.
    views = shared_storage_views(sd)
    torch.save(views, path('basic-views.pt'))
    good('basic-views.pt', 'basic.logits.npy', basic_arch, 'torch.save zip', ['float32'])
    torch.save(views, path('basic-views-legacy.pt'), _use_new_zipfile_serialization=False)
    good('basic-views-legacy.pt', 'basic.logits.npy', basic_arch, 'torch.save legacy', ['float32'])

    # Bottleneck blocks (projection on layer1.0, stride on the 3x3), and a wide one (width_per_group 128).
    bottleneck = randomize(TinyResNet(Bottleneck, [2, 1, 1, 1], base=2), seed=20)
    torch.save(bottleneck.state_dict(), path('bottleneck.pt'))
    np.save(path('bottleneck.logits.npy'), logits_of(bottleneck, bottleneck.state_dict(), x))
    good('bottleneck.pt', 'bottleneck.logits.npy', describe(Bottleneck, 2, [2, 1, 1, 1], 64, 10), 'torch.save zip', ['float32'])
    wide = randomize(TinyResNet(Bottleneck, [1, 1, 1, 1], base=2, width_per_group=128, num_classes=5), seed=30)
    save_safetensors(wide.state_dict(), 'wide.safetensors', torch.float16)
    np.save(path('wide.logits.npy'), logits_of(wide, cast(wide.state_dict(), torch.float16), x))
    good('wide.safetensors', 'wide.logits.npy', describe(Bottleneck, 2, [1, 1, 1, 1], 128, 5), 'safetensors', ['float16'])

    # torchvision's own keys and shapes for every ResNet it names (no weights): the importer must read
    # each as that name and the builder must ask for exactly these parameters.
    shapes = {}
    for name in ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152', 'wide_resnet50_2', 'wide_resnet101_2']:
        sd = getattr(torchvision.models, name)().state_dict()
        shapes[name] = [[k, list(v.shape)] for k, v in sd.items()]
    with gzip.GzipFile(path('torchvision-shapes.json.gz'), 'wb', mtime=0) as f:
        f.write(json.dumps(shapes, separators=(',', ':')).encode())

    # Everything good must load in PyTorch itself (safetensors aside: written above by the spec).
    for name, m in MANIFEST.items():
        if name.endswith('.pt') or name.endswith('.tar'):
            if 'big-endian' in name and torch.__version__ < '2.1':
                continue  # older PyTorch ignores the byteorder record
            torch.load(path(name))

    tiny = randomize(TinyResNet(BasicBlock, [1, 1, 1, 1], base=2), seed=40)
    bad_files(cast(tiny.state_dict(), torch.float16))

    with open(path('fixtures.json'), 'w') as f:
        json.dump(MANIFEST, f, indent=1)
        f.write('\n')
    total = sum(os.path.getsize(path(n)) for n in os.listdir(HERE) if n != 'make-fixtures.py')
    print(f'wrote {len(os.listdir(HERE)) - 1} files, {total / 1e6:.2f} MB, with torch {torch.__version__}')
    if args.full:
        full_size(args.full)


if __name__ == '__main__':
    sys.exit(main())
