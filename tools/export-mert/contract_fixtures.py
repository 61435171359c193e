#!/usr/bin/env python3
"""Writes tiny ONNX graphs that each break the encoder contract in one way, for the C# contract tests.

Each graph maps input_values [batch, samples] to [batch, layers, hidden] by reshaping the first
layers*hidden samples, so the files are a few hundred bytes. Run with /usr/bin/python3 (Debian python3-onnx):
    /usr/bin/python3 tools/export-mert/contract_fixtures.py tests/Apex.Embedding.Tests/Fixtures/contract
"""
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

LAYERS, HIDDEN = 4, 8
GOOD_METADATA = {"apex.layers": "3,6,9,12", "apex.sample_rate": "24000", "apex.hidden_size": str(HIDDEN),
                 "apex.normalize": "false", "apex.source": "contract test graph"}


def graph_model(metadata, input_name="input_values", output_name="layer_means", input_type=TensorProto.FLOAT):
    """input[:, :L*H] reshaped to [batch, L, H]."""
    nodes = [
        helper.make_node("Cast", [input_name], ["x"], to=TensorProto.FLOAT),
        helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["head"]),
        helper.make_node("Reshape", ["head", "shape"], [output_name]),
    ]
    inits = [
        helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
        helper.make_tensor("ends", TensorProto.INT64, [1], [LAYERS * HIDDEN]),
        helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
        helper.make_tensor("shape", TensorProto.INT64, [3], [-1, LAYERS, HIDDEN]),
    ]
    graph = helper.make_graph(
        nodes, "contract_case",
        [helper.make_tensor_value_info(input_name, input_type, ["batch", "samples"])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["batch", LAYERS, HIDDEN])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def samples_shaped_model(metadata):
    """input reshaped to [batch, L, samples / L]: hidden depends on the input length, unknown until a run."""
    nodes = [
        helper.make_node("Shape", ["input_values"], ["dims"]),
        helper.make_node("Gather", ["dims", "one"], ["samples"], axis=0),
        helper.make_node("Div", ["samples", "layers"], ["hidden"]),
        helper.make_node("Concat", ["minus_one", "layers", "hidden"], ["shape"], axis=0),
        helper.make_node("Reshape", ["input_values", "shape"], ["layer_means"]),
    ]
    inits = [
        helper.make_tensor("one", TensorProto.INT64, [1], [1]),
        helper.make_tensor("layers", TensorProto.INT64, [1], [LAYERS]),
        helper.make_tensor("minus_one", TensorProto.INT64, [1], [-1]),
    ]
    graph = helper.make_graph(
        nodes, "contract_case",
        [helper.make_tensor_value_info("input_values", TensorProto.FLOAT, ["batch", "samples"])],
        [helper.make_tensor_value_info("layer_means", TensorProto.FLOAT, ["batch", "layers", "hidden"])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.checker.check_model(model)
    return model


def cases():
    without = lambda key: {k: v for k, v in GOOD_METADATA.items() if k != key}
    return {
        "valid.onnx": graph_model(GOOD_METADATA),
        "no-layers-metadata.onnx": graph_model(without("apex.layers")),
        "no-hidden-metadata.onnx": graph_model(without("apex.hidden_size")),
        "bad-layers-metadata.onnx": graph_model({**GOOD_METADATA, "apex.layers": "three,six"}),
        "hidden-mismatch.onnx": graph_model({**GOOD_METADATA, "apex.hidden_size": "768"}),
        "wrong-output-name.onnx": graph_model(GOOD_METADATA, output_name="hidden_states"),
        "wrong-input-name.onnx": graph_model(GOOD_METADATA, input_name="audio"),
        "int-input.onnx": graph_model(GOOD_METADATA, input_type=TensorProto.INT64),
        # Hidden = samples / 4 is known only at run time: 100 samples give 25, not the declared 16.
        "runtime-shape-mismatch.onnx": samples_shaped_model({**GOOD_METADATA, "apex.hidden_size": "16"}),
    }


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/Apex.Embedding.Tests/Fixtures/contract")
    out.mkdir(parents=True, exist_ok=True)
    for name, model in cases().items():
        onnx.save(model, out / name)
        print(f"wrote {out / name}")


if __name__ == "__main__":
    main()
