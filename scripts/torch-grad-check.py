#!/usr/bin/python3
# Compares the gradients scripts/grad-dump.ts wrote with PyTorch's on the same net, weights and batch: per
# conv and FC weight, the relative L2 distance from PyTorch float64 of PyTorch float32 and of each of our
# backends, and the cosine and norm ratio of our default (wasm) gradient to float64's. Needs Debian's
# python3-torch; not used by `npm test`.
#
#   /usr/bin/python3 scripts/torch-grad-check.py DUMP
import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

BACKENDS = ['js64', 'js32', 'wasm', 'wasm_nowino']


def load_reference():
    spec = importlib.util.spec_from_file_location('ref', Path(__file__).with_name('torch-reference.py'))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    return ref


def main():
    dump = Path(sys.argv[1])
    m = json.loads((dump / 'meta.json').read_text())
    depth = int(re.search(r'\d+$', m['model'])[0])
    residual = m['model'].startswith('resnet')
    n = (depth - 2) // 6
    theta = np.fromfile(dump / 'theta.bin', dtype=np.float32)
    x = np.fromfile(dump / 'x.bin', dtype=np.float32).reshape(m['batch'], 3, 32, 32)
    y = torch.tensor(m['labels'])
    ref = load_reference()

    def torch_name(name):
        # Ours: layer<stage>.<block>.X; torch-reference.py: one flat list of blocks.
        s = re.match(r'layer(\d+)\.(\d+)\.(.*)', name)
        return f'blocks.{(int(s[1]) - 1) * n + int(s[2])}.{s[3]}' if s else name

    def gradients(dtype):
        net = ref.CifarNet(depth, residual, m['classes'], False).to(dtype)
        state = net.state_dict()
        off = 0
        for p in m['params']:
            count = int(np.prod(p['dims']))
            state[torch_name(p['name'])].copy_(torch.from_numpy(theta[off:off + count].reshape(p['dims'])).to(dtype))
            off += count
        assert off == theta.size, 'parameter count differs from the dump'
        net.train()
        loss = F.cross_entropy(net(torch.from_numpy(x).to(dtype)), y)
        loss.backward()
        print(f'PyTorch {dtype}: loss {loss.item():.9f}')
        named = dict(net.named_parameters())
        return [named[torch_name(p['name'])].grad.numpy().ravel().astype(np.float64) for p in m['params']]

    g64 = gradients(torch.float64)
    g32 = gradients(torch.float32)
    ours = {b: np.fromfile(dump / f'g_{b}.bin', dtype=np.float32).astype(np.float64) for b in BACKENDS}
    print(f'\nrelative L2 distance from PyTorch float64 ({m["model"]}, batch {m["batch"]})')
    print(f'{"tensor":26s} {"torch f32":>10s} ' + ' '.join(f'{b:>11s}' for b in BACKENDS) + '  cos(wasm)  |wasm|/|f64|')
    off = 0
    for p, exact, t32 in zip(m['params'], g64, g32):
        count = exact.size
        mine = {b: g[off:off + count] for b, g in ours.items()}
        off += count
        if p['kind'] not in ('conv', 'fc-weight'):
            continue
        norm = np.linalg.norm(exact) + 1e-30
        dist = lambda g: np.linalg.norm(g - exact) / norm
        w = mine['wasm']
        cos = w @ exact / (np.linalg.norm(w) * norm)
        print(f'{p["name"]:26s} {dist(t32):10.2e} ' + ' '.join(f'{dist(mine[b]):11.2e}' for b in BACKENDS) +
              f'  {cos:9.6f}  {np.linalg.norm(w) / norm:11.6f}')


if __name__ == '__main__':
    main()
