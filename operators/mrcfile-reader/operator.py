"""mrcfile-reader: MRC2014 files read with the `mrcfile` library (CCP-EM), opened strictly (permissive=False) and
checked with `mrcfile.validate`, as a source of frames.

mrcfile gives the data in file order (sections, rows, columns); the frames are in [z, y, x] order whatever the
file's axis order (MAPC, MAPR, MAPS), as the TypeScript mrc-reader gives them, and carry the same metadata. mrcfile
is imported on the first run, not at import: `--describe` needs numpy only.
"""
import io
import logging
import os
import re
import stat
import sys
import warnings

import numpy as np

from emflow_sdk import DTYPES, operator

log = logging.getLogger("mrcfile-reader")


@operator(
    name="mrcfile-reader",
    version="1.0.0",
    description=(
        "Reads an MRC2014 file (map, tomogram, micrograph, stack) with the mrcfile library: opened with permissive=False (a corrupt or "
        "truncated file is an error naming it), checked with mrcfile.validate (MRC2014 conformance: map ID, machine stamp, mode, "
        "NVERSION, EXTTYP, sizes, header statistics; `validation` says what a finding does), memory-mapped, and emitted in its own dtype "
        "in [z, y, x] order whatever the file's axis order (MAPC, MAPR, MAPS). A port has one type, so there are two outputs and only "
        "the one `sections` chooses gets frames. Metadata as the TypeScript mrc-reader: pixelSize (Å, cella/mx…, same axis order as the "
        "frame), units, origin ([x, y, z] Å), spaceGroup, mode, source, labels, extendedHeaderBytes, exttyp, section; plus validation "
        "(the validator's findings, [] for a valid file)."
    ),
    outputs={
        "section": {"type": "image2d", "description": "sections = \"frames\": one [y, x] frame per section (micrograph, tilt, slice), in order"},
        "volume": {"type": "volume3d", "description": "sections = \"volume\": the whole map as one [z, y, x] frame (a micrograph is a 1-section volume); "
                                                      "each volume of a volume stack (ISPG ≥ 401) its own frame"},
    },
    params={
        "path": {"type": "string", "path": "read", "description": "MRC file to read (.mrc, .map, .mrcs, .st, .rec, …)"},
        "sections": {"type": "string", "enum": ["frames", "volume"], "default": "frames",
                     "description": "\"frames\": emit each section on `section`; \"volume\": emit the whole map once on `volume`"},
        "validation": {"type": "string", "enum": ["strict", "warn", "off"], "default": "strict",
                       "description": "what mrcfile.validate's findings do: \"strict\": a file that is not valid MRC2014 is an error quoting them "
                                      "(many EMDB maps declare NVERSION 0 and fail); \"warn\": logged and put in the metadata, the file is read; "
                                      "\"off\": not checked (validate reads the whole file once). A file mrcfile cannot open strictly fails in every case"},
    },
    display={"category": "source"},
)
def mrcfile_reader(inputs, params, ctx):
    try:
        import mrcfile
    except ImportError as error:
        raise ImportError(f"mrcfile-reader needs mrcfile (Debian: python3-mrcfile) in {sys.executable}: {error}; "
                          "name another interpreter with EMFLOW_PYTHON or [tool.emflow] python") from None

    path, sections, validation = params["path"], params["sections"], params["validation"]
    # opened and checked before the first frame, so that a bad file fails the call before anything is emitted
    check_regular_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mrcfile warns and raises about the same problem: the exception is reported
        try:
            mrc = mrcfile.mmap(path, mode="r", permissive=False)
        except ValueError as error:
            raise ValueError(f"mrcfile-reader: {path}: not a readable MRC file: {open_failure(mrcfile, path, error)}") from None
    try:
        findings = validate(mrcfile, path) if validation != "off" else []
        if findings and validation == "strict":
            raise ValueError(f"mrcfile-reader: {path} is not a valid MRC2014 file (mrcfile.validate): {'; '.join(findings)} "
                             "(set validation to \"warn\" to read it anyway)")
        for finding in findings:
            log.warning("%s: %s", path, finding)
        data, meta = zyx(mrc, path)
    except BaseException:
        mrc.close()
        raise
    meta["validation"] = findings
    return frames(mrc, data, meta, voxel_size(mrc.header), sections, ctx)


def frames(mrc, data, meta, voxel, sections, ctx):
    """The frames, each copied from the memory-mapped file into its output slot; the file is closed at the end."""
    vx, vy, vz = voxel
    dtype = data.dtype.newbyteorder("=")  # a big-endian file's elements become native ones in the copy
    with mrc:
        volumes = data if data.ndim == 4 else data[np.newaxis]
        for v, volume in enumerate(volumes):
            extra = {"volume": v} if data.ndim == 4 else {}
            if sections == "volume":
                out = ctx.alloc("volume", dtype, volume.shape, {**meta, **extra, "pixelSize": [vz, vy, vx]})
                out[...] = volume
                yield {"volume": out}
                continue
            for z in range(volume.shape[0]):
                out = ctx.alloc("section", dtype, volume.shape[1:], {**meta, **extra, "pixelSize": [vy, vx], "section": z})
                out[...] = volume[z]
                yield {"section": out}


def check_regular_file(path):
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"mrcfile-reader: path: {path}: no such file or folder") from None
    except PermissionError:
        raise PermissionError(f"mrcfile-reader: path: {path}: permission denied") from None
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(f"mrcfile-reader: path: {path} is a folder, expected an MRC file")
    if not stat.S_ISREG(mode):
        raise ValueError(f"mrcfile-reader: path: {path} is not a regular file")


def open_failure(mrcfile, path, error):
    """Why mrcfile cannot open the file, in mrcfile's words (memory mapping a short file only says the mmap is too long)."""
    if "mmap length" not in str(error):
        return str(error)
    try:
        with mrcfile.open(path, mode="r", permissive=False):
            pass
    except ValueError as reason:
        return f"{reason} (truncated?)"
    return str(error)


def validate(mrcfile, path):
    """mrcfile.validate's findings, one string each; [] for a valid file."""
    report = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        valid = mrcfile.validate(path, print_file=report)
    if valid:
        return []
    lines = [line.strip() for line in report.getvalue().splitlines()]
    return [line for line in lines if line and not line.startswith("Checking if ")]


def zyx(mrc, path):
    """The data as [.., z, y, x] (a view of the mapping) and the header's metadata."""
    header = mrc.header
    axes = [int(header.mapc), int(header.mapr), int(header.maps)]
    if sorted(axes) != [1, 2, 3]:
        raise ValueError(f"mrcfile-reader: {path}: axis order MAPC, MAPR, MAPS = {', '.join(map(str, axes))} is not a permutation of 1, 2, 3")
    data = mrc.data
    if data is None:
        raise ValueError(f"mrcfile-reader: {path}: the file has no data block")
    dtype = data.dtype.newbyteorder("=")
    if dtype.name not in DTYPES:
        raise ValueError(f"mrcfile-reader: {path}: MRC mode {int(header.mode)} is read as {dtype.name}, which emflow frames cannot carry ({', '.join(DTYPES)})")
    lead = data.ndim - 3
    if lead < 0:  # a single image: one section
        data, lead = data[np.newaxis], 0
    # file axes (sections, rows, columns) run along spatial axes MAPS, MAPR, MAPC (1 = x, 2 = y, 3 = z)
    file_axis_of = {axes[2]: 0, axes[1]: 1, axes[0]: 2}
    data = data.transpose(*range(lead), *(lead + file_axis_of[a] for a in (3, 2, 1)))
    meta = {
        "units": "Å",
        "origin": [float(header.origin.x), float(header.origin.y), float(header.origin.z)],
        "spaceGroup": int(header.ispg),
        "mode": int(header.mode),
        "source": path,
        "labels": [re.sub(r"[\s\0]+$", "", bytes(label).decode("latin1")) for label in header.label[:max(0, min(10, int(header.nlabl)))]],
        "extendedHeaderBytes": int(header.nsymbt),
        "exttyp": bytes(header.exttyp).decode("latin1").rstrip("\0"),
    }
    return data, meta


def voxel_size(header):
    """Å per voxel along x, y, z: cella / (mx, my, mz) in float64 (0 where the sampling is 0), as the TypeScript reader."""
    cella = [float(header.cella.x), float(header.cella.y), float(header.cella.z)]
    sampling = [int(header.mx), int(header.my), int(header.mz)]
    return [length / n if n > 0 else 0.0 for length, n in zip(cella, sampling)]
