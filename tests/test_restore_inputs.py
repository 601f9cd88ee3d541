"""`restore` through the Python API over generated inputs: every dtype x shape x value range x PIL mode
either raises a clear ClearerError (also a TypeError/ValueError) or gives an output of the input's shape
and dtype, in its range, equal to the restoration of the canonically converted float image.

The model is a real network (a fixed 3x3 convolution with the attributes `clearer.load` sets), so the
conversion rules of data/pixels.py are what is tested; tests/test_restore_files.py does the same for
files and `clearer restore`."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

import clearer
from clearer.data.images import read_pixels
from clearer.data.pixels import from_pil
from clearer.errors import ClearerError, ClearerTypeError, ClearerValueError

WHITE = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}
FLOATS = (np.float16, np.float32, np.float64)
REFUSED = (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint32, np.uint64, np.complex64)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def model(channels: int) -> torch.nn.Module:
    """A small real network: a seeded 3x3 convolution, with the attributes `clearer.load` sets."""
    net = torch.nn.Conv2d(channels, channels, 3, padding=1)
    with torch.no_grad():
        torch.nn.init.uniform_(net.weight, -0.2, 0.3, generator=torch.Generator().manual_seed(0))
        net.bias.fill_(0.05)
    net.channels, net.multiple = channels, 1
    return net.eval()


GRAY, RGB = model(1), model(3)


def canonical(array: np.ndarray) -> np.ndarray:
    """What an accepted array means: float32 in [0, 1]."""
    return array.astype(np.float32) / np.float32(WHITE.get(array.dtype, 1))


def valid(array: np.ndarray, channels: int) -> bool:
    """The documented acceptance rule, written independently of the code under test."""
    shape_ok = (array.ndim == 2 and channels == 1) or (array.ndim == 3 and array.shape[2] in (channels, channels + 1))
    if not shape_ok or 0 in array.shape or (array.dtype not in WHITE and array.dtype.kind != "f"):
        return False
    if array.dtype.kind == "f":
        values = array.astype(np.float32)
        return bool(np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all())
    return True


dtypes = st.sampled_from([np.uint8, np.uint16, *FLOATS, *REFUSED]).map(np.dtype)
shapes = st.one_of(
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=0, max_side=9),
    st.tuples(st.integers(0, 9), st.integers(0, 9), st.integers(1, 5)),
)


@st.composite
def arrays(draw):
    dtype, shape = draw(dtypes), draw(shapes)
    if dtype.kind == "f":  # mostly [0, 1], sometimes out of range, NaN or inf
        elements = st.one_of(
            st.floats(0, 1, width=16),
            st.sampled_from([-0.5, 1.5, 255.0, np.nan, np.inf, -np.inf]),
        )
        return draw(hnp.arrays(dtype, shape, elements=elements))
    return draw(hnp.arrays(dtype, shape))


@SETTINGS
@given(array=arrays(), channels=st.sampled_from([1, 3]))
def test_arrays_are_read_by_their_true_range_or_refused(array, channels):
    net = GRAY if channels == 1 else RGB
    try:
        out = net_restore(net, array)
    except ClearerError as error:
        assert isinstance(error, (ClearerTypeError, ClearerValueError)) and isinstance(error, (TypeError, ValueError))
        assert not valid(array, channels), f"refused a valid input: {error}"
        return
    assert valid(array, channels), f"accepted an invalid {array.dtype} {array.shape} array"
    assert out.shape == array.shape and out.dtype == array.dtype
    same = net_restore(net, canonical(array))  # the float image it means
    if array.dtype in WHITE:
        expected = np.round(np.clip(same, 0, 1) * WHITE[array.dtype]).astype(array.dtype)
        assert np.array_equal(out, expected)
    else:
        assert np.array_equal(out, same.astype(array.dtype)) and (out >= 0).all() and (out <= 1).all()
    if array.ndim == 3 and array.shape[2] == channels + 1:  # alpha comes back unchanged
        assert np.array_equal(out[:, :, -1], array[:, :, -1])


def net_restore(net: torch.nn.Module, image):
    return clearer.restore(net, image, tile=None)


@SETTINGS
@given(
    dtype=st.sampled_from([torch.uint8, torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32]),
    shape=st.sampled_from([(1, 5, 7), (2, 1, 4, 4), (1, 2, 6, 3), (3, 3, 3), (0, 4, 4), (1, 0, 3)]),
    seed=st.integers(0, 2**16),
)
def test_tensors_follow_the_same_rules(dtype, shape, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g)
    x = (x * 255).to(dtype) if dtype in (torch.uint8, torch.int32) else x.to(dtype)
    try:
        out = net_restore(GRAY, x)
    except ClearerError:
        assert dtype == torch.int32 or 0 in shape or shape[-3] not in (1, 2)
        return
    assert out.shape == x.shape and out.dtype == x.dtype
    as_array = x.float().numpy() if dtype == torch.bfloat16 else x.numpy()
    floats = torch.from_numpy(canonical(as_array))
    expected = net_restore(GRAY, floats)
    if dtype == torch.uint8:  # a uint8 tensor means 0-255, not [0, 1]
        assert torch.equal(out, expected.clamp(0, 1).mul(255).round().to(torch.uint8))
    else:
        assert torch.equal(out, expected.to(dtype))


MODES = ["1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "YCbCr", "I;16", "I", "F", "LAB", "HSV", "RGBX", "RGBa"]


@st.composite
def pil_images(draw):
    mode = draw(st.sampled_from(MODES))
    size = (draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    if mode == "F":
        values = rng.random(size[::-1], dtype=np.float32) * draw(st.sampled_from([1.0, 1.0, 2.0]))
        return Image.fromarray(values)
    if mode in ("I;16", "I"):
        values = rng.integers(0, 65536, size[::-1], dtype=np.uint16)
        return Image.fromarray(values).convert(mode) if mode == "I" else Image.fromarray(values)
    rgba = Image.fromarray(rng.integers(0, 256, (*size[::-1], 4), dtype=np.uint8))
    return rgba.convert(mode) if mode not in ("LAB", "HSV") else rgba.convert("RGB").convert(mode)


def as_float(image: Image.Image, channels: int) -> np.ndarray:
    """The documented meaning of an accepted PIL image, as float32 [H,W] or [H,W,3]."""
    if image.mode == "I;16":
        values = np.asarray(image).astype(np.float32) / np.float32(65535)
        return values if channels == 1 else np.repeat(values[:, :, None], 3, axis=2)
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        return values if channels == 1 else np.repeat(values[:, :, None], 3, axis=2)
    flat = image.convert("RGBA") if has_alpha(image) else image
    return np.asarray(flat.convert("L" if channels == 1 else "RGB"), dtype=np.float32) / np.float32(255)


def has_alpha(image: Image.Image) -> bool:
    return "A" in image.mode or "a" in image.mode or "transparency" in image.info


def translucent(image: Image.Image) -> bool:
    return has_alpha(image) and np.asarray(image.convert("RGBA"))[..., 3].min() < 255


@SETTINGS
@given(image=pil_images(), channels=st.sampled_from([1, 3]))
def test_pil_modes_mean_what_they_show_or_are_refused(image, channels):
    net = GRAY if channels == 1 else RGB
    try:
        out = net_restore(net, image)
    except ClearerError as error:
        assert image.mode in ("I", "LAB", "HSV") or (image.mode == "F" and np.asarray(image).max() > 1), error
        return
    assert image.mode not in ("I", "LAB", "HSV")
    assert isinstance(out, Image.Image) and out.size == image.size
    expected = net_restore(net, as_float(image, channels))
    colour = np.asarray(out.convert("L" if channels == 1 else "RGB"))
    assert np.array_equal(colour, np.round(np.clip(expected, 0, 1) * 255).astype(np.uint8))
    assert ("A" in out.mode) == translucent(image)
    if translucent(image):
        assert np.array_equal(np.asarray(out.getchannel("A")), np.asarray(image.convert("RGBA").getchannel("A")))


# --------------------------------------------------------------------------- the examples


def test_nan_pixel_is_refused_with_count_and_place():
    x = np.full((6, 5), 0.5, np.float32)
    x[2, 3], x[4, 1] = np.nan, np.inf
    with pytest.raises(ClearerValueError, match=r"2 NaN or infinite value\(s\) of 30, the first at index \(2, 3\)"):
        net_restore(GRAY, x)


def test_out_of_range_floats_are_refused_not_clamped():
    with pytest.raises(ValueError, match=r"1 outside \[0, 1\] value\(s\)"):
        net_restore(GRAY, np.array([[0.2, 1.5]], np.float32))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.bool_])
def test_signed_and_bool_arrays_are_refused(dtype):
    with pytest.raises(TypeError, match="uint8 \\(0-255\\), uint16"):
        net_restore(GRAY, np.ones((4, 4), dtype))


def test_uint8_tensor_means_0_to_255():
    x = torch.full((1, 4, 4), 200, dtype=torch.uint8)
    out = net_restore(GRAY, x)
    assert out.dtype == torch.uint8
    assert torch.equal(out, net_restore(GRAY, x.float() / 255).clamp(0, 1).mul(255).round().to(torch.uint8))


def test_pil_i16_and_f_are_read_by_their_range():
    values = np.linspace(0, 65535, 64).reshape(8, 8).astype(np.uint16)
    sixteen = from_pil(Image.fromarray(values), 1).colour[0, 0].numpy()
    assert np.allclose(sixteen, values / 65535, atol=1e-7) and (sixteen < 1).mean() > 0.9  # not saturated
    floats = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    assert np.array_equal(from_pil(Image.frombytes("F", (8, 8), floats.tobytes()), 1).colour[0, 0].numpy(), floats)


def test_exif_orientation_is_applied():
    upright = np.arange(12 * 7, dtype=np.uint8).reshape(12, 7)
    stored = Image.fromarray(np.rot90(upright, -1))  # as a camera stores it, with "rotate 90 CW" (6) to show
    exif = stored.getexif()
    exif[0x0112] = 6
    buf = io.BytesIO()
    stored.save(buf, format="JPEG", exif=exif, quality=100)
    shown = Image.open(io.BytesIO(buf.getvalue()))
    out = net_restore(GRAY, shown)
    assert out.size == (7, 12)  # as displayed, not as stored
    expected = net_restore(GRAY, np.asarray(shown.transpose(Image.Transpose.ROTATE_270), np.uint8))
    assert np.array_equal(np.asarray(out), expected)


def test_animated_gif_is_refused():
    frames = [Image.fromarray(np.full((6, 6), v, np.uint8)) for v in (0, 255)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(ValueError, match="2 frames"):
        net_restore(GRAY, Image.open(io.BytesIO(buf.getvalue())))


@pytest.mark.parametrize(
    "image, says",
    [
        (np.zeros((0, 0), np.float32), "empty"),
        (np.zeros((3, 3), object), "dtype object"),
        (None, "got NoneType"),
        ([[0.5]], "got list"),
        (torch.eye(4)[None].to_sparse(), "holds no plain pixels"),
        (torch.empty(1, 4, 4, device="meta"), "holds no plain pixels"),
    ],
)
def test_unusable_inputs_are_clear_errors(image, says):
    with pytest.raises(ClearerError, match=says):
        net_restore(GRAY, image)


@pytest.mark.parametrize("tile, self_ensemble", [("big", False), (1.5, False), (True, False), (None, "yes")])
def test_restore_options_are_checked(tile, self_ensemble):
    with pytest.raises(ClearerTypeError):
        clearer.restore(GRAY, np.zeros((4, 4), np.uint8), tile=tile, self_ensemble=self_ensemble)


@pytest.mark.parametrize("bad", [None, 3, ["runs/x"], b"runs/x"])
def test_load_names_a_bad_run_argument(bad):
    with pytest.raises(TypeError, match="clearer.load: run_dir takes a run folder"):
        clearer.load(bad)


def test_export_refuses_a_plain_module(tmp_path):
    with pytest.raises(TypeError, match="plain Conv2d"):
        clearer.export(torch.nn.Conv2d(1, 1, 3), "pt2", tmp_path / "m.pt2")
    with pytest.raises(ValueError, match="onnx, pt2"):
        clearer.export(GRAY, "tflite", tmp_path / "m.tflite")
    assert not list(tmp_path.iterdir())


def test_sixteen_bit_pgm_is_read_by_its_range(tmp_path):
    """Regression (probe): PIL reads a 16-bit PGM as mode I scaled to 0-65535; it was refused."""
    values = (np.arange(20).reshape(4, 5) * 50).astype(">u2")  # maxval 1000
    path = tmp_path / "deep.pgm"
    path.write_bytes(b"P5\n5 4\n1000\n" + values.tobytes())
    got = read_pixels(path, 1).colour[0, 0].numpy()
    assert np.allclose(got, values / 1000, atol=1 / 65535)


def test_evaluate_names_bad_overrides(tmp_path):
    with pytest.raises(TypeError, match="overrides takes a dict"):
        clearer.evaluate(tmp_path, ["data.degradation.sigma=15"])
    with pytest.raises(TypeError, match="run_dir takes a run folder"):
        clearer.evaluate(None)


def test_a_damaged_pil_image_is_a_clear_error():
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64), 7, np.uint8)).save(buf, format="PNG")
    with pytest.raises(ClearerValueError, match="cannot read the PIL image"):
        net_restore(GRAY, Image.open(io.BytesIO(buf.getvalue()[:80])))


@pytest.mark.parametrize("net", [None, torch.nn.Identity(), torch.nn.Conv2d(1, 1, 3)])
def test_restore_needs_a_loaded_model(net):
    with pytest.raises(ClearerTypeError, match="model takes a network from clearer.load"):
        clearer.restore(net, np.zeros((4, 4), np.uint8))
