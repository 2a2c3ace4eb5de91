"""The mouth localiser's network in ONNX Runtime, built from its weights without PyTorch.

The dub's tracking pass looks for mouths with the localiser (drawn characters, and checks of the
face landmarks' mouth on human ones). Run in PyTorch, the first look imported PyTorch into the
tracking pass: 1.0 s of start-up, against 0.2 s for `onnx` and ONNX Runtime. The network is
small and plain (face.localiser_net.LocaliserNet: 3x3 convolutions, batch norms, ReLUs, two
nearest-neighbour upsamplings, a 1x1 head), so its graph is written here node by node from the
safetensors weights, each batch norm folded into the convolution before it. The same forward as
the PyTorch module, within float rounding (tests/face/test_localiser.py).
"""

from pathlib import Path

import numpy as np

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default, which LocaliserNet uses
OPSET = 17
# LocaliserNet's layers: (name, [(conv index, batch norm index, stride, dilation), ...]).
DOWN = ("down2", "down4", "down8", "down16")
BLOCK = ((0, 1, 2, 1), (3, 4, 1, 1))  # _block: conv, bn, relu, conv, bn, relu


def folded(weights: dict[str, np.ndarray], conv: str, norm: str) -> tuple[np.ndarray, np.ndarray]:
    """A bias-free convolution followed by a batch norm (eval mode), as one convolution's
    (weight, bias): w * g / sqrt(v + eps) and b - m * g / sqrt(v + eps)."""
    gain = weights[f"{norm}.weight"] / np.sqrt(weights[f"{norm}.running_var"] + BN_EPS)
    weight = weights[f"{conv}.weight"] * gain[:, None, None, None]
    bias = weights[f"{norm}.bias"] - weights[f"{norm}.running_mean"] * gain
    return weight.astype(np.float32), bias.astype(np.float32)


def localiser_graph(weights: dict[str, np.ndarray], widths: tuple[int, ...]):
    """The ONNX model of LocaliserNet's forward with these channel `widths` (its config's):
    input "x" (B, 3, S, S) float32 in [0, 1], output "y" (B, 4, S/4, S/4). ValueError where
    the weights have other widths."""
    from onnx import TensorProto, helper, numpy_helper

    found = tuple(int(weights[f"{layer}.0.weight"].shape[0]) for layer in DOWN)
    if found != tuple(widths):
        raise ValueError(f"the weights have {found} channels, the config says {tuple(widths)}")

    nodes, initialisers = [], []

    def conv(x: str, name: str, weight: np.ndarray, bias: np.ndarray, stride: int = 1, dilation: int = 1,
             relu: bool = True) -> str:
        initialisers.extend([numpy_helper.from_array(weight, f"{name}.w"), numpy_helper.from_array(bias, f"{name}.b")])
        k = weight.shape[-1]
        pad = dilation * (k // 2)
        nodes.append(helper.make_node("Conv", [x, f"{name}.w", f"{name}.b"], [f"{name}.conv"], strides=[stride, stride],
                                      pads=[pad] * 4, dilations=[dilation, dilation], kernel_shape=[k, k]))
        if not relu:
            return f"{name}.conv"
        nodes.append(helper.make_node("Relu", [f"{name}.conv"], [name]))
        return name

    def upsampled_beside(small: str, large: str, name: str) -> str:
        """`small` resized (nearest, as torch's interpolate) to `large`'s size, concatenated before it."""
        nodes.extend([
            helper.make_node("Shape", [small], [f"{name}.batch_channels"], start=0, end=2),
            helper.make_node("Shape", [large], [f"{name}.size"], start=2, end=4),
            helper.make_node("Concat", [f"{name}.batch_channels", f"{name}.size"], [f"{name}.sizes"], axis=0),
            helper.make_node("Resize", [small, "", "", f"{name}.sizes"], [f"{name}.up"], mode="nearest",
                             coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
            helper.make_node("Concat", [f"{name}.up", large], [f"{name}.cat"], axis=1),
        ])
        return f"{name}.cat"

    x, features = "x", {}
    for layer in DOWN:
        for conv_index, norm_index, stride, dilation in BLOCK:
            w, b = folded(weights, f"{layer}.{conv_index}", f"{layer}.{norm_index}")
            x = conv(x, f"{layer}.{conv_index}", w, b, stride, dilation)
        features[layer] = x
    f16 = conv(features["down16"], "context", *folded(weights, "context.0", "context.1"), dilation=2)
    f8 = conv(upsampled_beside(f16, features["down8"], "up8.in"), "up8", *folded(weights, "up8.0", "up8.1"))
    f4 = conv(upsampled_beside(f8, features["down4"], "up4.in"), "up4", *folded(weights, "up4.0", "up4.1"))
    head = conv(f4, "head", weights["head.weight"].astype(np.float32), weights["head.bias"].astype(np.float32),
                relu=False)
    nodes.append(helper.make_node("Identity", [head], ["y"]))
    graph = helper.make_graph(
        nodes, "mouth_localiser",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4, "height4", "width4"])],
        initialisers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


class OnnxLocaliserNet:
    """Runs the localiser's network in ONNX Runtime: (B, S, S, 3) uint8 pictures -> (B, 4, S/4, S/4)."""

    def __init__(self, weights_path: Path, widths: tuple[int, ...], threads: int = 1):
        import onnxruntime
        from safetensors.numpy import load_file

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        model = localiser_graph(load_file(str(weights_path)), widths)
        self._session = onnxruntime.InferenceSession(model.SerializeToString(), options,
                                                     providers=["CPUExecutionProvider"])

    def __call__(self, batch: list[np.ndarray]) -> np.ndarray:
        x = np.ascontiguousarray(np.stack(batch).transpose(0, 3, 1, 2), dtype=np.float32) / np.float32(255.0)
        return self._session.run(["y"], {"x": x})[0]
