"""The architectures of the PyTorch-interop reference, written once for both frameworks.

Each builder takes an ``nn`` namespace (``torch.nn`` or ``tinygrad_edu.nn``)
and returns the model: the same code builds the PyTorch model in
``tests/reference/make_interop.py`` and its twin here in
``tests/test_interop.py``, so the twins cannot drift apart. ``INPUTS`` gives
each model's input shapes (and, for token models, the vocabulary).
"""
from __future__ import annotations


def blog(nn):
    """Part 2 of the blog post: 3 -> 4 -> 1, sigmoids, no biases."""
    return nn.Sequential(nn.Linear(3, 4, bias=False), nn.Sigmoid(), nn.Linear(4, 1, bias=False),
                         nn.Sigmoid())


def mlp(nn):
    """Square Linear layers (8 x 8): their weights fit in either layout; only the type tells."""
    return nn.Sequential(nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))


def cnn(nn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 10))


def norms(nn):
    """The other layers with parameters or buffers, in PyTorch's layout here too."""
    return nn.Sequential(
        nn.Conv1d(3, 4, 3, padding=1), nn.GroupNorm(2, 4), nn.PReLU(4),
        nn.ConvTranspose1d(4, 4, 2, stride=2), nn.InstanceNorm1d(4, affine=True, track_running_stats=True),
        nn.BatchNorm1d(4), nn.Flatten(), nn.LayerNorm(32), nn.RMSNorm(32), nn.Linear(32, 5))


def recurrent(nn):
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(5, 6, num_layers=2, bidirectional=True, batch_first=True)
            self.gru = nn.GRU(12, 4, batch_first=True)
            self.cell = nn.RNNCell(4, 4)
            self.head = nn.Linear(4, 4)

        def forward(self, x):
            out, _ = self.lstm(x)
            out, h = self.gru(out)
            return self.head(self.cell(out[:, -1], h[0]))

    return Seq()


def transformer(nn):
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 8)
            self.enc = nn.TransformerEncoder(
                nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True),
                num_layers=2, enable_nested_tensor=False)
            self.head = nn.Linear(8, 20)

        def forward(self, tokens):
            return self.head(self.enc(self.emb(tokens)))

    return Encoder()


def attention(nn):
    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2, kdim=5, vdim=6, add_bias_kv=True)

        def forward(self, q, k, v):
            out, weights = self.mha(q, k, v)
            return out

    return Attend()


def decoder(nn):
    """The remaining layer types: decoder layers (pre-norm), the LSTM/GRU cells, ConvTranspose2d, BatchNorm3d."""
    class Decode(nn.Module):
        def __init__(self):
            super().__init__()
            self.dec = nn.TransformerDecoder(
                nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True,
                                           norm_first=True), num_layers=1)
            self.lstm_cell = nn.LSTMCell(8, 8)
            self.gru_cell = nn.GRUCell(8, 8)
            self.up = nn.ConvTranspose2d(2, 3, 2, stride=2)
            self.bn = nn.BatchNorm3d(3)

        def forward(self, tgt, memory, img):
            y = self.dec(tgt, memory)
            h, c = self.lstm_cell(y[:, 0])
            h = self.gru_cell(y[:, 1], h + c)
            return h + self.bn(self.up(img).unsqueeze(2)).mean()

    return Decode()


BUILDERS = {"blog": blog, "mlp": mlp, "cnn": cnn, "norms": norms, "recurrent": recurrent,
            "transformer": transformer, "attention": attention, "decoder": decoder}

# name -> list of input shapes (float64 normal inputs), or ("tokens", shape, vocabulary)
INPUTS = {"blog": [(4, 3)], "mlp": [(5, 8)], "cnn": [(3, 1, 8, 8)], "norms": [(2, 3, 4)],
          "recurrent": [(2, 7, 5)], "transformer": ("tokens", (2, 6), 20),
          "attention": [(4, 2, 8), (3, 2, 5), (3, 2, 6)], "decoder": [(2, 3, 8), (2, 4, 8), (2, 2, 3, 3)]}
