"""Writes data/micrographs/: six small MRC2014 micrographs (mode 1, int16, 256x256, 1.06 Å/px) for the
streaming example. Written with NumPy alone, independently of emflow's own MRC code."""
import pathlib
import numpy as np

OUT = pathlib.Path(__file__).parent / "micrographs"
N, PIXEL = 256, 1.06


def header(nx, ny, nz, mode, data):
    h = np.zeros(256, dtype="<i4")
    h[0:3] = (nx, ny, nz)
    h[3] = mode
    h[7:10] = (nx, ny, nz)  # mx, my, mz
    cell = np.array([nx * PIXEL, ny * PIXEL, nz * PIXEL], dtype="<f4")
    h[10:13] = cell.view("<i4")
    h[13:16] = np.array([90, 90, 90], dtype="<f4").view("<i4")
    h[16:19] = (1, 2, 3)  # mapc, mapr, maps
    stats = np.array([data.min(), data.max(), data.mean()], dtype="<f4")
    h[19:22] = stats.view("<i4")
    h[22] = 0  # ispg: image stack / micrograph
    h[27] = 20140  # nversion
    raw = bytearray(h.tobytes())
    raw[104:108] = b"MRCO"  # exttyp
    raw[208:212] = b"MAP "
    raw[212:216] = bytes([0x44, 0x44, 0, 0])  # little-endian machine stamp
    raw[216:220] = np.array([data.std()], dtype="<f4").tobytes()
    raw[220:224] = np.array([1], dtype="<i4").tobytes()  # nlabl
    raw[224:304] = b"emflow example micrograph (synthetic)".ljust(80)
    return bytes(raw)


def micrograph(index, rng):
    y, x = np.mgrid[0:N, 0:N]
    image = 800 + 40 * np.sin(2 * np.pi * (x + 3 * index) / 37.0) * np.cos(2 * np.pi * y / 53.0)
    for _ in range(25):
        cy, cx = rng.uniform(0, N, 2)
        image -= 150 * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * rng.uniform(3, 8) ** 2))
    image += rng.normal(0, 20, (N, N))  # shot-noise-like
    return np.round(image).astype("<i2")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(2026)
    for i in range(6):
        data = micrograph(i, rng)
        (OUT / f"mic-{i:03d}.mrc").write_bytes(header(N, N, 1, 1, data) + data.tobytes())
