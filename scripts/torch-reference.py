#!/usr/bin/python3
# PyTorch reference for `resnet train --data DIR`: the paper's CIFAR nets (ResNet with option-A shortcuts,
# or the plain twin) trained on an ImageFolder with the same recipe, to measure our engine against.
# Needs Debian's python3-torch and python3-torchvision; not used by `npm test`.
#
#   /usr/bin/python3 scripts/torch-reference.py DIR --model resnet20 [--epochs 15] [--batch 64] [--lr 0.1]
#       [--size 32] [--threads 2] [--warmup 0] [--jitter 0.1] [--seed 1] [--schedule steps|cosine] [--wd 1e-4]
#       [--zero-gamma on|off]
#
# `resnet train --data DIR`'s folder recipe is --epochs 15 --batch 64 --lr 0.1 --schedule cosine --warmup 1
# --wd 5e-4 --jitter 0.1 --zero-gamma off. The weights start as ours do: He normal over each conv's fan-in,
# the FC layer normal with PyTorch's default variance 1 / (3 fan_in) and a zero bias, batch norm gamma 1 (0
# ending each residual branch with --zero-gamma on).
#
# DIR holds train/<class>/ and val/<class>/. Prints one line per epoch (train loss, train and validation
# error, seconds) and a last JSON line with the final validation accuracy and the total wall time.
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.transforms as T
from torchvision.datasets import ImageFolder


class Block(nn.Module):
    def __init__(self, cin, cout, stride, residual, zero_gamma):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if residual and zero_gamma:
            nn.init.zeros_(self.bn2.weight)
        self.residual, self.stride, self.pad = residual, stride, cout - cin

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        if self.residual:
            # Option A: subsample, then zero channels appended.
            s = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
            if self.pad:
                s = F.pad(s, (0, 0, 0, 0, 0, self.pad))
            y = y + s
        return F.relu(y)


class CifarNet(nn.Module):
    def __init__(self, depth, residual, classes, zero_gamma, channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        blocks, cin = [], 16
        for i, w in enumerate([16, 32, 64]):
            for j in range(n):
                blocks.append(Block(cin, w, 2 if i > 0 and j == 0 else 1, residual, zero_gamma))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='relu')
        nn.init.normal_(self.fc.weight, std=(3 * 64) ** -0.5)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('dir')
    p.add_argument('--model', default='resnet20')
    p.add_argument('--epochs', type=int, default=15)
    p.add_argument('--batch', type=int, default=64)
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--size', type=int, default=32)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--warmup', type=int, default=0, help='epochs of linear learning-rate warm-up')
    p.add_argument('--jitter', type=float, default=0.1, help='brightness/contrast jitter (0: none)')
    p.add_argument('--seed', type=int, default=1)
    p.add_argument('--schedule', choices=['steps', 'cosine'], default='steps',
                   help="steps: /10 at 50%% and 75%%; cosine: to 0 after the warm-up")
    p.add_argument('--wd', type=float, default=1e-4, help='weight decay')
    p.add_argument('--zero-gamma', choices=['on', 'off'], default='off',
                   help="on: each residual branch's last batch norm starts at gamma 0")
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(a.threads)
    residual = a.model.startswith('resnet')
    depth = int(a.model.removeprefix('resnet').removeprefix('plain'))

    plain = T.Compose([T.Resize(a.size), T.CenterCrop(a.size), T.ToTensor()])
    stats = ImageFolder(f'{a.dir}/train', plain)
    xs = torch.stack([x for x, _ in stats])
    mean, std = xs.mean((0, 2, 3)).tolist(), xs.std((0, 2, 3)).tolist()
    aug = [T.Resize(a.size), T.CenterCrop(a.size), T.RandomCrop(a.size, padding=4), T.RandomHorizontalFlip()]
    if a.jitter > 0:
        aug.append(T.ColorJitter(brightness=a.jitter, contrast=a.jitter))
    train = ImageFolder(f'{a.dir}/train', T.Compose(aug + [T.ToTensor(), T.Normalize(mean, std)]))
    val = ImageFolder(f'{a.dir}/val', T.Compose([T.Resize(a.size), T.CenterCrop(a.size), T.ToTensor(), T.Normalize(mean, std)]))
    tl = torch.utils.data.DataLoader(train, batch_size=a.batch, shuffle=True, num_workers=0, drop_last=True)
    vl = torch.utils.data.DataLoader(val, batch_size=256)

    net = CifarNet(depth, residual, len(train.classes), a.zero_gamma == 'on')
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, weight_decay=a.wd)
    steps = a.epochs * len(tl)
    # The paper's steps: /10 at 50% and 75% of training, after an optional linear warm-up.
    warm = a.warmup * len(tl)

    def factor(s):
        if s < warm:
            return (s + 1) / warm
        if a.schedule == 'cosine':
            return 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, steps - warm))))
        return 0.01 if s >= 0.75 * steps else 0.1 if s >= 0.5 * steps else 1.0

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    t0 = time.time()
    for epoch in range(a.epochs):
        net.train()
        te = time.time()
        loss_sum = wrong = seen = 0
        for x, y in tl:
            out = net(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(y)
            wrong += (out.argmax(1) != y).sum().item()
            seen += len(y)
        net.eval()
        vw = vn = 0
        with torch.no_grad():
            for x, y in vl:
                vw += (net(x).argmax(1) != y).sum().item()
                vn += len(y)
        print(f'epoch {epoch + 1}/{a.epochs}: loss {loss_sum / seen:.4f}, train error {100 * wrong / seen:.2f}%, '
              f'val error {100 * vw / vn:.2f}%, {time.time() - te:.1f}s', flush=True)
    print(json.dumps({'model': a.model, 'valAccuracy': 1 - vw / vn, 'seconds': round(time.time() - t0, 1),
                      'epochs': a.epochs, 'batch': a.batch, 'lr': a.lr, 'schedule': a.schedule, 'wd': a.wd, 'zeroGamma': a.zero_gamma,
                      'torch': torch.__version__}))


if __name__ == '__main__':
    main()
