"""The EfficientGCN network: input branches, fusion, main stream, classifier."""
import math

import paddle
import paddle.nn as nn

from .attentions import Attention_Layer
from .layers import TEMPORAL_LAYERS, Spatial_Graph_Layer, Temporal_Basic_Layer


class EfficientGCN_Blocks(nn.Sequential):
    """Optional stem (when input_channel > 0), then per block: scn, `depth` tcn, attention."""

    def __init__(self, init_channel, block_args, layer_type, kernel_size, input_channel=0,
                 **kwargs):
        super().__init__()
        if layer_type not in TEMPORAL_LAYERS:
            raise ValueError(f'unknown layer_type {layer_type!r}; '
                             f'choose one of {", ".join(TEMPORAL_LAYERS)}')
        temporal_window_size, max_graph_distance = kernel_size
        if input_channel > 0:
            self.add_sublayer('init_bn', nn.BatchNorm2D(input_channel))
            self.add_sublayer('stem_scn', Spatial_Graph_Layer(
                input_channel, init_channel, max_graph_distance, **kwargs))
            self.add_sublayer('stem_tcn', Temporal_Basic_Layer(
                init_channel, temporal_window_size, **kwargs))
        temporal_layer = TEMPORAL_LAYERS[layer_type]
        last_channel = init_channel
        for i, (channel, stride, depth) in enumerate(block_args):
            self.add_sublayer(f'block-{i}_scn', Spatial_Graph_Layer(
                last_channel, channel, max_graph_distance, **kwargs))
            for j in range(depth):
                self.add_sublayer(f'block-{i}_tcn-{j}', temporal_layer(
                    channel, temporal_window_size, stride=stride if j == 0 else 1, **kwargs))
            self.add_sublayer(f'block-{i}_att', Attention_Layer(channel, **kwargs))
            last_channel = channel


class EfficientGCN_Classifier(nn.Layer):
    """Global average over (T, V, M), dropout, 1x1x1 Conv3D."""

    def __init__(self, curr_channel, num_class, drop_prob, **kwargs):
        super().__init__()
        self.dropout = nn.Dropout(drop_prob)
        self.fc = nn.Conv3D(curr_channel, num_class, 1)

    def forward(self, feature):
        x = feature.mean(axis=[2, 3, 4], keepdim=True)                     # N, C, 1, 1, 1
        return self.fc(self.dropout(x)).flatten(1)


class EfficientGCN(nn.Layer):
    """Input branches (one per J/V/B input, each a stem and the first `fusion_stage` blocks),
    concatenated, the main stream of the remaining blocks, and the classifier. Every body is a
    sample of its own until the classifier averages over them."""

    def __init__(self, data_shape, block_args, fusion_stage, stem_channel, **kwargs):
        super().__init__()
        num_input, num_channel = data_shape[0], data_shape[1]
        self.input_branches = nn.LayerList([
            EfficientGCN_Blocks(stem_channel, block_args[:fusion_stage],
                                input_channel=num_channel, **kwargs)
            for _ in range(num_input)
        ])
        last_channel = stem_channel if fusion_stage == 0 else block_args[fusion_stage - 1][0]
        self.main_stream = EfficientGCN_Blocks(num_input * last_channel,
                                               block_args[fusion_stage:], **kwargs)
        if fusion_stage == len(block_args):
            last_channel = num_input * block_args[-1][0]
        else:
            last_channel = block_args[-1][0]
        self.classifier = EfficientGCN_Classifier(last_channel, **kwargs)
        init_param(self)

    def forward(self, x):
        """x: (N, I, C, T, V, M) -> logits (N, num_class), feature (N, C', T', V, M)."""
        n, i, c, t, v, m = x.shape
        x = x.transpose([1, 0, 5, 2, 3, 4]).reshape([i, n * m, c, t, v])  # I, N * M, C, T, V
        x = paddle.concat([branch(x[k]) for k, branch in enumerate(self.input_branches)], axis=1)
        x = self.main_stream(x)
        _, c, t, v = x.shape
        feature = x.reshape([n, m, c, t, v]).transpose([0, 2, 3, 4, 1])
        return self.classifier(feature), feature


def init_param(model):
    """Official init: kaiming-normal (fan_out) convs, BN 1/0, classifier normal(std=0.001)."""
    for layer in model.sublayers():
        if isinstance(layer, (nn.Conv1D, nn.Conv2D)):
            fan_out = layer.weight.shape[0] * math.prod(layer.weight.shape[2:])
            nn.initializer.Normal(0.0, math.sqrt(2.0 / fan_out))(layer.weight)
            if layer.bias is not None:
                nn.initializer.Constant(0.0)(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1D, nn.BatchNorm2D)):
            nn.initializer.Constant(1.0)(layer.weight)
            nn.initializer.Constant(0.0)(layer.bias)
        elif isinstance(layer, (nn.Conv3D, nn.Linear)):
            nn.initializer.Normal(0.0, 0.001)(layer.weight)
            if layer.bias is not None:
                nn.initializer.Constant(0.0)(layer.bias)
