"""The attention layer, act(BN(x * att(x)) + x), and its five attention modules (`att_type`).

Each module maps x (N, C, T, V) to weights that broadcast against it. To add one, write its
class here and name it in ATTENTIONS; the config's `att_type` then selects it.
"""
import paddle
import paddle.nn as nn
import paddle.nn.functional as F


class ST_Joint_Att(nn.Layer):
    """Spatial-temporal joint attention: from the per-frame mean over joints and the per-joint
    mean over frames, one shared 1x1 conv + BN + hardswish, then sigmoid(conv_t) per frame
    times sigmoid(conv_v) per joint: a (T, V) map per channel."""

    def __init__(self, channel, reduct_ratio, bias, **kwargs):
        super().__init__()
        inner_channel = channel // reduct_ratio
        self.fcn = nn.Sequential(
            nn.Conv2D(channel, inner_channel, 1, bias_attr=None if bias else False),
            nn.BatchNorm2D(inner_channel),
            nn.Hardswish(),
        )
        self.conv_t = nn.Conv2D(inner_channel, channel, 1)
        self.conv_v = nn.Conv2D(inner_channel, channel, 1)

    def forward(self, x):
        att_t, att_v = self.factors(x)
        return att_t * att_v.transpose([0, 1, 3, 2])                    # N, C, T, V

    def factors(self, x):
        """The map's two factors: per frame (N, C, T, 1) and per joint (N, C, V, 1)."""
        x_t = x.mean(axis=3, keepdim=True)                                  # N, C, T, 1
        x_v = x.mean(axis=2, keepdim=True).transpose([0, 1, 3, 2])          # N, C, V, 1
        return self.factors_of_means(x_t, x_v)

    def factors_of_means(self, x_t, x_v):
        """The factors from the per-frame and per-joint means, (N, C, T, 1) and (N, C, V, 1):
        one fcn over both together, then a conv and a sigmoid each."""
        t, v = x_t.shape[2], x_v.shape[2]
        x_t, x_v = paddle.split(self.fcn(paddle.concat([x_t, x_v], axis=2)), [t, v], axis=2)
        return F.sigmoid(self.conv_t(x_t)), F.sigmoid(self.conv_v(x_v))


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
            nn.Conv2D(channel, inner_channel, 1, bias_attr=None if bias else False),
            nn.BatchNorm2D(inner_channel),
            nn.ReLU(),
            nn.Conv2D(inner_channel, channel * self.num_parts, 1,
                      bias_attr=None if bias else False),
        )

    def forward(self, x):
        n, c = x.shape[0], x.shape[1]
        x_att = F.softmax(self.fcn(x).reshape([n, c, 1, self.num_parts]), axis=3)
        return paddle.index_select(x_att, self.joints, axis=3)             # N, C, 1, V


class Channel_Att(nn.Layer):
    """Squeeze-and-excitation: the globally pooled map through two 1x1 convs, then a sigmoid
    per channel (the official Channel_Att)."""

    def __init__(self, channel, **kwargs):
        super().__init__()
        self.fcn = nn.Sequential(
            nn.AdaptiveAvgPool2D(1),
            nn.Conv2D(channel, channel // 4, 1),
            nn.BatchNorm2D(channel // 4),
            nn.ReLU(),
            nn.Conv2D(channel // 4, channel, 1),
            nn.Sigmoid(),
        )

    def forward(self, x):
        return self.fcn(x)                                                 # N, C, 1, 1


class Frame_Att(nn.Layer):
    """A weight per frame: the 9 x 1 convolution of the per-frame [mean, max] over channels and
    joints. The official Frame_Att applies no sigmoid: the weight is the conv's output."""

    def __init__(self, **kwargs):
        super().__init__()
        self.conv = nn.Conv2D(2, 1, (9, 1), padding=(4, 0))

    def forward(self, x):
        # the max over joints, then over channels: Paddle 3.3's backward of a max over two axes
        # at once takes seconds even on small maps
        largest = x.max(axis=3, keepdim=True).max(axis=1, keepdim=True)
        pooled = paddle.concat([x.mean(axis=[1, 3], keepdim=True), largest], axis=1)  # N, 2, T, 1
        return self.conv(pooled)                                           # N, 1, T, 1


class Joint_Att(nn.Layer):
    """Softmax over joints of the map pooled over channels and frames."""

    def __init__(self, parts, **kwargs):
        super().__init__()
        num_joints = sum(len(part) for part in parts)
        self.fcn = nn.Sequential(
            nn.AdaptiveAvgPool2D(1),
            nn.Conv2D(num_joints, num_joints // 2, 1),
            nn.BatchNorm2D(num_joints // 2),
            nn.ReLU(),
            nn.Conv2D(num_joints // 2, num_joints, 1),
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
    """act(BN(x * att(x)) + x)."""

    def __init__(self, out_channel, att_type, act, **kwargs):
        super().__init__()
        if att_type not in ATTENTIONS:
            raise ValueError(f'unknown att_type {att_type!r}; '
                             f'choose one of {", ".join(ATTENTIONS)}')
        self.att = ATTENTIONS[att_type](channel=out_channel, **kwargs)
        self.bn = nn.BatchNorm2D(out_channel)
        self.act = act

    def forward(self, x):
        return self.act(self.bn(x * self.att(x)) + x)
