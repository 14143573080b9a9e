"""Writes and reads 16-bit files with other programs (tifffile, astropy, numpy), for rawbright's tests.

  python3 other-programs.py make DIR      writes the files and prints, as JSON, each file's pixel
                                          extents as the writing library reports them
  python3 other-programs.py check DIR D   reads every file back with the same library and checks its
                                          samples equal the originals (DIR/orig-NAME) brightened by D,
                                          saturating, alpha left alone; prints JSON {name: true|reason}
"""
import json
import os
import sys

import numpy as np
import tifffile
from astropy.io import fits

rng = np.random.default_rng(7)


def edges(shape, dtype):
    """Random samples with the type's extreme values mixed in."""
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    flat = a.reshape(-1)
    flat[: min(8, flat.size)] = [info.min, info.max, info.min + 1, info.max - 1, 0, 1, 1000, info.max - 999][: min(8, flat.size)]
    return a


TIFFS = {
    # name: (array, tifffile.imwrite keyword arguments, alpha sample index or None)
    'strips-rgb.tif': (lambda: edges((61, 47, 3), np.uint16), dict(photometric='rgb', rowsperstrip=5), None),
    'strips-grey-be.tif': (lambda: edges((40, 33), np.uint16), dict(byteorder='>', rowsperstrip=3), None),
    'tiles-rgba.tif': (lambda: edges((50, 70, 4), np.uint16), dict(photometric='rgb', tile=(16, 32), extrasamples=['unassalpha']), 3),
    'planar-rgba.tif': (lambda: edges((4, 30, 20), np.uint16), dict(photometric='rgb', planarconfig='separate', extrasamples=['assocalpha']), 3),
    'int16-bigtiff.tif': (lambda: edges((3, 25, 30), np.int16), dict(bigtiff=True), None),
    'bigtiff-be-grey-alpha.tif': (lambda: edges((20, 20, 2), np.uint16), dict(bigtiff=True, byteorder='>', photometric='minisblack', extrasamples=['unassalpha']), 1),
}


def make(folder):
    out = {}
    for name, (data, kwargs, alpha) in TIFFS.items():
        array = data()
        tifffile.imwrite(os.path.join(folder, name), array, **kwargs)
        with tifffile.TiffFile(os.path.join(folder, name)) as tif:
            extents = [[o, n] for page in tif.pages for o, n in zip(page.dataoffsets, page.databytecounts)]
            out[name] = {'extents': extents, 'order': tif.byteorder, 'kind': 'tiff'}
    # FITS: an unsigned primary image (BZERO 32768), a float extension, a signed image extension.
    primary = fits.PrimaryHDU(edges((30, 41), np.uint16))
    floats = fits.ImageHDU(rng.random((5, 5)).astype(np.float32))
    signed = fits.ImageHDU(edges((7, 9, 3), np.int16))
    fits.HDUList([primary, floats, signed]).writeto(os.path.join(folder, 'mixed.fits'))
    with fits.open(os.path.join(folder, 'mixed.fits')) as hdus:
        extents = [[h._data_offset, int(np.prod(h.data.shape)) * 2] for h in hdus if h.header['BITPIX'] == 16]
    out['mixed.fits'] = {'extents': extents, 'order': '>', 'kind': 'fits'}
    print(json.dumps(out))


def read(path):
    if path.endswith('.fits'):
        with fits.open(path) as hdus:
            return [np.array(h.data) for h in hdus if h.data is not None and h.header['BITPIX'] == 16]
    with tifffile.TiffFile(path) as tif:
        return [page.asarray() for page in tif.pages]


def check(folder, delta):
    result = {}
    for name in list(TIFFS) + ['mixed.fits']:
        alpha = TIFFS[name][2] if name in TIFFS else None
        kwargs = TIFFS[name][1] if name in TIFFS else {}
        before = read(os.path.join(folder, 'orig-' + name))
        after = read(os.path.join(folder, name))
        ok = True
        for b, a in zip(before, after):
            info = np.iinfo(b.dtype)
            expected = np.clip(b.astype(np.int64) + delta, info.min, info.max).astype(b.dtype)
            if alpha is not None:
                axis = 0 if kwargs.get('planarconfig') == 'separate' else -1
                np.take(expected, [alpha], axis=axis)  # shape check
                index = [slice(None)] * b.ndim
                index[axis] = alpha
                expected[tuple(index)] = b[tuple(index)]
            if a.dtype != b.dtype or not np.array_equal(a, expected):
                ok = f'samples differ ({int(np.sum(a != expected))} of {a.size})'
        result[name] = ok
    print(json.dumps(result))


if __name__ == '__main__':
    if sys.argv[1] == 'make':
        make(sys.argv[2])
    else:
        check(sys.argv[2], int(sys.argv[3]))
