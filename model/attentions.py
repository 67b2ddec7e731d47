"""Attention modules; the attention layer is act(BN(x * att(x)) + x)."""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F

from .fast_ops import mean_of_rows
from .fused_ops import (apply_joint_attention, batch_norm_act, batch_norm_affine, epilogue,
                        joint_attention_epilogue, joint_attention_fusable, joint_attention_usable)
from .layers import Conv2D


class ST_Joint_Att(nn.Layer):
    """Spatial-temporal joint attention: sigmoid(conv_t(frames)) * sigmoid(conv_v(joints))."""

    def __init__(self, channel, reduct_ratio, bias, **kwargs):
        super().__init__()
        inner_channel = channel // reduct_ratio
        self.fcn = nn.Sequential(
            Conv2D(channel, inner_channel, 1, bias_attr=None if bias else False),
            nn.BatchNorm2D(inner_channel),
            nn.Hardswish(),
        )
        self.conv_t = Conv2D(inner_channel, channel, 1)
        self.conv_v = Conv2D(inner_channel, channel, 1)

    def forward(self, x):
        _, c, t, v = x.shape
        att_t, att_v = self.factors(x)
        # The outer product as a batched matrix product with inner size 1: Paddle's broadcast
        # of (T, 1) * (1, V) is ~30x slower on the CPU, and in oneDNN too. Keep the 3-D
        # reshapes: in Paddle Inference 3.3 with oneDNN, a 4-D matmul of conv outputs gives
        # wrong values (conv -> sigmoid -> matmul alone shows it). Exported models build the
        # map in Attention_Layer._exported_joint_attention instead.
        outer = paddle.matmul(att_t.reshape([-1, t, 1]), att_v.reshape([-1, 1, v]))
        return outer.reshape([-1, c, t, v])                                # N, C, T, V

    def factors(self, x):
        """The attention map's two factors: per frame (N, C, T, 1), per joint (N, C, V, 1)."""
        _, c, t, v = x.shape
        x_t = mean_over_joints(x)                                          # N, C, T, 1
        x_v = mean_over_frames(x).reshape([-1, c, v, 1])                   # N, C, V, 1
        x_att = self.fcn(paddle.concat([x_t, x_v], axis=2))
        x_t, x_v = paddle.split(x_att, [t, v], axis=2)
        return F.sigmoid(self.conv_t(x_t)), F.sigmoid(self.conv_v(x_v))


def mean_over_joints(x):
    """x.mean(axis=3, keepdim=True). In dygraph a matrix product (Paddle's CPU reduce is several
    times slower); in a static graph a pooling, which oneDNN runs without leaving its layout."""
    _, c, t, v = x.shape
    if not paddle.in_dynamic_mode():
        return F.avg_pool2d(x, [1, v])
    return mean_of_rows(x.reshape([-1, c * t, v])).reshape([-1, c, t, 1])


def mean_over_frames(x):
    """x.mean(axis=2, keepdim=True), computed as mean_over_joints is."""
    _, c, t, v = x.shape
    if not paddle.in_dynamic_mode():
        return F.avg_pool2d(x, [t, 1])
    ones = paddle.full([1, t], 1.0 / t, x.dtype)
    return paddle.matmul(ones, x.reshape([-1, t, v])).reshape([-1, c, 1, v])


class Part_Att(nn.Layer):
    """Softmax over body parts per channel, each joint taking the weight of its part."""

    def __init__(self, channel, parts, reduct_ratio, bias, **kwargs):
        super().__init__()
        self.num_parts = len(parts)
        num_joints = sum(len(part) for part in parts)
        part_of_joint = [0] * num_joints
        for p, part in enumerate(parts):
            for joint in part:
                part_of_joint[int(joint)] = p
        self.register_buffer('joints', paddle.to_tensor(part_of_joint, dtype='int64'))
        inner_channel = channel // reduct_ratio
        self.fcn = nn.Sequential(
            nn.AdaptiveAvgPool2D(1),
            Conv2D(channel, inner_channel, 1, bias_attr=None if bias else False),
            nn.BatchNorm2D(inner_channel),
            nn.ReLU(),
            Conv2D(inner_channel, channel * self.num_parts, 1,
                   bias_attr=None if bias else False),
        )

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        x_att = F.softmax(self.fcn(x).reshape([n, c, 1, self.num_parts]), axis=3)
        return paddle.index_select(x_att, self.joints, axis=3)             # N, C, 1, V


class Channel_Att(nn.Layer):
    """Softmax over channels of the globally pooled map."""

    def __init__(self, channel, **kwargs):
        super().__init__()
        self.fcn = nn.Sequential(
            nn.AdaptiveAvgPool2D(1),
            Conv2D(channel, channel // 4, 1),
            nn.BatchNorm2D(channel // 4),
            nn.ReLU(),
            Conv2D(channel // 4, channel, 1),
            nn.Softmax(axis=1),
        )

    def forward(self, x):
        return self.fcn(x)                                                 # N, C, 1, 1


class Frame_Att(nn.Layer):
    """Weight per frame from the channel-and-joint mean and max, through a 9 x 1 conv."""

    def __init__(self, **kwargs):
        super().__init__()
        self.conv = Conv2D(2, 1, (9, 1), padding=(4, 0))

    def forward(self, x):
        pooled = paddle.concat([x.mean(axis=[1, 3], keepdim=True),
                                x.max(axis=3, keepdim=True).max(axis=1, keepdim=True)], axis=1)
        return F.sigmoid(self.conv(pooled))                                # N, 1, T, 1


class Joint_Att(nn.Layer):
    """Softmax over joints of the map pooled over channels and frames."""

    def __init__(self, parts, **kwargs):
        super().__init__()
        num_joints = sum(len(part) for part in parts)
        self.fcn = nn.Sequential(
            nn.AdaptiveAvgPool2D(1),
            Conv2D(num_joints, num_joints // 2, 1),
            nn.BatchNorm2D(num_joints // 2),
            nn.ReLU(),
            Conv2D(num_joints // 2, num_joints, 1),
            nn.Softmax(axis=1),
        )

    def forward(self, x):
        return self.fcn(x.transpose([0, 3, 2, 1])).transpose([0, 3, 2, 1])  # N, 1, 1, V


ATTENTIONS = {
    'stja': ST_Joint_Att,
    'pa': Part_Att,
    'ca': Channel_Att,
    'fa': Frame_Att,
    'ja': Joint_Att,
}


class Attention_Layer(nn.Layer):
    def __init__(self, out_channel, att_type, act, **kwargs):
        super().__init__()
        if att_type not in ATTENTIONS:
            raise ValueError(f'unknown att_type {att_type!r}; choose one of {", ".join(ATTENTIONS)}')
        self.att = ATTENTIONS[att_type](channel=out_channel, **kwargs)
        self.bn = nn.BatchNorm2D(out_channel)
        self.act = act

    def forward(self, x):
        if not self.training and isinstance(self.att, ST_Joint_Att):
            if not paddle.in_dynamic_mode():
                return self._exported_joint_attention(x)
            if joint_attention_fusable(x, self.act):   # one pass, no attention map
                return joint_attention_epilogue(x, *self.att.factors(x),
                                                *batch_norm_affine(self.bn), self.act)
        weighted = self._weighted(x)
        if not paddle.in_dynamic_mode():   # export: Paddle Inference fuses bn and act itself
            return self.act(self.bn(weighted) + x)
        n, c, t, v = x.shape
        weighted, flat_x = weighted.reshape([n, c, t * v]), x.reshape([n, c, t * v])
        if self.training:
            y = batch_norm_act(weighted, self.bn, self.act, flat_x)
        else:
            scale, shift = batch_norm_affine(self.bn)
            y = epilogue(weighted, self.act, shift.unsqueeze(1), flat_x, scale=scale)
        return y.reshape([n, c, t, v])

    def _exported_joint_attention(self, x):
        """Eval in a static graph: act(x * (1 + scale * att_t att_v^T) + shift), with the BN's
        affine folded into the map, and the map one 4-D matrix product of inner size 2 (the
        factors, then ones for the 1), so that no reshape copies the map: B0 3% faster in Paddle
        Inference. Both factors are reshaped to rows first, which also takes them out of oneDNN's
        blocked layout (see ST_Joint_Att.forward: a 4-D matmul fed by a conv can be wrong)."""
        _, c, t, v = x.shape
        att_t, att_v = self.att.factors(x)
        scale, shift = batch_norm_affine(self.bn)
        per_frame = att_t.reshape([-1, c, 1, t]) * scale.reshape([-1, 1, 1])
        per_joint = att_v.reshape([-1, c, 1, v])
        one = paddle.ones([1, 1, 1, 1], x.dtype)   # ones_like warns in PIR static graphs
        per_frame = paddle.concat([per_frame, one.expand_as(per_frame)], axis=2)
        per_joint = paddle.concat([per_joint, one.expand_as(per_joint)], axis=2)
        attention = paddle.matmul(per_frame, per_joint, transpose_x=True)     # N, C, T, V
        return self.act(x * attention + shift.reshape([-1, 1, 1]))

    def _weighted(self, x):
        """x * att(x); the C kernels apply the joint attention without building its map."""
        if isinstance(self.att, ST_Joint_Att) and joint_attention_usable(x):
            return apply_joint_attention(x, *self.att.factors(x))
        return x * self.att(x)
