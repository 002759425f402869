#!/usr/bin/python3
# PyTorch's training throughput for the nets `resnet bench --train` times: full steps (forward, backward,
# SGD with momentum and weight decay) of the paper's CIFAR nets (scripts/torch-reference.py's CifarNet) on
# random images, so that our engine can be compared with it on the same machine in the same minutes.
# Needs Debian's python3-torch; not used by `npm test`.
#
#   /usr/bin/python3 scripts/torch-train-bench.py [--models resnet20,resnet56] [--shape 1x28x28] [--batch 128]
#       [--threads 2] [--runs 9] [--warmup 2]
#
# Prints one line per model: median ms of a step, min-max, images/s.
import argparse
import importlib.util
import pathlib
import time

import torch
import torch.nn.functional as F

spec = importlib.util.spec_from_file_location('torch_reference', pathlib.Path(__file__).with_name('torch-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--models', default='resnet20,resnet56')
    p.add_argument('--shape', default='1x28x28')
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--runs', type=int, default=9)
    p.add_argument('--warmup', type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    c, h, w = (int(v) for v in a.shape.split('x'))
    for model in a.models.split(','):
        residual = model.startswith('resnet')
        net = ref.CifarNet(int(model.removeprefix('resnet').removeprefix('plain')), residual, 10, False, channels=c)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        x = torch.randn(a.batch, c, h, w)
        y = torch.randint(0, 10, (a.batch,))
        times = []
        for i in range(a.warmup + a.runs):
            t0 = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(net(x), y).backward()
            opt.step()
            if i >= a.warmup:
                times.append((time.perf_counter() - t0) * 1000)
        s = sorted(times)
        med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
        print(f'{model} {a.shape} batch {a.batch} threads {a.threads}: median {med:.1f} ms '
              f'({s[0]:.1f}-{s[-1]:.1f}), {a.batch * 1000 / med:.1f} images/s')


if __name__ == '__main__':
    main()
